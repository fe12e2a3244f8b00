import type { Catalogue } from "../../catalogue/catalogue.js";
import { diversify, type Ranking } from "../../catalogue/search.js";
import type { AnalyzeRequest, Engine, SuggestRequest, SynthesizeRequest } from "../../pipeline/ports.js";
import type { LensAnalysis, ModeSuggestion, Synthesis } from "../../pipeline/schemas.js";

const round2 = (n: number) => Math.round(n * 100) / 100;

/**
 * Picks 1-3 modes and 2-4 lenses from the index ranking alone. Modes within 80% of the best are
 * kept. Lenses: the two best by blended score and the one the text points at most (see
 * `diversify`), plus a 4th when the next by score comes within 90% of the 3rd.
 */
export function suggestFromRanking(ranking: Ranking): ModeSuggestion {
  const modes = ranking.modes
    .filter((m, i) => i === 0 || m.match_score >= 0.8)
    .slice(0, 3)
    .map((m) => ({
      id: m.mode.id,
      name: m.mode.name,
      emoji: m.mode.emoji,
      match_score: round2(m.match_score),
      reason: m.mode.description,
    }));
  const top = ranking.lenses[0]?.score ?? 1;
  const picked = diversify(ranking, 3);
  const third = Math.min(...picked.map((r) => r.score));
  const next = ranking.lenses.find((r) => !picked.includes(r));
  if (next && next.score >= 0.9 * third) picked.push(next);
  picked.sort((a, b) => b.score - a.score);
  const modeNames = new Map(ranking.modes.map((m) => [m.mode.id, m.mode.name]));
  const lenses = picked.map((r) => {
    const inModes = modes.filter((m) =>
      ranking.modes.find((rm) => rm.mode.id === m.id)?.mode.lenses.includes(r.lens.id),
    );
    const parts: string[] = [];
    if (r.matched.length > 0)
      parts.push(
        `your text mentions ${r.matched
          .slice(0, 3)
          .map((s) => `"${s}"`)
          .join(", ")}`,
      );
    if (inModes.length > 0)
      parts.push(`it is a core lens of ${inModes.map((m) => modeNames.get(m.id)).join(" and ")}`);
    if (parts.length === 0) parts.push("its description shares the most words with your problem");
    return {
      id: r.lens.id,
      name: r.lens.name,
      match_score: round2(r.score / top),
      reason: `${r.lens.summary} Picked because ${parts.join(", and ")}.`,
    };
  });
  return { source: "offline", modes, lenses };
}

/**
 * The offline engine: no network and no key. Suggestion comes from the catalogue index; each lens
 * "analysis" is that lens's framing questions and pitfalls; the synthesis is a checklist of those
 * questions grouped by lens. Everything it returns is marked `source: "offline"`.
 */
export function createOfflineEngine(catalogue: Catalogue): Engine {
  return {
    name: "offline",
    async suggest({ ranking }: SuggestRequest): Promise<ModeSuggestion> {
      return suggestFromRanking(ranking);
    },
    async analyze({ lens }: AnalyzeRequest): Promise<LensAnalysis> {
      return {
        source: "offline",
        lens_id: lens.id,
        lens_name: lens.name,
        summary: lens.summary,
        questions: lens.questions,
        pitfalls: lens.pitfalls,
      };
    },
    async synthesize({ analyses }: SynthesizeRequest): Promise<Synthesis> {
      return {
        source: "offline",
        checklist: analyses.map((a) => ({
          lens_id: a.lens_id,
          lens_name: a.lens_name,
          questions: a.source === "offline" ? a.questions : (catalogue.get(a.lens_id)?.questions ?? []),
        })),
      };
    },
  };
}

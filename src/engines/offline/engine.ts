import type { Catalogue } from "../../catalogue/catalogue.js";
import type { LensGraph, Library } from "../../catalogue/graph.js";
import type { Lens } from "../../catalogue/schema.js";
import type { RankedLens, Ranking } from "../../catalogue/search.js";
import { analyse } from "../../catalogue/text.js";
import { type Attempt, attemptsIn } from "../../pipeline/attempts.js";
import type {
  AnalyzeRequest,
  Engine,
  FollowUpRequest,
  SuggestRequest,
  SynthesizeRequest,
} from "../../pipeline/ports.js";
import type {
  FollowUp,
  LensAnalysis,
  ModeSuggestion,
  OfflineSynthesis,
  Problem,
  RetroRequest,
  RetroSynthesis,
} from "../../pipeline/schemas.js";

const round2 = (n: number) => Math.round(n * 100) / 100;

/** Said when the text gives no lens clear evidence, so a broad pick is never passed off as a fit. */
export const NO_CLEAR_FIT =
  "No lens fits this clearly: the text names little that the catalogue recognises. Here are broad starting points; add detail (what happens, what was tried, what it costs) for a better match.";

/** How many broad lenses to offer when nothing fits. */
const BROAD_PICKS = 3;

/**
 * Picks 1-3 modes and 2-4 lenses from the index ranking alone. Lenses: the best three by
 * evidence, and a fourth when it comes within 90% of the third. Modes: the best, and others
 * within 80% of it. When the ranking's fit is `none`, the most central lenses of the graph are
 * offered as broad starting points, with scores that say how little evidence there was.
 */
export function suggestFromRanking(ranking: Ranking, graph: LensGraph): ModeSuggestion {
  if (ranking.fit === "none" || ranking.lenses.length < 2) return broadStart(ranking, graph);
  const picked = ranking.lenses.slice(0, 3);
  const fourth = ranking.lenses[3];
  const third = picked[2];
  if (fourth && third && fourth.score >= 0.9 * third.score) picked.push(fourth);
  const best = ranking.modes[0]?.match_score ?? 0;
  const modes = ranking.modes
    .filter((m, i) => i === 0 || m.match_score >= 0.8 * best)
    .slice(0, 3)
    .map((m) => ({
      id: m.mode.id,
      name: m.mode.name,
      emoji: m.mode.emoji,
      match_score: round2(m.match_score),
      reason: m.mode.description,
    }));
  return {
    source: "offline",
    modes,
    lenses: picked.map((r) => ({
      id: r.lens.id,
      name: r.lens.name,
      match_score: round2(r.score),
      reason: reasonFor(r),
    })),
    ...(ranking.fit === "weak" && {
      note: "The evidence is thin: these lenses match a few words of your text, not a clear pattern.",
    }),
  };
}

/** Why the index picked a lens (its card carries the summary, so this says only why). */
function reasonFor(r: RankedLens): string {
  return r.matched.length > 0
    ? `Your words match its signals ${r.matched
        .slice(0, 3)
        .map((s) => `"${s}"`)
        .join(", ")}.`
    : "Your text shares telling words with the situations it is for.";
}

function broadStart(ranking: Ranking, graph: LensGraph): ModeSuggestion {
  const lenses = graph.central(BROAD_PICKS).map((c) => c.lens);
  const modeIds = [...new Set(lenses.flatMap((l) => l.modes))].slice(0, 2);
  const scoreOf = new Map(ranking.modes.map((m) => [m.mode.id, m.match_score]));
  return {
    source: "offline",
    note: NO_CLEAR_FIT,
    modes: modeIds.flatMap((id) => {
      const mode = graph.catalogue.getMode(id);
      return mode
        ? [
            {
              id,
              name: mode.name,
              emoji: mode.emoji,
              match_score: round2(scoreOf.get(id) ?? 0),
              reason: `A broad starting point. ${mode.description}`,
            },
          ]
        : [];
    }),
    lenses: lenses.map((l) => ({
      id: l.id,
      name: l.name,
      match_score: round2(ranking.lenses.find((r) => r.lens.id === l.id)?.score ?? 0),
      reason: `${l.summary} Offered as a broad starting point: it connects to more of the catalogue than any other lens, not because your text points at it.`,
    })),
  };
}

/** The problem and its thread as one text: what evidence is quoted from. */
const fullText = (problem: Problem) => [problem.text, problem.context ?? ""].join("\n");

/**
 * A lens's questions ordered by how many of the text's words each shares (ties keep the lens's
 * own order, which puts its most important question first).
 */
export function questionsByFit(lens: Lens, text: string): string[] {
  const words = new Set(analyse(text));
  return lens.questions
    .map((q, i) => ({ q, i, shared: new Set(analyse(q).filter((t) => words.has(t))).size }))
    .sort((a, b) => b.shared - a.shared || a.i - b.i)
    .map((x) => x.q);
}

/** Probes per attempt in the offline synthesis. */
const PROBES_PER_ATTEMPT = 2;

type Probe = NonNullable<OfflineSynthesis["attempts"]>[number]["probes"][number];

/**
 * For each attempt, the catalogue questions (or pitfalls) of the run's lenses that probe why it fell
 * short: two per attempt, from different lenses. Preferred, in order: more words shared with what
 * was tried (a pitfall needs two), a question over a pitfall, one not given to an earlier
 * attempt, one not already on the lens's card, then the lenses' order (strongest evidence first)
 * and the catalogue's own order. Nothing is written here: every probe is catalogue text.
 */
export function probeAttempts(
  attempts: readonly Attempt[],
  lenses: readonly Lens[],
  onCards: ReadonlySet<string> = new Set(),
): NonNullable<OfflineSynthesis["attempts"]> {
  const used = new Set<string>();
  const candidates = lenses.flatMap((lens, li) =>
    (["question", "pitfall"] as const).flatMap((kind) =>
      (kind === "question" ? lens.questions : lens.pitfalls).map((text, i) => ({
        lens,
        li,
        i,
        kind,
        text,
        words: new Set(analyse(text)),
      })),
    ),
  );
  return attempts.map((a) => {
    // What was tried, without its verb ("added" would match every question about adding).
    const words = new Set(analyse(a.what));
    const scored = candidates
      .map((c) => {
        const shared = [...c.words].filter((w) => words.has(w)).length;
        // A pitfall is a statement, not a question: it comes first only when it clearly names the attempt.
        return { c, shared: c.kind === "pitfall" && shared < 2 ? -1 : shared };
      })
      .sort(
        (x, y) =>
          y.shared - x.shared ||
          Number(x.c.kind === "pitfall") - Number(y.c.kind === "pitfall") ||
          Number(used.has(x.c.text)) - Number(used.has(y.c.text)) ||
          Number(onCards.has(x.c.text)) - Number(onCards.has(y.c.text)) ||
          x.c.li - y.c.li ||
          x.c.i - y.c.i,
      );
    const probes: Probe[] = [];
    const lensesTaken = new Set<string>();
    for (const { c } of scored) {
      if (probes.length >= PROBES_PER_ATTEMPT) break;
      if (lensesTaken.has(c.lens.id)) continue;
      lensesTaken.add(c.lens.id);
      used.add(c.text);
      probes.push({ lens_id: c.lens.id, lens_name: c.lens.name, kind: c.kind, text: c.text });
    }
    return { attempt: a.label, ...(a.effect && { effect: a.effect }), probes };
  });
}

/**
 * Refs of the analyses that used each lens: most used first; among equals, the lenses each run
 * ranked higher first (so every analysis gets its best lens in before any gets its second).
 */
function lensUse(req: RetroRequest): [string, string[]][] {
  const use = new Map<string, { refs: string[]; rank: number; order: number }>();
  for (const [order, a] of req.analyses.entries()) {
    for (const [rank, id] of [...new Set(a.lenses)].entries()) {
      const u = use.get(id);
      if (u) {
        u.refs.push(a.ref);
        u.rank = Math.min(u.rank, rank);
      } else use.set(id, { refs: [a.ref], rank, order });
    }
  }
  return [...use]
    .sort(([, a], [, b]) => b.refs.length - a.refs.length || a.rank - b.rank || a.order - b.order)
    .map(([id, u]) => [id, u.refs]);
}

/**
 * The offline retro: nothing written here, only what the catalogue says about what recurred.
 * - patterns: the lenses used in more than one analysis (at most 4), each with its catalogue
 *   summary, or a plain statement that none came back;
 * - themes: thematic frames shared by lenses of at least two analyses;
 * - questions: 3-5 catalogue questions, the first question of each most-used lens, then their
 *   next questions, each citing the analyses that used the lens.
 */
export function offlineRetro(req: RetroRequest, catalogue: Catalogue): RetroSynthesis {
  const used = lensUse(req).filter(([id]) => catalogue.has(id));
  const recurring = used.filter(([, refs]) => refs.length > 1);
  const patterns =
    recurring.length > 0
      ? recurring.slice(0, 4).map(([id, refs]) => {
          const lens = catalogue.require(id);
          return {
            text: `${lens.name} (${refs.length} of ${req.analyses.length}): ${lens.summary}`,
            analyses: refs,
          };
        })
      : [
          {
            text: "No lens came back: each analysis of this period was seen through lenses of its own.",
            analyses: req.analyses.map((a) => a.ref),
          },
        ];
  const frames = new Map<string, Set<string>>();
  for (const [id, refs] of used)
    for (const f of catalogue.require(id).frames) frames.set(f, new Set([...(frames.get(f) ?? []), ...refs]));
  const themes = [...frames]
    .filter(([, refs]) => refs.size > 1)
    .sort((a, b) => b[1].size - a[1].size)
    .slice(0, 4)
    .flatMap(([id, refs]) => {
      const frame = catalogue.getFrame(id);
      return frame ? [{ text: `${frame.name}: ${frame.description}`, analyses: [...refs] }] : [];
    });
  const questions: { text: string; analyses: string[] }[] = [];
  for (let depth = 0; questions.length < 5 && depth < 3; depth++) {
    for (const [id, refs] of used.slice(0, 5)) {
      const q = catalogue.require(id).questions[depth];
      if (q && questions.length < 5) questions.push({ text: q, analyses: refs });
    }
  }
  return { source: "offline", patterns, themes, questions };
}

/**
 * The offline engine: no network and no key, and nothing it says is invented. Suggestion comes
 * from the catalogue index. Each lens card quotes the sentences of the problem that point at the
 * lens, the two of its questions that fit the text best, its pitfalls and the contrasting lens.
 * The synthesis orders the lenses by the strength of their evidence, names the modes they leave
 * out and the lens that would widen the view, and ends with the one question to settle first.
 * Everything it returns is marked `source: "offline"`.
 */
export function createOfflineEngine({ catalogue, index, graph }: Library): Engine {
  return {
    name: "offline",
    async suggest({ ranking }: SuggestRequest): Promise<ModeSuggestion> {
      return suggestFromRanking(ranking, graph);
    },

    async analyze({ problem, lens }: AnalyzeRequest): Promise<LensAnalysis> {
      const text = fullText(problem);
      const contrast = lens.contrasts[0];
      const other = contrast && catalogue.get(contrast.id);
      return {
        source: "offline",
        lens_id: lens.id,
        lens_name: lens.name,
        summary: lens.summary,
        evidence: index.evidenceFor(text, lens.id, 2).map((e) => ({ quote: e.sentence, matched: e.matched })),
        questions: questionsByFit(lens, text).slice(0, 2),
        pitfalls: lens.pitfalls.slice(0, 2),
        ...(contrast &&
          other && { other_side: { lens_id: other.id, lens_name: other.name, tension: contrast.tension } }),
      };
    },

    async synthesize({ problem, analyses, ranking, attempts }: SynthesizeRequest): Promise<OfflineSynthesis> {
      const text = fullText(problem);
      const score = new Map(ranking.lenses.map((r) => [r.lens.id, r.score]));
      const ordered = [...analyses].sort((a, b) => (score.get(b.lens_id) ?? 0) - (score.get(a.lens_id) ?? 0));
      const look_first = ordered.map((a) => {
        const quotes = a.source === "offline" ? a.evidence.length : 0;
        const match = `${Math.round((score.get(a.lens_id) ?? 0) * 100)}% match`;
        return {
          lens_id: a.lens_id,
          lens_name: a.lens_name,
          because:
            quotes > 0
              ? `${match}, ${quotes} of your sentences point at it`
              : `${match}; no sentence points at it directly, so it is a broad starting point`,
        };
      });
      const used = analyses.map((a) => a.lens_id);
      const covered = new Set(used.flatMap((id) => catalogue.get(id)?.modes ?? []));
      const missing_modes = ranking.modes
        .filter((m) => !covered.has(m.mode.id) && m.match_score > 0)
        .slice(0, 3)
        .map((m) => ({ id: m.mode.id, name: m.mode.name }));
      // Of the linked lenses that widen the view, the one the text itself supports most.
      const wider = graph.widening(used, score);
      const strongest = ordered[0] && catalogue.get(ordered[0].lens_id);
      const onCards = new Set(analyses.flatMap((a) => (a.source === "offline" ? a.questions : [])));
      const probed = probeAttempts(
        attempts ?? attemptsIn(problem),
        ordered.flatMap((a) => catalogue.get(a.lens_id) ?? []),
        onCards,
      );
      return {
        source: "offline",
        look_first,
        ...(probed.length > 0 && { attempts: probed }),
        missing_modes,
        ...(wider && {
          widen: { lens_id: wider.lens.id, lens_name: wider.lens.name, because: wider.because },
        }),
        settle_first: strongest
          ? (questionsByFit(strongest, text)[0] ?? strongest.questions[0] ?? "")
          : "What would you need to see to know this problem is solved?",
      };
    },

    async followUp({ question, analyses }: FollowUpRequest): Promise<FollowUp> {
      return {
        source: "offline",
        through: analyses.flatMap((a) => {
          const lens = catalogue.get(a.lens_id);
          return lens
            ? [
                {
                  lens_id: lens.id,
                  lens_name: lens.name,
                  questions: questionsByFit(lens, question).slice(0, 2),
                },
              ]
            : [];
        }),
      };
    },

    async retro(req: RetroRequest): Promise<RetroSynthesis> {
      return offlineRetro(req, catalogue);
    },
  };
}

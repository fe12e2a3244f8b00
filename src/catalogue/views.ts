import { z } from "zod";
import type { Gaps, JourneyStep } from "./graph.js";
import type { Lens } from "./schema.js";
import type { Ranking } from "./search.js";

/**
 * The plain-data views of catalogue answers that leave the process: what `lens … --json` prints
 * and what the MCP tools return as structured content. One shape per answer, each with its zod
 * schema, so the terminal and MCP clients read the same fields.
 */

/** 0-1 inclusive. */
const unit = z.number().min(0).max(1);
const ref = { id: z.string(), name: z.string() };

// ---------- ranking (lens suggest --json) ----------

export const RankingView = z.object({
  lenses: z
    .array(z.object({ ...ref, aliases: z.array(z.string()), score: unit }))
    .describe("lenses ranked against the text, best first; score is calibrated 0-1"),
  modes: z
    .array(
      z.object({
        ...ref,
        match_score: unit,
        lenses: z.array(z.string()).describe("lens ids of the mode, best first for this text"),
      }),
    )
    .describe("every thinking mode, best first"),
  fit: z
    .enum(["clear", "weak", "none"])
    .describe("clear: the best lens has strong evidence; weak: nothing stands out; none: no usable evidence"),
});
export type RankingView = z.infer<typeof RankingView>;

/** The index's ranking of a problem: the first `limit` lenses (score to 3 places) and every mode. */
export function rankingView(ranking: Ranking, limit: number): RankingView {
  return {
    lenses: ranking.lenses.slice(0, limit).map((r) => ({
      id: r.lens.id,
      name: r.lens.name,
      aliases: r.lens.aliases,
      score: Math.round(r.score * 1000) / 1000,
    })),
    modes: ranking.modes.map((m) => ({
      id: m.mode.id,
      name: m.mode.name,
      match_score: m.match_score,
      lenses: m.lenses,
    })),
    fit: ranking.fit,
  };
}

// ---------- search ----------

export const SearchHitView = z.object({
  ...ref,
  summary: z.string(),
  score: z.number().describe("relevance; higher is better, not bounded"),
});
export type SearchHitView = z.infer<typeof SearchHitView>;

/** Catalogue search hits as `{id, name, summary, score}`, in the order given. */
export function searchView(hits: readonly { lens: Lens; score: number }[]): SearchHitView[] {
  return hits.map((h) => ({ id: h.lens.id, name: h.lens.name, summary: h.lens.summary, score: h.score }));
}

// ---------- random lens ----------

export const LensBriefView = z.object({
  ...ref,
  summary: z.string(),
  questions: z.array(z.string()).describe("the questions the lens asks of a problem"),
});
export type LensBriefView = z.infer<typeof LensBriefView>;

/** A lens in brief: id, name, summary and its questions. */
export function lensBriefView(lens: Lens): LensBriefView {
  return { id: lens.id, name: lens.name, summary: lens.summary, questions: lens.questions };
}

// ---------- contrasts ----------

export const ContrastsView = z.object({
  lens: z.object(ref),
  contrasts: z
    .array(
      z.object({ ...ref, tension: z.string().describe("the tension between the two lenses, in one line") }),
    )
    .describe("the lenses that pull against it"),
});
export type ContrastsView = z.infer<typeof ContrastsView>;

/** A lens and the lenses that contrast with it (`LensGraph.contrasts`), with each tension. */
export function contrastsView(
  lens: Lens,
  contrasts: readonly { lens: Lens; tension: string }[],
): ContrastsView {
  return {
    lens: { id: lens.id, name: lens.name },
    contrasts: contrasts.map((c) => ({ id: c.lens.id, name: c.lens.name, tension: c.tension })),
  };
}

// ---------- journey ----------

export const JourneyView = z.object({
  from: z.string().describe("lens id"),
  to: z.string().describe("lens id"),
  found: z.boolean().describe("false when no chain of links joins the two lenses"),
  steps: z
    .array(
      z.object({
        from: z.string(),
        to: z.string(),
        kind: z.enum(["related", "contrast"]),
        tension: z.string().optional().describe("for a contrast, the tension between the two lenses"),
      }),
    )
    .describe("the fewest-steps path, each step a link between two lens ids; empty when from is to"),
});
export type JourneyView = z.infer<typeof JourneyView>;

/** A journey between two lenses (`LensGraph.journey`); `steps` undefined means no path. */
export function journeyView(from: Lens, to: Lens, steps: readonly JourneyStep[] | undefined): JourneyView {
  return {
    from: from.id,
    to: to.id,
    found: steps !== undefined,
    steps: (steps ?? []).map((s) => ({
      from: s.from.id,
      to: s.to.id,
      kind: s.kind,
      ...(s.tension && { tension: s.tension }),
    })),
  };
}

// ---------- gaps ----------

export const GapsView = z.object({
  lenses: z.array(z.string()).describe("the lens ids the analysis used"),
  missing_modes: z.array(z.object(ref)).describe("thinking modes none of the lenses belongs to"),
  missing_frames: z.array(z.object(ref)).describe("thematic frames none of the lenses belongs to"),
  widen: z
    .array(
      z.object({
        ...ref,
        via: z.string().describe("the used lens it is linked to"),
        kind: z.enum(["related", "contrast"]),
        adds_modes: z.array(z.string()),
        adds_frames: z.array(z.string()),
      }),
    )
    .describe("unused linked lenses that would widen the view most, best first"),
});
export type GapsView = z.infer<typeof GapsView>;

/** What an analysis with `used` leaves out (`LensGraph.gaps`). */
export function gapsView(used: readonly Lens[], gaps: Gaps): GapsView {
  return {
    lenses: used.map((l) => l.id),
    missing_modes: gaps.missingModes.map((m) => ({ id: m.id, name: m.name })),
    missing_frames: gaps.missingFrames.map((f) => ({ id: f.id, name: f.name })),
    widen: gaps.widen.map((w) => ({
      id: w.lens.id,
      name: w.lens.name,
      via: w.via.id,
      kind: w.kind,
      adds_modes: w.addsModes.map((m) => m.id),
      adds_frames: w.addsFrames.map((f) => f.id),
    })),
  };
}

import { z } from "zod";

/**
 * The contracts of the three pipeline steps. Each `*Output` schema is what a model must return
 * (it becomes the structured-output JSON schema sent to Claude and the check applied to the
 * answer); the domain types around them add what lensbot itself knows (lens ids, source).
 */

const text = z.string().min(1);
/** 0-1 inclusive. */
const unit = z.number().min(0).max(1);

// ---------- input ----------

/** A problem as the pipeline receives it. All text is untrusted user input. */
export const ProblemSchema = z.object({
  /** The question or problem statement (after truncation). */
  text: z.string().min(1),
  /** Optional thread transcript that gives context (after fitting to its budget). */
  context: z.string().optional(),
  /** Notes about what was cut from the input, shown to the user. */
  notes: z.array(z.string()).default([]),
});
export type Problem = z.infer<typeof ProblemSchema>;

// ---------- step 1: suggest_thinking_mode ----------

export const SuggestionOutput = z.object({
  modes: z
    .array(z.object({ id: z.string(), match_score: unit, reason: text }))
    .min(1)
    .max(3)
    .describe("1-3 thinking modes, best first"),
  lenses: z
    .array(z.object({ id: z.string(), match_score: unit, reason: text }))
    .min(2)
    .max(4)
    .describe("2-4 lenses from the shortlist, best first"),
});
export type SuggestionOutput = z.infer<typeof SuggestionOutput>;

export interface ModeSuggestion {
  /** Who chose: the model, the offline index, or the person who named the lenses. */
  source: "model" | "offline" | "chosen";
  /** Said to the user beside the choice, e.g. that nothing in the text fits clearly. */
  note?: string;
  modes: { id: string; name: string; emoji: string; match_score: number; reason: string }[];
  lenses: { id: string; name: string; match_score: number; reason: string }[];
}

// ---------- step 2: analyze_with_lens ----------

export const BeliefSchema = z.object({
  belief: text.describe("one claim about this problem, seen through the lens"),
  confidence: unit,
  reasoning: text,
  evidence: z.array(text).describe("facts quoted or paraphrased from the problem that support the belief"),
  lateral_connections: z
    .array(z.object({ lens_id: z.string(), connection: text }))
    .describe("links to other catalogue lenses, by lens id"),
  implications: z.array(text).min(1),
});
export type Belief = z.infer<typeof BeliefSchema>;

export const LensAnalysisOutput = z.object({
  beliefs: z.array(BeliefSchema).min(1).max(5),
});
export type LensAnalysisOutput = z.infer<typeof LensAnalysisOutput>;

export const QualitySchema = z.object({
  specificity: unit,
  novelty: unit,
  actionability: unit,
  coherence: unit,
  overall: unit,
});
export type Quality = z.infer<typeof QualitySchema>;

export const JudgeOutput = z.object({
  scores: QualitySchema,
  critique: text.describe("what would make the analysis more specific, novel and actionable"),
});
export type JudgeOutput = z.infer<typeof JudgeOutput>;

/** Where an offline analysis comes from in the problem: a sentence quoted verbatim, and what in it matched. */
export interface EvidenceQuote {
  quote: string;
  /** Signal phrases, names or aliases of the lens found in the sentence (may be empty: word matches only). */
  matched: string[];
}

export type LensAnalysis =
  | {
      source: "model";
      lens_id: string;
      lens_name: string;
      beliefs: Belief[];
      quality: Quality;
      /** True when a refinement pass ran because the first draft scored under the bar. */
      refined: boolean;
    }
  | {
      source: "offline";
      lens_id: string;
      lens_name: string;
      summary: string;
      /** Sentences of the problem that point at this lens, strongest first (empty when none did). */
      evidence: EvidenceQuote[];
      /** The 2 questions of the lens that fit the text best. */
      questions: string[];
      pitfalls: string[];
      /** The contrasting lens: what it would say instead, in one line. */
      other_side?: { lens_id: string; lens_name: string; tension: string };
    };

// ---------- step 3: synthesize_solution ----------

export const SynthesisOutput = z.object({
  reframe: text.describe("the problem restated in a way that opens new options"),
  root_cause: z.object({ statement: text, lens_id: z.string() }),
  insights: z.array(z.object({ lens_id: z.string(), insight: text })).min(1),
  actions: z.object({
    immediate: z.array(text),
    short_term: z.array(text),
    long_term: z.array(text),
  }),
  trade_offs: z.array(text),
  validation: z.array(text).describe("how to tell, with measurements, whether the actions worked"),
  why_earlier_attempts_fell_short: text,
  constraint_check: z.array(
    z.object({
      constraint: text,
      status: z.enum(["respected", "at_risk", "violated", "unknown"]),
      note: text,
    }),
  ),
});
export type SynthesisOutput = z.infer<typeof SynthesisOutput>;

export type Synthesis =
  | ({ source: "model" } & SynthesisOutput)
  | {
      source: "offline";
      /** The lenses in the order to look at them: strongest evidence in the text first. */
      look_first: { lens_id: string; lens_name: string; because: string }[];
      /** Thinking modes the chosen lenses leave out. */
      missing_modes: { id: string; name: string }[];
      /** The linked lens that would widen the view most, and why. */
      widen?: { lens_id: string; lens_name: string; because: string };
      /** The one question to settle before anything else. */
      settle_first: string;
    };

// ---------- follow-up: a question in a thread that already has an analysis ----------

export const FollowUpOutput = z.object({
  answer: text.describe("the answer to the follow-up question, in 2-5 sentences, grounded in the analyses"),
  through: z
    .array(z.object({ lens_id: z.string(), point: text }))
    .min(1)
    .max(4)
    .describe("what each lens of the run that bears on the question says about it, by lens id"),
});
export type FollowUpOutput = z.infer<typeof FollowUpOutput>;

export type FollowUp =
  | ({ source: "model" } & FollowUpOutput)
  | {
      source: "offline";
      /** For each lens of the run, its questions that share most words with the follow-up. */
      through: { lens_id: string; lens_name: string; questions: string[] }[];
    };

// ---------- retro digest: across the analyses of a period ----------

/** A point of the retro, citing the analyses it rests on by ref ("A1", "A2"…). */
const Cited = z.object({ text, analyses: z.array(z.string()).min(1) });

export const RetroOutput = z.object({
  patterns: z.array(Cited).min(1).max(4).describe("what kept happening across the analyses"),
  themes: z.array(Cited).max(4).describe("systemic causes the analyses share"),
  questions: z.array(Cited).min(3).max(5).describe("questions for the retro"),
});
export type RetroOutput = z.infer<typeof RetroOutput>;

export type RetroSynthesis = { source: "model" | "offline" } & RetroOutput;

/** Shown with an offline retro, so nobody mistakes catalogue text for an analysis of their period. */
export const OFFLINE_RETRO_LABEL =
  "Offline engine: patterns, themes and questions come from the lens catalogue entries of the lenses you used, not from a model reading your analyses.";

/** What a retro is built from: the period's analyses, cited by ref, and what recurred. */
export interface RetroRequest {
  analyses: { ref: string; headline: string; lenses: string[]; actions: string[] }[];
  recurringLenses: { id: string; count: number }[];
  recurringActions: string[];
}

// ---------- the whole run ----------

export interface AnalysisResult {
  problem: Problem;
  engine: "claude" | "offline";
  suggestion: ModeSuggestion;
  analyses: LensAnalysis[];
  synthesis: Synthesis;
  /** Lenses whose analysis failed, with a short reason; the run still completes with the rest. */
  failures: { lens_id: string; reason: string }[];
  /** Token usage of every model call of the run, in order of completion (empty offline). */
  usage: CallUsage[];
  elapsed_ms: number;
}

/** Token usage of one model call (tokens), as the Messages API reports it. */
export interface CallUsage {
  /** Pipeline step, e.g. `suggest_thinking_mode` or `judge_lens_analysis (five-whys)`. */
  step: string;
  model: string;
  /** Input tokens neither read from nor written to the prompt cache. */
  input_tokens: number;
  output_tokens: number;
  cache_read_input_tokens: number;
  cache_creation_input_tokens: number;
}

/** Sums of token usage over calls (tokens), with the number of calls. */
export function totalUsage(
  calls: readonly CallUsage[],
): Omit<CallUsage, "step" | "model"> & { calls: number } {
  const total = {
    calls: calls.length,
    input_tokens: 0,
    output_tokens: 0,
    cache_read_input_tokens: 0,
    cache_creation_input_tokens: 0,
  };
  for (const c of calls) {
    total.input_tokens += c.input_tokens;
    total.output_tokens += c.output_tokens;
    total.cache_read_input_tokens += c.cache_read_input_tokens;
    total.cache_creation_input_tokens += c.cache_creation_input_tokens;
  }
  return total;
}

/** Label shown wherever offline output appears, so it is never mistaken for model output. */
export const OFFLINE_LABEL =
  "Offline engine: sentences quoted from your text and questions from the lens catalogue, not model-written analysis.";

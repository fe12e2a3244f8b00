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
  source: "model" | "offline";
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
      questions: string[];
      pitfalls: string[];
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
      /** Framing questions to work through, grouped by lens. */
      checklist: { lens_id: string; lens_name: string; questions: string[] }[];
    };

// ---------- the whole run ----------

export interface AnalysisResult {
  problem: Problem;
  engine: "claude" | "offline";
  suggestion: ModeSuggestion;
  analyses: LensAnalysis[];
  synthesis: Synthesis;
  /** Lenses whose analysis failed, with a short reason; the run still completes with the rest. */
  failures: { lens_id: string; reason: string }[];
  elapsed_ms: number;
}

/** Label shown wherever offline output appears, so it is never mistaken for model output. */
export const OFFLINE_LABEL =
  "Offline engine: framing questions from the lens catalogue, not model-written analysis.";

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

/** One criterion of the synthesis rubric: a 0-10 score and one line of reasoning. */
const RubricScore = z.object({
  score: z.number().int().min(0).max(10),
  reasoning: text.describe("one line: why this score"),
});

/**
 * The rubric a synthesis is judged on (the reference workflow's rubric for solutions), each 0-10:
 * originality (a clear reframe, not more tactics), lens relevance (named lenses explicitly applied),
 * explanation (why the earlier attempts failed), actionability (clear, testable steps), novelty (a
 * non-obvious insight).
 */
export const SynthesisRubricSchema = z.object({
  originality: RubricScore,
  lens_relevance: RubricScore,
  explanation: RubricScore,
  actionability: RubricScore,
  novelty: RubricScore,
});
export type SynthesisRubric = z.infer<typeof SynthesisRubricSchema>;
export const RUBRIC_CRITERIA = [
  "originality",
  "lens_relevance",
  "explanation",
  "actionability",
  "novelty",
] as const satisfies readonly (keyof SynthesisRubric)[];

/** The rubric's overall, 0-1: the mean of the five scores over 10 (compared with the quality bar). */
export function rubricOverall(rubric: SynthesisRubric): number {
  const sum = RUBRIC_CRITERIA.reduce((n, k) => n + rubric[k].score, 0);
  return Math.round((sum / RUBRIC_CRITERIA.length / 10) * 100) / 100;
}

/**
 * The judge's answer. One schema for reviewing a lens analysis (`lens`) and a synthesis
 * (`synthesis`): every judge call of a run then has the same structured-output format, so the
 * synthesis's judge reads the run context that the lens judges wrote to the prompt cache. Each
 * task says which part to fill; the other is null.
 */
export const JudgeOutput = z.object({
  lens: z
    .object({
      scores: QualitySchema,
      critique: text.describe("what would make the analysis more specific, novel and actionable"),
    })
    .nullable()
    .describe("the review of a lens analysis; null when the task reviews a synthesis"),
  synthesis: z
    .object({
      rubric: SynthesisRubricSchema,
      critique: text.describe("what would raise the lowest rubric scores"),
    })
    .nullable()
    .describe("the review of a synthesis; null when the task reviews a lens analysis"),
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

const level = z.enum(["high", "medium", "low"]);

/**
 * What a model synthesis must contain (the structured-output contract of synthesize_solution, and
 * of the MCP server's `synthesize_solution` tool). The reader sees the recommendation and the
 * confidence first. Engines check more per run: lens ids belong to the run, and `attempts` has
 * exactly one entry per attempt the problem names (see `attempts.ts`).
 */
export const SynthesisOutput = z.object({
  recommendation: z.object({
    summary: text.describe("what to do first and why, in two or three sentences"),
    rationale: z.array(text).min(1).max(5).describe("the key reasons behind it, one sentence each"),
  }),
  confidence: z.object({
    level,
    justification: text.describe("why this level, in one or two sentences"),
    near_certain: z.array(text).describe("what the evidence makes near certain"),
    uncertain: z.array(z.object({ point: text, why: text })).describe("what is still uncertain, and why"),
  }),
  reframe: text.describe("the problem restated in a way that opens new options"),
  root_cause: z.object({ statement: text, lens_id: z.string() }),
  insights: z.array(z.object({ lens_id: z.string(), insight: text })).min(1),
  attempts: z
    .array(
      z.object({
        attempt: text.describe("the attempt, by the label the task gives it"),
        fell_short_because: text.describe("one line: why it could not reach the goal"),
        lens_id: z.string().describe("the lens that best explains the shortfall"),
      }),
    )
    .describe("why each earlier attempt fell short, one entry per attempt"),
  options: z
    .array(
      z.object({
        option: text,
        chance_of_target: unit.describe(
          "estimated probability (0-1) that this option reaches the stated target",
        ),
        reasoning: text,
      }),
    )
    .min(1)
    .describe("the main options, each with its estimated chance of reaching the target"),
  actions: z.object({
    immediate: z.array(text),
    short_term: z.array(text),
    long_term: z.array(text),
  }),
  breakthrough_path: z.object({
    steps: z
      .array(
        z.object({
          step: text,
          duration: text.describe("rough duration, e.g. '2 days' or '1-2 weeks'"),
          outcome: text.describe("what this step should show or deliver"),
        }),
      )
      .min(1)
      .describe("the ordered steps to the target"),
    expected_outcome: text.describe("where the path should land, against the target"),
  }),
  risks: z
    .array(z.object({ risk: text, impact: level, mitigation: text }))
    .describe("risks of the recommended path, with impact and mitigation"),
  trade_offs: z.array(text),
  validation: z.array(text).describe("how to tell, with measurements, whether the actions worked"),
  constraint_check: z
    .array(
      z.object({
        constraint: text,
        status: z.enum(["respected", "at_risk", "violated", "unknown"]),
        note: text,
      }),
    )
    .describe("feasibility: every constraint the problem states, and whether the plan respects it"),
});
export type SynthesisOutput = z.infer<typeof SynthesisOutput>;

/** How each constraint-check status is marked, in Slack and in the terminal alike. */
export const CONSTRAINT_MARK: Record<SynthesisOutput["constraint_check"][number]["status"], string> = {
  respected: "✅",
  at_risk: "⚠️",
  violated: "❌",
  unknown: "❔",
};

/** The judge's rubric for a model synthesis, its 0-1 overall, and whether one refinement ran. */
export interface SynthesisQuality {
  rubric: SynthesisRubric;
  /** {@link rubricOverall}: compared with the quality bar. */
  overall: number;
  /** True when the first draft scored under the bar and was refined once. */
  refined: boolean;
}

/** Parts every model synthesis has, including those stored before the recommendation existed. */
type SynthesisCore = Pick<
  SynthesisOutput,
  "reframe" | "root_cause" | "insights" | "actions" | "trade_offs" | "validation" | "constraint_check"
> & {
  /**
   * Why the earlier attempts fell short, in one paragraph. Kept for readers of `--json` and for
   * records written before per-attempt entries: a current synthesis joins `attempts` into it.
   */
  why_earlier_attempts_fell_short: string;
};

/** A model synthesis as engines produce it now. */
export type ModelSynthesis = { source: "model" } & SynthesisOutput &
  SynthesisCore & {
    /** Absent only when the judge call failed (the synthesis is still shown, unscored). */
    quality?: SynthesisQuality;
  };

/**
 * A model synthesis stored before recommendations, per-attempt entries, risks, options, the
 * breakthrough path and rubric scores existed (records live 30 days): it still loads and renders.
 */
export type LegacyModelSynthesis = { source: "model" } & SynthesisCore;

/** Said with an offline synthesis, so nobody takes the missing parts for an oversight. */
export const OFFLINE_SYNTHESIS_NEEDS_MODEL =
  "A recommendation, confidence, risks, chances of reaching the target and quality scores need the model: the offline engine does not invent them. Set ANTHROPIC_API_KEY for a model-written synthesis.";

export interface OfflineSynthesis {
  source: "offline";
  /** The lenses in the order to look at them: strongest evidence in the text first. */
  look_first: { lens_id: string; lens_name: string; because: string }[];
  /** Thinking modes the chosen lenses leave out. */
  missing_modes: { id: string; name: string }[];
  /** The linked lens that would widen the view most, and why. */
  widen?: { lens_id: string; lens_name: string; because: string };
  /** The one question to settle before anything else. */
  settle_first: string;
  /**
   * Each attempt the problem names, with catalogue questions (or pitfalls) of the run's lenses
   * that probe why it fell short. Absent in records written before it existed.
   */
  attempts?: {
    attempt: string;
    effect?: string;
    probes: { lens_id: string; lens_name: string; kind: "question" | "pitfall"; text: string }[];
  }[];
}

export type Synthesis = ModelSynthesis | LegacyModelSynthesis | OfflineSynthesis;

/** True for a model synthesis with the recommendation and the parts around it (not a legacy record). */
export function isFullSynthesis(s: Synthesis): s is ModelSynthesis {
  return s.source === "model" && "recommendation" in s && s.recommendation !== undefined;
}

/**
 * A model synthesis from the model's output: `why_earlier_attempts_fell_short` is the per-attempt
 * lines joined (`label: reason`), or says none were named.
 */
export function modelSynthesis(output: SynthesisOutput, quality?: SynthesisQuality): ModelSynthesis {
  const why =
    output.attempts.length > 0
      ? output.attempts.map((a) => `${a.attempt}: ${a.fell_short_because}`).join("\n")
      : "The problem names no earlier attempts.";
  return {
    source: "model",
    ...output,
    why_earlier_attempts_fell_short: why,
    ...(quality && { quality }),
  };
}

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

import { z } from "zod";
import {
  type LensAnalysis,
  LensAnalysisOutput,
  type ModelSynthesis,
  type ModeSuggestion,
  type OfflineSynthesis,
  QualitySchema,
  SynthesisOutput,
  SynthesisRubricSchema,
} from "../pipeline/schemas.js";

/**
 * zod schemas for the pipeline results that the MCP tools return and take back: a lens analysis,
 * a synthesis and a mode suggestion. They are built on the pipeline's own step schemas
 * (`LensAnalysisOutput`, `QualitySchema`, `SynthesisOutput`), so a change there reaches the tools;
 * the parts the pipeline types in TypeScript only (the offline variants, the ids lensbot adds) are
 * written out here, and `SchemasInSync` stops the build when they drift from those types.
 */

const id = z.string().describe("catalogue id, e.g. theory-of-constraints");
const unit = z.number().min(0).max(1);

const ModelAnalysis = LensAnalysisOutput.extend({
  source: z.literal("model"),
  lens_id: id,
  lens_name: z.string(),
  quality: QualitySchema.describe("judged 0-1 scores of the analysis"),
  refined: z
    .boolean()
    .describe("true when a refinement pass ran because the first draft scored under the bar"),
});

const OfflineAnalysis = z.object({
  source: z.literal("offline"),
  lens_id: id,
  lens_name: z.string(),
  summary: z.string(),
  evidence: z
    .array(z.object({ quote: z.string(), matched: z.array(z.string()) }))
    .describe("sentences of the problem that point at this lens, strongest first, and what in each matched"),
  questions: z.array(z.string()).describe("the framing questions of the lens that fit the text best"),
  pitfalls: z.array(z.string()),
  other_side: z
    .object({ lens_id: id, lens_name: z.string(), tension: z.string() })
    .optional()
    .describe("the contrasting lens and what it would say instead"),
});

/** One lens's analysis: belief statements from a model, or framing questions and quotes offline. */
export const LensAnalysisSchema = z
  .discriminatedUnion("source", [ModelAnalysis, OfflineAnalysis])
  .describe("one lens's analysis, as analyze_with_lens returns it");

/**
 * The synthesis of a run's analyses as engines produce it now: the model's plan (the step's
 * `SynthesisOutput`, the joined attempts paragraph and, when the judge ran, its rubric), or the
 * offline order of work. Records written before the recommendation existed never reach a tool.
 */
export const SynthesisSchema = z.discriminatedUnion("source", [
  SynthesisOutput.extend({
    source: z.literal("model"),
    why_earlier_attempts_fell_short: z
      .string()
      .describe("the attempts' shortfalls joined into one paragraph"),
    quality: z
      .object({
        rubric: SynthesisRubricSchema,
        overall: unit.describe("the mean of the rubric's five scores over 10"),
        refined: z.boolean().describe("true when the first draft scored under the bar and was refined once"),
      })
      .optional()
      .describe("the judge's rubric; absent when the judge call failed"),
  }),
  z.object({
    source: z.literal("offline"),
    look_first: z
      .array(z.object({ lens_id: id, lens_name: z.string(), because: z.string() }))
      .describe("the lenses in the order to look at them, strongest evidence first"),
    missing_modes: z.array(z.object({ id: z.string(), name: z.string() })),
    widen: z
      .object({ lens_id: id, lens_name: z.string(), because: z.string() })
      .optional()
      .describe("the linked lens that would widen the view most"),
    settle_first: z.string().describe("the one question to settle before anything else"),
    attempts: z
      .array(
        z.object({
          attempt: z.string(),
          effect: z.string().optional(),
          probes: z.array(
            z.object({
              lens_id: id,
              lens_name: z.string(),
              kind: z.enum(["question", "pitfall"]),
              text: z.string(),
            }),
          ),
        }),
      )
      .optional()
      .describe("each attempt the problem names, with catalogue questions that probe why it fell short"),
  }),
]);

/** The thinking modes and lenses an engine chose for a problem, each with a 0-1 score and a reason. */
export const ModeSuggestionSchema = z.object({
  source: z
    .enum(["model", "offline", "chosen"])
    .describe("who chose: the model, the offline index, or a person"),
  note: z.string().optional().describe("said beside the choice, e.g. that nothing fits clearly"),
  modes: z.array(
    z.object({ id: z.string(), name: z.string(), emoji: z.string(), match_score: unit, reason: z.string() }),
  ),
  lenses: z.array(z.object({ id, name: z.string(), match_score: unit, reason: z.string() })),
});

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Assert<T extends true> = T;

/** Compiles only while each schema describes exactly the pipeline type it stands for. */
export type SchemasInSync = [
  Assert<Same<z.output<typeof LensAnalysisSchema>, LensAnalysis>>,
  Assert<Same<z.output<typeof SynthesisSchema>, ModelSynthesis | OfflineSynthesis>>,
  Assert<Same<z.output<typeof ModeSuggestionSchema>, ModeSuggestion>>,
];

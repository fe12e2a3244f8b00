import type Anthropic from "@anthropic-ai/sdk";
import { z } from "zod";
import type { Catalogue } from "../../catalogue/catalogue.js";
import type { Lens } from "../../catalogue/schema.js";
import { ModelOutputError } from "../../errors.js";
import { type Attempt, attemptsIn } from "../../pipeline/attempts.js";
import type {
  AnalyzeRequest,
  Engine,
  FollowUpRequest,
  StepContext,
  SuggestRequest,
  SynthesizeRequest,
} from "../../pipeline/ports.js";
import {
  type FollowUp,
  FollowUpOutput,
  JudgeOutput,
  type LensAnalysis,
  LensAnalysisOutput,
  type ModelSynthesis,
  type ModeSuggestion,
  modelSynthesis,
  type Problem,
  type Quality,
  RetroOutput,
  type RetroRequest,
  type RetroSynthesis,
  rubricOverall,
  SuggestionOutput,
  SynthesisOutput,
  type SynthesisQuality,
  type SynthesisRubric,
} from "../../pipeline/schemas.js";
import { CacheGate } from "./cache-gate.js";
import * as prompts from "./prompts.js";
import { callStructured } from "./structured.js";

/**
 * Model per step: a fast one for the suggestion (its catalogue prefix, some 20,000 tokens, is
 * cached across runs), a strong one for the rest. The judge shares the analysis model: its
 * prefix (the problem and the run's lens cards, often 2,000-3,000 tokens) clears Sonnet's
 * 1,024-token caching minimum but not Haiku 4.5's 4,096, so on Haiku every judge call would pay
 * for the whole run context again.
 */
export interface StepModels {
  suggest: string;
  analyze: string;
  judge: string;
  synthesize: string;
}

export const DEFAULT_MODELS: StepModels = {
  suggest: "claude-haiku-5-5",
  judge: "claude-sonnet-5-5",
  analyze: "claude-sonnet-5-5",
  synthesize: "claude-sonnet-5-5",
};

export interface ClaudeEngineOptions {
  client: Anthropic;
  catalogue: Catalogue;
  models?: Partial<StepModels>;
  /**
   * A lens analysis whose judged `overall` is under this bar (0-1) gets one refinement pass, and so
   * does a synthesis whose rubric overall (the mean of its five 0-10 scores, over 10) is. Default 0.6.
   */
  qualityBar?: number;
  /** Output token cap per call. Default 4096. */
  maxTokens?: number;
  /** Orders requests that share a cached prefix; one per engine by default. */
  gate?: CacheGate;
  /**
   * Whether the service takes the structured-output format (`output_config.format`); when false
   * the schema is given as instructions and answers are held to it by validation and one repair
   * turn. Default true. See `callStructured`.
   */
  structuredOutputs?: boolean;
}

const EPHEMERAL = { type: "ephemeral" } as const;

/** Lens ids the model may use here, as a zod enum (so the schema itself rules out invented ids). */
function idEnum(ids: readonly string[]) {
  const [first, ...rest] = ids;
  if (first === undefined) throw new Error("idEnum needs at least one id");
  return z.enum([first, ...rest]);
}

/**
 * The Claude engine: each step is one structured-output call (plus a judge and at most one
 * refinement for each lens). The suggestion step sees the whole catalogue and may choose any
 * lens; the index's best matches are hints. Ids that the model names are checked against the
 * catalogue: the schemas only allow catalogue (or run) ids, and lateral connections to unknown
 * lenses are dropped. See `prompts.ts` for how the calls of a run share cached prefixes.
 */
export function createClaudeEngine(options: ClaudeEngineOptions): Engine {
  const { client, catalogue } = options;
  const models = { ...DEFAULT_MODELS, ...options.models };
  const qualityBar = options.qualityBar ?? 0.6;
  const maxTokens = options.maxTokens ?? 4096;
  const gate = options.gate ?? new CacheGate();
  const structuredOutputs = options.structuredOutputs ?? true;

  /** The suggestion's system prompt, identical for every run and problem: its cache marker. */
  const suggestSystem: Anthropic.TextBlockParam[] = [
    { type: "text", text: prompts.systemPrompt(catalogue), cache_control: EPHEMERAL },
  ];
  /** Every other step's system prompt (short: the run's context after it carries the marker). */
  const system: Anthropic.TextBlockParam[] = [{ type: "text", text: prompts.SYSTEM_INTRO }];
  const lensIds = idEnum(catalogue.lenses.map((l) => l.id));
  /**
   * The synthesis schema of a run. Lens ids are catalogue ids in the schema (the same for every
   * run); that they belong to this run is checked after parsing, and a breach gets the repair
   * turn. When the problem names attempts, their labels are an enum (the model copies them
   * exactly) and exactly one entry per label is checked after parsing.
   */
  const synthesisSchema = (runIds: readonly string[], labels: readonly string[]) =>
    SynthesisOutput.extend({
      root_cause: SynthesisOutput.shape.root_cause.extend({ lens_id: lensIds }),
      insights: SynthesisOutput.shape.insights.element.extend({ lens_id: lensIds }).array().min(1),
      attempts: SynthesisOutput.shape.attempts.element
        .extend({
          lens_id: lensIds,
          attempt:
            labels.length > 0
              ? idEnum(labels).describe("the attempt, by its label exactly as given")
              : SynthesisOutput.shape.attempts.element.shape.attempt,
        })
        .array()
        .describe(SynthesisOutput.shape.attempts.description ?? ""),
    }).superRefine((data, ctx) => {
      const allowed = new Set(runIds);
      const notInRun = (path: (string | number)[], id: string) => {
        if (!allowed.has(id))
          ctx.addIssue({ code: "custom", path, message: `must be one of ${runIds.join(", ")}` });
      };
      notInRun(["root_cause", "lens_id"], data.root_cause.lens_id);
      for (const [n, i] of data.insights.entries()) notInRun(["insights", n, "lens_id"], i.lens_id);
      for (const [n, a] of data.attempts.entries()) notInRun(["attempts", n, "lens_id"], a.lens_id);
      if (labels.length === 0) return;
      const given = data.attempts.map((a) => a.attempt);
      const missing = labels.filter((l) => !given.includes(l));
      const twice = labels.filter((l) => given.indexOf(l) !== given.lastIndexOf(l));
      if (missing.length > 0 || twice.length > 0) {
        const list = (items: readonly string[]) =>
          [...new Set(items)].map((l) => JSON.stringify(l)).join(", ");
        ctx.addIssue({
          code: "custom",
          path: ["attempts"],
          message: `needs exactly one entry per attempt${missing.length ? `; missing: ${list(missing)}` : ""}${twice.length ? `; more than once: ${list(twice)}` : ""}`,
        });
      }
    });
  /** The judge's schema: one format for lens and synthesis reviews; each call requires its part. */
  const judgeSchema = (part: "lens" | "synthesis") =>
    JudgeOutput.superRefine((data, ctx) => {
      if (data[part] === null)
        ctx.addIssue({ code: "custom", path: [part], message: "must be filled for this review, not null" });
    });
  const lensJudgeSchema = judgeSchema("lens");
  const synthesisJudgeSchema = judgeSchema("synthesis");
  const suggestSchema = SuggestionOutput.extend({
    modes: SuggestionOutput.shape.modes.element
      .extend({ id: idEnum(catalogue.modes.map((m) => m.id)) })
      .array()
      .min(1)
      .max(3),
    lenses: SuggestionOutput.shape.lenses.element.extend({ id: lensIds }).array().min(2).max(4),
  });

  /** The run's context: the problem, then the run's lens cards, marked as a cache prefix. */
  const runContext = (
    problem: Problem,
    runLenses: readonly Lens[],
    marked: boolean,
  ): Anthropic.TextBlockParam[] => [
    { type: "text", text: prompts.problemBlock(problem, marked) },
    {
      type: "text",
      text: prompts.runLensesBlock(runLenses),
      ...(marked && { cache_control: EPHEMERAL }),
    },
  ];

  async function suggest(
    { problem, ranking }: SuggestRequest,
    { signal, recordUsage }: StepContext,
  ): Promise<ModeSuggestion> {
    const { data } = await callStructured(client, {
      structuredOutputs,
      step: "suggest_thinking_mode",
      model: models.suggest,
      maxTokens,
      signal,
      gate,
      recordUsage,
      schema: suggestSchema,
      system: suggestSystem,
      messages: [
        {
          role: "user",
          content: [
            { type: "text", text: prompts.problemBlock(problem) },
            { type: "text", text: prompts.suggestTask(ranking) },
          ],
        },
      ],
    });
    const seen = new Set<string>();
    const lenses = data.lenses
      .filter((l) => catalogue.has(l.id) && !seen.has(l.id) && seen.add(l.id))
      .map((l) => ({ ...l, name: catalogue.require(l.id).name }));
    // The schema allows only catalogue ids, so this only tops up after duplicates were removed.
    for (const r of ranking.lenses) {
      if (lenses.length >= 2) break;
      if (!seen.has(r.lens.id)) {
        seen.add(r.lens.id);
        lenses.push({ id: r.lens.id, name: r.lens.name, match_score: r.score, reason: r.lens.summary });
      }
    }
    const modes = data.modes.flatMap((m) => {
      const mode = catalogue.getMode(m.id);
      return mode ? [{ ...m, name: mode.name, emoji: mode.emoji }] : [];
    });
    return { source: "model", modes, lenses };
  }

  async function analyze(
    { problem, lens, runLenses }: AnalyzeRequest,
    { signal, recordUsage }: StepContext,
  ): Promise<LensAnalysis> {
    const opening: Anthropic.MessageParam = {
      role: "user",
      content: [...runContext(problem, runLenses, true), { type: "text", text: prompts.analyzeTask(lens) }],
    };
    const draft = await callStructured(client, {
      structuredOutputs,
      step: `analyze_with_lens (${lens.id})`,
      model: models.analyze,
      maxTokens,
      signal,
      gate,
      recordUsage,
      schema: LensAnalysisOutput,
      system,
      messages: [opening],
    });
    const judged = (analysis: LensAnalysisOutput) =>
      judge({ problem, lens, runLenses, draft: analysis }, { signal, recordUsage });
    let beliefs = draft.data;
    let verdict = await judged(beliefs);
    let refined = false;
    if (verdict.scores.overall < qualityBar) {
      const better = await callStructured(client, {
        structuredOutputs,
        step: `refine_lens_analysis (${lens.id})`,
        model: models.analyze,
        maxTokens,
        signal,
        gate,
        recordUsage,
        schema: LensAnalysisOutput,
        system,
        messages: [
          opening,
          { role: "assistant", content: JSON.stringify(beliefs) },
          { role: "user", content: prompts.refineTask(lens, verdict.critique, verdict.scores.overall) },
        ],
      });
      beliefs = better.data;
      verdict = await judged(beliefs);
      refined = true;
    }
    return {
      source: "model",
      lens_id: lens.id,
      lens_name: lens.name,
      beliefs: beliefs.beliefs.map((b) => ({
        ...b,
        lateral_connections: b.lateral_connections.filter(
          (c) => c.lens_id !== lens.id && catalogue.has(c.lens_id),
        ),
      })),
      quality: verdict.scores,
      refined,
    };
  }

  async function judge(
    { problem, lens, runLenses, draft }: AnalyzeRequest & { draft: LensAnalysisOutput },
    { signal, recordUsage }: StepContext,
  ): Promise<{ scores: Quality; critique: string }> {
    const { data } = await callStructured(client, {
      structuredOutputs,
      step: `judge_lens_analysis (${lens.id})`,
      model: models.judge,
      maxTokens: 1024,
      signal,
      gate,
      recordUsage,
      schema: lensJudgeSchema,
      system,
      messages: [
        {
          role: "user",
          content: [
            ...runContext(problem, runLenses, true),
            { type: "text", text: prompts.judgeTask(lens, draft) },
          ],
        },
      ],
    });
    // The schema's refinement makes the lens part present.
    if (!data.lens) throw new ModelOutputError(`judge_lens_analysis (${lens.id})`, ["lens: null"], "");
    return data.lens;
  }

  /**
   * One structured call about a run as a whole (a follow-up): the problem and the
   * run's lens cards, then the task. No cache marker: one such call per run would pay to write a
   * prefix nothing reads. The thread is left out; the analyses quote what mattered in it.
   */
  async function onRun<S extends z.ZodType>(
    step: prompts.TaskStep,
    schema: S,
    problem: Problem,
    runLenses: Lens[],
    taskText: string,
    { signal, recordUsage }: StepContext,
  ): Promise<z.infer<S>> {
    const { data } = await callStructured(client, {
      structuredOutputs,
      step,
      model: models.synthesize,
      maxTokens,
      signal,
      gate,
      recordUsage,
      schema,
      system,
      messages: [
        {
          role: "user",
          content: [...runContext(problem, runLenses, false), { type: "text", text: taskText }],
        },
      ],
    });
    return data;
  }

  /**
   * Scores a synthesis draft on the five-part rubric. The request starts like the lens judges'
   * (problem with thread, the suggestion's lens cards, marked) and has their model and format, so
   * it reads the run context they wrote to the prompt cache. Undefined when the answer stays
   * invalid after its repair turn: the synthesis is then shown unscored.
   * @throws ModelUnavailableError, CancelledError.
   */
  async function judgeSynthesis(
    problem: Problem,
    contextLenses: readonly Lens[],
    analyses: readonly LensAnalysis[],
    draft: SynthesisOutput,
    { signal, recordUsage }: StepContext,
  ): Promise<{ rubric: SynthesisRubric; critique: string } | undefined> {
    try {
      const { data } = await callStructured(client, {
        structuredOutputs,
        step: "judge_synthesis",
        model: models.judge,
        maxTokens: 1024,
        signal,
        gate,
        recordUsage,
        schema: synthesisJudgeSchema,
        system,
        messages: [
          {
            role: "user",
            content: [
              ...runContext(problem, contextLenses, true),
              { type: "text", text: prompts.judgeSynthesisTask(analyses, draft) },
            ],
          },
        ],
      });
      return data.synthesis ?? undefined;
    } catch (err) {
      if (err instanceof ModelOutputError) return undefined;
      throw err;
    }
  }

  /**
   * synthesize_solution: one structured call (problem and the run's lens cards, then the task with
   * the analyses and the attempts the problem names), the judge's rubric, and one refinement when
   * the rubric's overall is under the bar (then judged again).
   */
  async function synthesize(
    { problem, suggestion, analyses, attempts: given }: SynthesizeRequest,
    ctx: StepContext,
  ): Promise<ModelSynthesis> {
    const { signal, recordUsage } = ctx;
    const runLenses = analyses.map((a) => catalogue.require(a.lens_id));
    const attempts: Attempt[] = given ?? attemptsIn(problem);
    // Labels as the task shows them (delimiters neutralised), so what the model copies is in the enum.
    const schema = synthesisSchema(
      runLenses.map((l) => l.id),
      attempts.map((a) => prompts.neutraliseDelimiters(a.label)),
    );
    // The judge's context is the lens judges' own: the suggestion's lenses, in its order.
    const contextLenses = suggestion.lenses.flatMap((l) => catalogue.get(l.id) ?? []);
    // No cache marker: one call per run (two when refined) would pay to write what is rarely read.
    const opening: Anthropic.MessageParam = {
      role: "user",
      content: [
        ...runContext(problem, runLenses, false),
        { type: "text", text: prompts.synthesizeTask(suggestion, analyses, attempts) },
      ],
    };
    const call = (step: string, messages: Anthropic.MessageParam[]) =>
      callStructured(client, {
        structuredOutputs,
        step,
        model: models.synthesize,
        // A synthesis has thirteen parts (per-attempt lines, options, path, risks…): twice the cap.
        maxTokens: maxTokens * 2,
        signal,
        gate,
        recordUsage,
        schema,
        system,
        messages,
      });
    let output: SynthesisOutput = (await call("synthesize_solution", [opening])).data;
    let verdict = await judgeSynthesis(problem, contextLenses, analyses, output, ctx);
    let refined = false;
    if (verdict && rubricOverall(verdict.rubric) < qualityBar) {
      const better = await call("refine_synthesis", [
        opening,
        { role: "assistant", content: JSON.stringify(output) },
        {
          role: "user",
          content: prompts.refineSynthesisTask(verdict.critique, rubricOverall(verdict.rubric), attempts),
        },
      ]);
      output = better.data;
      refined = true;
      verdict = await judgeSynthesis(problem, contextLenses, analyses, output, ctx);
    }
    const quality: SynthesisQuality | undefined = verdict && {
      rubric: verdict.rubric,
      overall: rubricOverall(verdict.rubric),
      refined,
    };
    return modelSynthesis(output, quality);
  }

  async function followUp(
    { problem, question, analyses }: FollowUpRequest,
    ctx: StepContext,
  ): Promise<FollowUp> {
    const runLenses = analyses.map((a) => catalogue.require(a.lens_id));
    const ids = new Set(runLenses.map((l) => l.id));
    const schema = FollowUpOutput.superRefine((data, issues) => {
      data.through.forEach((t, n) => {
        if (!ids.has(t.lens_id))
          issues.addIssue({
            code: "custom",
            path: ["through", n, "lens_id"],
            message: `use only ${[...ids].join(", ")}`,
          });
      });
    });
    const task = prompts.followUpTask(question, analyses);
    return { source: "model", ...(await onRun("follow_up", schema, problem, runLenses, task, ctx)) };
  }

  async function retro(req: RetroRequest, { signal, recordUsage }: StepContext): Promise<RetroSynthesis> {
    const refs = new Set(req.analyses.map((a) => a.ref));
    const schema = RetroOutput.superRefine((data, ctx) => {
      for (const [field, items] of Object.entries(data)) {
        items.forEach((item: { analyses: string[] }, n: number) => {
          const unknown = item.analyses.filter((ref) => !refs.has(ref));
          if (unknown.length > 0)
            ctx.addIssue({
              code: "custom",
              path: [field, n, "analyses"],
              message: `cite only ${[...refs].join(", ")}`,
            });
        });
      }
    });
    const { data } = await callStructured(client, {
      structuredOutputs,
      step: "retro_digest",
      model: models.synthesize,
      maxTokens,
      signal,
      recordUsage,
      schema,
      system,
      messages: [
        {
          role: "user",
          content: [{ type: "text", text: prompts.retroTask(req, (id) => catalogue.get(id)?.name ?? id) }],
        },
      ],
    });
    return { source: "model", ...data };
  }

  return { name: "claude", suggest, analyze, synthesize, followUp, retro };
}

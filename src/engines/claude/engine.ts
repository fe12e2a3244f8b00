import type Anthropic from "@anthropic-ai/sdk";
import { z } from "zod";
import type { Catalogue } from "../../catalogue/catalogue.js";
import type { Lens } from "../../catalogue/schema.js";
import { diversify, type Ranking } from "../../catalogue/search.js";
import type {
  AnalyzeRequest,
  Engine,
  StepContext,
  SuggestRequest,
  SynthesizeRequest,
} from "../../pipeline/ports.js";
import {
  JudgeOutput,
  type LensAnalysis,
  LensAnalysisOutput,
  type ModeSuggestion,
  type Problem,
  SuggestionOutput,
  type Synthesis,
  SynthesisOutput,
} from "../../pipeline/schemas.js";
import { suggestFromRanking } from "../offline/engine.js";
import * as prompts from "./prompts.js";
import { callStructured } from "./structured.js";

/** Model per step: a fast one for suggestion and judging, a strong one for analysis and synthesis. */
export interface StepModels {
  suggest: string;
  analyze: string;
  judge: string;
  synthesize: string;
}

export const DEFAULT_MODELS: StepModels = {
  suggest: "claude-haiku-5-5",
  judge: "claude-haiku-5-5",
  analyze: "claude-sonnet-5-5",
  synthesize: "claude-sonnet-5-5",
};

export interface ClaudeEngineOptions {
  client: Anthropic;
  catalogue: Catalogue;
  models?: Partial<StepModels>;
  /** A lens analysis whose judged `overall` is under this bar (0-1) gets one refinement pass. Default 0.6. */
  qualityBar?: number;
  /** How many lenses from the index the suggestion step may choose among. Default 12. */
  shortlistSize?: number;
  /** Output token cap per call. Default 4096. */
  maxTokens?: number;
}

const EPHEMERAL = { type: "ephemeral" } as const;

/** Lens ids the model may use here, as a zod enum (so the schema itself rules out invented ids). */
function idEnum(ids: readonly string[]) {
  const [first, ...rest] = ids;
  if (first === undefined) throw new Error("idEnum needs at least one id");
  return z.enum([first, ...rest]);
}

/** The lenses the model may choose from (see `diversify`). */
export function shortlistFrom(ranking: Ranking, size: number): Lens[] {
  return diversify(ranking, size).map((r) => r.lens);
}

/**
 * The Claude engine: each step is one structured-output call (plus a judge and at most one
 * refinement for each lens). Ids that the model names are checked against the catalogue: the
 * suggestion and synthesis schemas only allow ids of this run, and lateral connections to
 * unknown lenses are dropped.
 */
export function createClaudeEngine(options: ClaudeEngineOptions): Engine {
  const { client, catalogue } = options;
  const models = { ...DEFAULT_MODELS, ...options.models };
  const qualityBar = options.qualityBar ?? 0.6;
  const shortlistSize = options.shortlistSize ?? 12;
  const maxTokens = options.maxTokens ?? 4096;

  /** The cached prefix shared by every lens call of a run: instructions, then the run's lens cards. */
  const analysisSystem = (runLenses: Lens[]): Anthropic.TextBlockParam[] => [
    { type: "text", text: prompts.ANALYZE_INSTRUCTIONS },
    { type: "text", text: prompts.lensCards(runLenses), cache_control: EPHEMERAL },
  ];
  const problemContent = (problem: Problem): Anthropic.TextBlockParam => ({
    type: "text",
    text: prompts.problemBlock(problem),
    cache_control: EPHEMERAL,
  });

  async function suggest(
    { problem, ranking }: SuggestRequest,
    { signal }: StepContext,
  ): Promise<ModeSuggestion> {
    const shortlist = shortlistFrom(ranking, shortlistSize);
    if (shortlist.length < 2) return suggestFromRanking(ranking);
    const schema = SuggestionOutput.extend({
      modes: SuggestionOutput.shape.modes.element
        .extend({ id: idEnum(catalogue.modes.map((m) => m.id)) })
        .array()
        .min(1)
        .max(3),
      lenses: SuggestionOutput.shape.lenses.element
        .extend({ id: idEnum(shortlist.map((l) => l.id)) })
        .array()
        .min(2)
        .max(4),
    });
    const { data } = await callStructured(client, {
      step: "suggest_thinking_mode",
      model: models.suggest,
      maxTokens,
      signal,
      schema,
      system: [
        { type: "text", text: prompts.SUGGEST_INSTRUCTIONS },
        {
          type: "text",
          text: `${prompts.modeList(catalogue.modes)}\n\n${prompts.lensCards(shortlist)}`,
          cache_control: EPHEMERAL,
        },
      ],
      messages: [{ role: "user", content: prompts.problemBlock(problem) }],
    });
    const seen = new Set<string>();
    const lenses = data.lenses
      .filter((l) => catalogue.has(l.id) && !seen.has(l.id) && seen.add(l.id))
      .map((l) => ({ ...l, name: catalogue.require(l.id).name }));
    // The schema allows only shortlist ids, so this only tops up after duplicates were removed.
    for (const r of ranking.lenses) {
      if (lenses.length >= 2) break;
      if (!seen.has(r.lens.id)) {
        seen.add(r.lens.id);
        lenses.push({ id: r.lens.id, name: r.lens.name, match_score: 0.5, reason: r.lens.summary });
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
    { signal }: StepContext,
  ): Promise<LensAnalysis> {
    const system = analysisSystem(runLenses);
    const opening: Anthropic.MessageParam = {
      role: "user",
      content: [problemContent(problem), { type: "text", text: prompts.analyzeTask(lens) }],
    };
    const draft = await callStructured(client, {
      step: `analyze_with_lens (${lens.id})`,
      model: models.analyze,
      maxTokens,
      signal,
      schema: LensAnalysisOutput,
      system,
      messages: [opening],
    });
    let beliefs = draft.data;
    let verdict = await judge(problem, lens, beliefs, signal);
    let refined = false;
    if (verdict.scores.overall < qualityBar) {
      const better = await callStructured(client, {
        step: `refine_lens_analysis (${lens.id})`,
        model: models.analyze,
        maxTokens,
        signal,
        schema: LensAnalysisOutput,
        system,
        messages: [
          opening,
          { role: "assistant", content: JSON.stringify(beliefs) },
          { role: "user", content: prompts.refineTask(lens, verdict.critique, verdict.scores.overall) },
        ],
      });
      beliefs = better.data;
      verdict = await judge(problem, lens, beliefs, signal);
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
    problem: Problem,
    lens: Lens,
    draft: LensAnalysisOutput,
    signal: AbortSignal,
  ): Promise<JudgeOutput> {
    const { data } = await callStructured(client, {
      step: `judge_lens_analysis (${lens.id})`,
      model: models.judge,
      maxTokens: 1024,
      signal,
      schema: JudgeOutput,
      system: [{ type: "text", text: prompts.JUDGE_INSTRUCTIONS }],
      messages: [
        { role: "user", content: `${prompts.problemBlock(problem)}\n\n${prompts.judgeTask(lens, draft)}` },
      ],
    });
    return data;
  }

  async function synthesize(
    { problem, suggestion, analyses }: SynthesizeRequest,
    { signal }: StepContext,
  ): Promise<Synthesis> {
    const runLenses = analyses.map((a) => catalogue.require(a.lens_id));
    const ids = idEnum(runLenses.map((l) => l.id));
    const schema = SynthesisOutput.extend({
      root_cause: SynthesisOutput.shape.root_cause.extend({ lens_id: ids }),
      insights: SynthesisOutput.shape.insights.element.extend({ lens_id: ids }).array().min(1),
    });
    const { data } = await callStructured(client, {
      step: "synthesize_solution",
      model: models.synthesize,
      maxTokens,
      signal,
      schema,
      system: [
        { type: "text", text: prompts.SYNTHESIZE_INSTRUCTIONS },
        { type: "text", text: prompts.lensCards(runLenses), cache_control: EPHEMERAL },
      ],
      messages: [
        {
          role: "user",
          content: [
            problemContent(problem),
            { type: "text", text: prompts.synthesizeTask(suggestion, analyses) },
          ],
        },
      ],
    });
    return { source: "model", ...data };
  }

  return { name: "claude", suggest, analyze, synthesize };
}

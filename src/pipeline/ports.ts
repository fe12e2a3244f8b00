import type { Lens } from "../catalogue/schema.js";
import type { Ranking } from "../catalogue/search.js";
import type { Attempt } from "./attempts.js";
import type {
  CallUsage,
  FollowUp,
  LensAnalysis,
  ModelSynthesis,
  ModeSuggestion,
  OfflineSynthesis,
  Problem,
  RetroRequest,
  RetroSynthesis,
  Synthesis,
} from "./schemas.js";

/** Passed to every engine call; engines must stop work and reject when `signal` aborts. */
export interface StepContext {
  signal: AbortSignal;
  /** Engines that call a model report each call's token usage here, as the call completes. */
  recordUsage?(usage: CallUsage): void;
}

export interface SuggestRequest {
  problem: Problem;
  /** The catalogue index's ranking of this problem: evidence and hints for the engine's choice. */
  ranking: Ranking;
}

export interface AnalyzeRequest {
  problem: Problem;
  lens: Lens;
  /** Every lens of this run, in a fixed order (the same for each lens call, so prompts can share a cached prefix). */
  runLenses: Lens[];
}

/** A follow-up question asked in a thread that already has an analysis. */
export interface FollowUpRequest {
  problem: Problem;
  question: string;
  /** The run's lens analyses, in its order. */
  analyses: LensAnalysis[];
}

export interface SynthesizeRequest {
  problem: Problem;
  suggestion: ModeSuggestion;
  analyses: LensAnalysis[];
  /** The same ranking the suggestion step saw (offline synthesis orders lenses by its evidence). */
  ranking: Ranking;
  /** The earlier attempts to explain, one by one; when absent, those the problem names (`attemptsIn`). */
  attempts?: Attempt[];
}

/**
 * A thinking engine: the three pipeline steps. Two live in `src/engines/`: `claude` (model-written)
 * and `offline` (catalogue-only). Engines throw LensbotError subclasses on failure.
 */
export interface Engine {
  readonly name: "claude" | "offline";
  suggest(req: SuggestRequest, ctx: StepContext): Promise<ModeSuggestion>;
  analyze(req: AnalyzeRequest, ctx: StepContext): Promise<LensAnalysis>;
  /** A fresh synthesis (never the legacy shape, which only stored records have). */
  synthesize(req: SynthesizeRequest, ctx: StepContext): Promise<ModelSynthesis | OfflineSynthesis>;
  /** Answers a follow-up question through the lenses a run already applied. */
  followUp(req: FollowUpRequest, ctx: StepContext): Promise<FollowUp>;
  /** Across a period's analyses (retro digests): recurring patterns, systemic themes, questions. */
  retro(req: RetroRequest, ctx: StepContext): Promise<RetroSynthesis>;
}

export type StepName = "suggest" | "analyze" | "synthesize";

/**
 * Receives each result the moment it exists: the CLI prints it, the Slack publisher posts it.
 * Every method is optional and may be async; the pipeline awaits it, so a sink that throws fails the run.
 */
export interface Sink {
  suggestion?(suggestion: ModeSuggestion): void | Promise<void>;
  lensStarted?(lens: Lens): void | Promise<void>;
  lensDone?(analysis: LensAnalysis): void | Promise<void>;
  lensFailed?(lens: Lens, error: Error): void | Promise<void>;
  synthesisStarted?(): void | Promise<void>;
  synthesis?(synthesis: Synthesis): void | Promise<void>;
}

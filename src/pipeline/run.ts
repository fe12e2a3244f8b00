import pLimit from "p-limit";
import type { Catalogue } from "../catalogue/catalogue.js";
import type { Lens } from "../catalogue/schema.js";
import type { CatalogueIndex, Ranking } from "../catalogue/search.js";
import { CancelledError, StepTimeoutError } from "../errors.js";
import type { Engine, Sink, StepContext } from "./ports.js";
import type {
  AnalysisResult,
  CallUsage,
  LensAnalysis,
  ModeSuggestion,
  Problem,
  Synthesis,
} from "./schemas.js";

/** Per-step time limits in ms. */
export interface StepTimeouts {
  suggest: number;
  analyze: number;
  synthesize: number;
}

export const DEFAULT_TIMEOUTS: StepTimeouts = { suggest: 60_000, analyze: 180_000, synthesize: 180_000 };

export interface RunOptions {
  problem: Problem;
  catalogue: Catalogue;
  index: CatalogueIndex;
  engine: Engine;
  sink?: Sink;
  signal?: AbortSignal;
  /**
   * Lens ids chosen by the user (must exist in the catalogue): without a saved suggestion they
   * replace the engine's choice; with one, they are added to it (a follow-up such as "apply lens").
   */
  lensIds?: string[];
  /**
   * What earlier attempts or runs of this problem already saved (checkpoints): a saved step is not
   * run again, but its result still goes to the sink. A saved synthesis is kept only when it
   * covers exactly the run's analyses and no lens was analysed now.
   */
  saved?: {
    suggestion?: ModeSuggestion;
    analyses?: LensAnalysis[];
    synthesis?: Synthesis;
    /** The lens ids the saved synthesis covers. */
    synthesisOf?: string[];
  };
  /** How many lens analyses run at once. Default 4. */
  concurrency?: number;
  timeouts?: Partial<StepTimeouts>;
  /** Clock in ms, injectable for tests. Default `performance.now`. */
  now?: () => number;
}

/**
 * Runs one step under the run's AbortSignal and a time limit of `ms`.
 * @throws StepTimeoutError when the limit passes; CancelledError when the run is aborted.
 */
export async function step<T>(
  name: string,
  ms: number,
  parent: AbortSignal | undefined,
  recordUsage: (usage: CallUsage) => void,
  fn: (ctx: StepContext) => Promise<T>,
): Promise<T> {
  if (parent?.aborted) throw new CancelledError(parent.reason);
  const timeout = AbortSignal.timeout(ms);
  const signal = parent ? AbortSignal.any([parent, timeout]) : timeout;
  const aborted = new Promise<never>((_, reject) => {
    signal.addEventListener(
      "abort",
      () => reject(timeout.aborted ? new StepTimeoutError(name, ms) : new CancelledError(parent?.reason)),
      { once: true },
    );
  });
  aborted.catch(() => {}); // observed through the race below
  return Promise.race([fn({ signal, recordUsage }), aborted]);
}

/** The index's ranking of a problem: its text and its context (a thread transcript) together. */
export function rankProblem(index: CatalogueIndex, problem: Problem): Ranking {
  return index.rank([problem.text, problem.context ?? ""].join("\n"));
}

/** The user picked the lenses: keep the index's modes, and say the lenses were chosen by hand. */
function suggestionForChosen(lenses: Lens[], modes: ModeSuggestion["modes"]): ModeSuggestion {
  return {
    source: "chosen",
    modes,
    lenses: lenses.map((l) => ({ id: l.id, name: l.name, match_score: 1, reason: "Chosen by you." })),
  };
}

/**
 * The lens pipeline: suggest_thinking_mode → analyze_with_lens ×N (in parallel, bounded) →
 * synthesize_solution. Each result goes to `sink` as soon as it exists.
 *
 * A lens whose analysis fails is reported to the sink and listed in `failures`; the run goes on
 * with the others. If every lens fails, the first error is thrown.
 * @throws CancelledError, StepTimeoutError, or an engine's LensbotError.
 */
export async function runPipeline(options: RunOptions): Promise<AnalysisResult> {
  const { problem, catalogue, index, engine, sink = {}, signal } = options;
  const timeouts = { ...DEFAULT_TIMEOUTS, ...options.timeouts };
  const now = options.now ?? (() => performance.now());
  const started = now();
  const usage: CallUsage[] = [];
  const recordUsage = (u: CallUsage) => usage.push(u);
  const ranking = rankProblem(index, problem);

  const saved = options.saved ?? {};
  let suggestion: ModeSuggestion;
  if (saved.suggestion) {
    const known = new Set(saved.suggestion.lenses.map((l) => l.id));
    const added = (options.lensIds ?? [])
      .filter((id) => !known.has(id))
      .map((id) => catalogue.require(id))
      .map((l) => ({ id: l.id, name: l.name, match_score: 1, reason: "Added by you." }));
    suggestion = { ...saved.suggestion, lenses: [...saved.suggestion.lenses, ...added] };
  } else if (options.lensIds && options.lensIds.length > 0) {
    const chosen = options.lensIds.map((id) => catalogue.require(id));
    const modes = ranking.modes.slice(0, 2).map((m) => ({
      id: m.mode.id,
      name: m.mode.name,
      emoji: m.mode.emoji,
      match_score: m.match_score,
      reason: m.mode.description,
    }));
    suggestion = suggestionForChosen(chosen, modes);
  } else {
    suggestion = await step("suggest_thinking_mode", timeouts.suggest, signal, recordUsage, (ctx) =>
      engine.suggest({ problem, ranking }, ctx),
    );
  }
  await sink.suggestion?.(suggestion);

  const runLenses = suggestion.lenses.map((l) => catalogue.require(l.id));
  const limit = pLimit(Math.max(1, options.concurrency ?? 4));
  const failures: AnalysisResult["failures"] = [];
  const errors: Error[] = [];
  const done = new Map((saved.analyses ?? []).map((a) => [a.lens_id, a]));
  let analysedNow = 0;
  // A lens whose model step fails is left out (and listed); anything else that fails (cancelled,
  // or the sink could not save or post) fails the run, once every lens in flight has settled, so
  // a retry resumes from every checkpoint saved meanwhile instead of losing a lens for good.
  const settled = await Promise.allSettled(
    runLenses.map((lens) =>
      limit(async (): Promise<LensAnalysis | undefined> => {
        const earlier = done.get(lens.id);
        if (earlier) {
          await sink.lensDone?.(earlier);
          return earlier;
        }
        analysedNow++;
        await sink.lensStarted?.(lens);
        let analysis: LensAnalysis;
        try {
          analysis = await step(
            `analyze_with_lens (${lens.name})`,
            timeouts.analyze,
            signal,
            recordUsage,
            (ctx) => engine.analyze({ problem, lens, runLenses }, ctx),
          );
        } catch (err) {
          const error = err instanceof Error ? err : new Error(String(err));
          if (error instanceof CancelledError) throw error;
          errors.push(error);
          failures.push({ lens_id: lens.id, reason: error.message });
          await sink.lensFailed?.(lens, error);
          return undefined;
        }
        await sink.lensDone?.(analysis);
        return analysis;
      }),
    ),
  );
  const broken = settled.find((s) => s.status === "rejected");
  if (broken) throw broken.reason;
  const analyses = settled
    .map((s) => (s.status === "fulfilled" ? s.value : undefined))
    .filter((a): a is LensAnalysis => a !== undefined);
  if (analyses.length === 0 && errors[0]) throw errors[0];

  const ids = analyses.map((a) => a.lens_id);
  const covers = (of: readonly string[] | undefined) =>
    of !== undefined && of.length === ids.length && of.every((id) => ids.includes(id));
  let synthesis: Synthesis;
  if (saved.synthesis && analysedNow === 0 && covers(saved.synthesisOf)) {
    synthesis = saved.synthesis;
  } else {
    await sink.synthesisStarted?.();
    synthesis = await step("synthesize_solution", timeouts.synthesize, signal, recordUsage, (ctx) =>
      engine.synthesize({ problem, suggestion, analyses, ranking }, ctx),
    );
  }
  await sink.synthesis?.(synthesis);

  return {
    problem,
    engine: engine.name,
    suggestion,
    analyses,
    synthesis,
    failures,
    usage,
    elapsed_ms: Math.round(now() - started),
  };
}

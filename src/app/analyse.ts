import type { Catalogue } from "../catalogue/catalogue.js";
import type { CatalogueIndex } from "../catalogue/search.js";
import { ErrorCode, LensbotError, SlackError } from "../errors.js";
import type { Metrics } from "../ops/metrics.js";
import { prepareProblem } from "../pipeline/input.js";
import type { Engine, Sink } from "../pipeline/ports.js";
import { runPipeline, type StepTimeouts } from "../pipeline/run.js";
import { type AnalysisResult, type Problem, totalUsage } from "../pipeline/schemas.js";
import { type AnalysisJob, runFields } from "../queue/jobs.js";
import { respondEphemeral, ThreadPublisher } from "../slack/publisher.js";
import { buildTranscript, readThread } from "../slack/thread.js";
import type { Workspace, Workspaces } from "../slack/workspaces.js";
import type { RecordStore } from "../store/records.js";

/** What the use case needs; built once per worker process. */
export interface AnalyseDeps {
  /** Where each job's team is reached: its Web API client, bot id and people's names. */
  workspaces: Workspaces;
  store: RecordStore;
  catalogue: Catalogue;
  index: CatalogueIndex;
  engine: Engine;
  maxProblemChars: number;
  threadTokens: number;
  /** Lens analyses at once within one run. */
  concurrency: number;
  /** Per-step time limits (ms). */
  timeouts?: Partial<StepTimeouts>;
  logger: { info(o: object, msg?: string): void; error(o: object, msg?: string): void };
  sleep?: (ms: number) => Promise<void>;
  /** Show progress as a streamed task plan where Slack allows it (else the edited status message). */
  streaming?: boolean;
  /** Prometheus metrics: step durations and model usage. */
  metrics?: Metrics;
  /** Called once a run is done (e.g. to refresh the person's App Home); its failure is only logged. */
  onDone?: (job: AnalysisJob, workspace: Workspace) => Promise<void>;
}

/** One attempt at a job: who is running it, and the signal that stops it. */
export interface Attempt {
  /** Unique to this attempt (the queue's lock token): slot claims carry it. */
  owner: string;
  signal: AbortSignal;
}

const THREAD_QUESTION = "What is going wrong in this thread, and what should the team do next?";

/** A message for people: the coded message when we have one, never raw error text. */
export function userMessage(err: unknown): string {
  if (err instanceof LensbotError && err.code !== ErrorCode.Internal) return err.message;
  return "Something went wrong while analysing this thread.";
}

/**
 * The application service behind every entry point that analyses a thread (`/lens`, @mention,
 * shortcut, DM, apply-lens, retry): read the thread → run the pipeline → publish, as a
 * checkpointed state machine in Redis. Each step's result is saved the moment it exists, so an
 * attempt that was retried, stalled or handed back continues from the last checkpoint and never
 * calls the model for a saved step. Follow-ups (apply a lens, retry) extend the saved run.
 * The queue adapter around it only parses the job, serialises runs and decides about retries.
 */
export class AnalyseThread {
  readonly #deps: AnalyseDeps;

  constructor(deps: AnalyseDeps) {
    this.#deps = deps;
  }

  #publisher(job: AnalysisJob, owner: string, { client }: Workspace): ThreadPublisher {
    const { store, catalogue, sleep } = this.#deps;
    const stream = this.#deps.streaming
      ? { userId: job.userId, ...(job.teamId && { teamId: job.teamId }) }
      : undefined;
    return new ThreadPublisher(
      {
        client,
        store,
        catalogue,
        owner,
        ...(sleep && { sleep }),
        ...(stream && { stream }),
        ...(job.assistantThread && { assistantThread: true }),
      },
      {
        runId: job.runId,
        channel: job.channel,
        threadTs: job.threadTs,
        ...(job.teamId && { teamId: job.teamId }),
      },
    );
  }

  /**
   * Runs (or continues) the analysis of `job`, posting into its thread.
   * @throws LensbotError (coded: `retryable` says whether a later attempt may succeed), or
   *   CancelledError when `attempt.signal` aborts; progress made so far stays saved.
   */
  async run(job: AnalysisJob, attempt: Attempt): Promise<AnalysisResult> {
    const { store } = this.#deps;
    await store.createRun(job);
    const saved = await store.getRun(job.runId);
    const workspace = await this.#deps.workspaces.get(job.teamId);
    const publisher = this.#publisher(job, attempt.owner, workspace);
    const resuming =
      saved !== undefined &&
      saved.status !== "queued" &&
      saved.status !== "done" &&
      saved.status !== "failed";
    if (!saved?.suggestion) publisher.progress(() => ({ phase: "suggesting", lenses: [] }));
    if (resuming) {
      publisher.progress((s) => ({ ...s, note: "Resuming where the last attempt stopped." }));
    }
    try {
      let problem = saved?.problem;
      if (!problem) {
        problem = await this.#problem(job, workspace);
        await store.saveProblem(job.runId, problem);
      }
      if (!saved?.suggestion) await store.setStatus(job.runId, "suggesting");
      const result = await runPipeline({
        problem,
        catalogue: this.#deps.catalogue,
        index: this.#deps.index,
        engine: this.#deps.engine,
        sink: this.#timed(this.#checkpointing(job.runId, publisher.sink(problem.notes))),
        concurrency: this.#deps.concurrency,
        signal: attempt.signal,
        ...(this.#deps.timeouts && { timeouts: this.#deps.timeouts }),
        ...(job.lensIds && { lensIds: job.lensIds }),
        ...(saved && {
          saved: {
            ...(saved.suggestion && { suggestion: saved.suggestion }),
            analyses: saved.analyses,
            ...(saved.synthesis && { synthesis: saved.synthesis }),
            ...(saved.synthesisOf && { synthesisOf: saved.synthesisOf }),
          },
        }),
      });
      for (const u of result.usage) this.#deps.metrics?.modelUsage(u);
      await publisher.drain();
      await store.setStatus(job.runId, "done");
      await publisher.clearError();
      this.#deps.logger.info(
        {
          ...runFields(job),
          elapsedMs: result.elapsed_ms,
          tokens: totalUsage(result.usage),
        },
        "analysis done",
      );
      await this.#deps
        .onDone?.(job, workspace)
        .catch((err: unknown) =>
          this.#deps.logger.error({ err, ...runFields(job) }, "after-run hook failed"),
        );
      return result;
    } catch (err) {
      // No stale post may race a retry or the error card.
      await publisher.drain().catch(() => {});
      throw err;
    }
  }

  /**
   * Answers a follow-up question asked in the thread of a finished run, through the lenses it
   * applied (one engine call), as a reply in the thread. A run still without analyses gets a note
   * to ask again once it has them.
   * @throws what the engine or Slack throws (the job is retried).
   */
  async followUp(job: AnalysisJob, attempt: Attempt): Promise<void> {
    const publisher = this.#publisher(job, attempt.owner, await this.#deps.workspaces.get(job.teamId));
    const key = job.questionTs ?? String(job.requestedAt);
    const record = await this.#deps.store.getRun(job.runId);
    if (!record?.problem || record.analyses.length === 0) {
      await publisher.publish(`followup:${key}`, [
        {
          text: "The analysis of this thread has not finished yet.",
          blocks: [
            {
              type: "section",
              text: {
                type: "mrkdwn",
                text: "The analysis of this thread has not finished yet: ask again once its cards are here.",
              },
            },
          ],
        },
      ]);
      return;
    }
    const answer = await this.#deps.engine.followUp(
      { problem: record.problem, question: job.question, analyses: record.analyses },
      { signal: attempt.signal, recordUsage: (u) => this.#deps.metrics?.modelUsage(u) },
    );
    await publisher.followUp(key, answer, job.question);
    this.#deps.logger.info(runFields(job), "follow-up answered");
  }

  /**
   * A sink that saves each result (awaited: a checkpoint exists before the run moves on) and
   * moves the state machine, then hands the result to `next` (the thread publisher).
   */
  /** Times each step for the metrics (a lens from its start to its analysis); passes everything on. */
  #timed(next: Sink): Sink {
    const metrics = this.#deps.metrics;
    if (!metrics) return next;
    const began = Date.now();
    const lensBegan = new Map<string, number>();
    let synthesisBegan = began;
    return {
      ...next,
      suggestion: (s) => {
        metrics.stepDuration("suggest", Date.now() - began);
        return next.suggestion?.(s);
      },
      lensStarted: (lens) => {
        lensBegan.set(lens.id, Date.now());
        return next.lensStarted?.(lens);
      },
      lensDone: (a) => {
        const at = lensBegan.get(a.lens_id);
        if (at !== undefined) metrics.stepDuration("analyze", Date.now() - at);
        return next.lensDone?.(a);
      },
      synthesisStarted: () => {
        synthesisBegan = Date.now();
        return next.synthesisStarted?.();
      },
      synthesis: (s) => {
        metrics.stepDuration("synthesize", Date.now() - synthesisBegan);
        return next.synthesis?.(s);
      },
    };
  }

  #checkpointing(runId: string, next: Sink): Sink {
    const { store } = this.#deps;
    return {
      ...next,
      suggestion: async (s) => {
        await store.saveSuggestion(runId, s);
        await store.setStatus(runId, "analysing");
        await next.suggestion?.(s);
      },
      lensDone: async (a) => {
        await store.saveAnalysis(runId, a);
        await next.lensDone?.(a);
      },
      synthesisStarted: async () => {
        await store.setStatus(runId, "synthesising");
        await next.synthesisStarted?.();
      },
      synthesis: async (s) => {
        const run = await store.getRun(runId);
        await store.saveSynthesis(runId, s, run?.analyses.map((a) => a.lens_id) ?? []);
        await next.synthesis?.(s);
      },
    };
  }

  /**
   * Shows in the thread that the run waits for a later attempt (e.g. the model service is busy),
   * without failing it.
   */
  async willRetry(job: AnalysisJob, owner: string, note: string): Promise<void> {
    await this.#deps.store.setStatus(job.runId, "queued", note);
    const publisher = this.#publisher(job, owner, await this.#deps.workspaces.get(job.teamId));
    await publisher.status((s) => ({ ...s, note }));
  }

  /**
   * Ends a run that cannot succeed: an error card with a reference id and a Retry button, the
   * status line marked failed, and the record `failed`. Safe to call twice (slots are idempotent).
   */
  async fail(job: AnalysisJob, err: unknown, owner: string): Promise<void> {
    let workspace: Workspace;
    try {
      workspace = await this.#deps.workspaces.get(job.teamId);
    } catch (wsErr) {
      if (!(wsErr instanceof LensbotError && wsErr.code === ErrorCode.SlackNotInstalled)) throw wsErr;
      // Uninstalled: no one in that workspace can be told any more.
      await this.#deps.store.setStatus(job.runId, "failed");
      this.#deps.logger.info(runFields(job), "run dropped: lensbot is not installed there");
      return;
    }
    const publisher = this.#publisher(job, owner, workspace);
    if (job.trigger === "follow_up") {
      // The run itself stays as it was; only this answer failed.
      const key = job.questionTs ?? String(job.requestedAt);
      const text = `Sorry, I could not answer that follow-up: ${userMessage(err)} (reference ${job.runId.slice(-8)})`;
      await publisher.publish(`followup:${key}`, [
        { text, blocks: [{ type: "section", text: { type: "mrkdwn", text } }] },
      ]);
      return;
    }
    try {
      await publisher.error(job.runId, userMessage(err));
      await publisher.failed("See the message below.");
    } catch (postErr) {
      // The thread refuses the error card too (lensbot was removed, the channel archived): tell
      // the person who asked through their response URL, which needs no membership.
      if (!(postErr instanceof SlackError) || postErr.retryable || !job.responseUrl) throw postErr;
      await respondEphemeral(job.responseUrl, `${userMessage(postErr)} (reference ${job.runId.slice(-8)})`);
    } finally {
      await this.#deps.store.setStatus(job.runId, "failed");
    }
  }

  async #problem(job: AnalysisJob, { client, names: people, botId }: Workspace): Promise<Problem> {
    const deps = this.#deps;
    const notes = job.notes ?? [];
    if (!job.readThread) return prepareProblem(job.question, { maxChars: deps.maxProblemChars, notes });
    const { messages, unread } = await readThread(client, job.channel, job.threadTs, {
      ...(job.questionTs && { questionTs: job.questionTs }),
    });
    const userIds = [
      ...new Set(
        messages.flatMap((m) => [m.user, ...[...m.text.matchAll(/<@([UW][A-Z0-9]+)/g)].map((x) => x[1])]),
      ),
    ];
    const names = new Map<string, string>();
    for (const id of userIds) if (id) names.set(id, await people.name(id));
    const transcript = buildTranscript(messages, names, {
      budgetTokens: deps.threadTokens,
      ...(botId && { ownBotId: botId }),
      ...(job.questionTs && { questionTs: job.questionTs }),
      unread,
    });
    const question = job.question.trim() || THREAD_QUESTION;
    return prepareProblem(question, {
      maxChars: deps.maxProblemChars,
      context: transcript.text,
      notes: [...notes, ...transcript.notes],
    });
  }
}

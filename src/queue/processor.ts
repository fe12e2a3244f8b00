import { randomUUID } from "node:crypto";
import { DelayedError, type Job, UnrecoverableError, WaitingError } from "bullmq";
import type { AnalyseThread } from "../app/analyse.js";
import { CancelledError, ErrorCode, LensbotError } from "../errors.js";
import type { RecordStore } from "../store/records.js";
import { type AnalysisJob, AnalysisJobSchema, runFields } from "./jobs.js";
import { retryDelay } from "./queue.js";

/** What the processor needs; built once per worker process. */
export interface ProcessorDeps {
  analyse: AnalyseThread;
  store: RecordStore;
  logger: { info(o: object, msg?: string): void; error(o: object, msg?: string): void };
  /** True once the process is shutting down: a cancelled job is handed back, not failed. */
  shuttingDown?: () => boolean;
  now?: () => number;
  /** How long a run's lock lasts without renewal (ms); follow-ups of a locked run wait. Default 30 s. */
  runLockMs?: number;
  /** How long a follow-up waits before it looks again whether its run is free (ms). Default 2 s. */
  busyRunDelayMs?: number;
  /** The delay before a retry (ms), as the worker's backoff computes it; default `retryDelay`. */
  retryDelay?: (attempt: number, err: unknown) => number;
}

/**
 * The BullMQ processor for analysis jobs: a thin adapter around the `AnalyseThread` use case.
 * - Parses the payload (an invalid one fails at once).
 * - Serialises the jobs of one run: a job whose run is held by another job is moved back to
 *   delayed and looks again shortly, so follow-ups (apply lens, retry, a second trigger) queue
 *   behind the running job and extend what it saved.
 * - Passes BullMQ's AbortSignal down. A job cancelled because the worker is shutting down is
 *   handed back to the queue (it continues from its checkpoints elsewhere), not failed.
 * - Decides about retries in one place: a retryable error is thrown for BullMQ's backoff (and
 *   the thread says a retry is coming); a final one, or the last attempt, posts the error card.
 */
export function createProcessor(deps: ProcessorDeps) {
  const now = deps.now ?? Date.now;
  const lockMs = deps.runLockMs ?? 30_000;
  return async (
    job: Job,
    token?: string,
    signal?: AbortSignal,
  ): Promise<{ runId: string; lenses: string[] }> => {
    const parsed = AnalysisJobSchema.safeParse(job.data);
    if (!parsed.success) {
      deps.logger.error({ jobId: job.id, issues: parsed.error.issues }, "invalid analysis job payload");
      throw new UnrecoverableError("invalid job payload");
    }
    const payload = parsed.data;
    // Unique to this call: BullMQ hands a finishing job's token to the next job it fetches, so a
    // later attempt of this very job may carry the same token, and must not pass for this one.
    const owner = `${token ?? job.id}:${randomUUID()}`;
    if (!(await deps.store.lockRun(payload.runId, owner, lockMs))) {
      await job.moveToDelayed(now() + (deps.busyRunDelayMs ?? 2_000), token);
      throw new DelayedError();
    }
    const renew = setInterval(
      () => void deps.store.lockRun(payload.runId, owner, lockMs).catch(() => {}),
      lockMs / 3,
    );
    try {
      const attempt = { owner, signal: signal ?? new AbortController().signal };
      if (payload.trigger === "follow_up") {
        await deps.analyse.followUp(payload, attempt);
        return { runId: payload.runId, lenses: [] };
      }
      const result = await deps.analyse.run(payload, attempt);
      return { runId: payload.runId, lenses: result.analyses.map((a) => a.lens_id) };
    } catch (err) {
      if (err instanceof CancelledError && deps.shuttingDown?.()) {
        deps.logger.info({ ...runFields(payload), jobId: job.id }, "handed back at shutdown");
        await job.moveToWait(token);
        throw new WaitingError();
      }
      const attempts = job.opts.attempts ?? 1;
      const retryable = !(err instanceof LensbotError) || err.retryable;
      const final = !retryable || job.attemptsMade + 1 >= attempts;
      deps.logger.error(
        {
          err,
          ...runFields(payload),
          jobId: job.id,
          attempt: job.attemptsMade + 1,
          final,
        },
        "analysis failed",
      );
      if (final) {
        await failRun(deps, payload, err, owner);
        throw new UnrecoverableError(err instanceof Error ? err.message : String(err));
      }
      const delay = (deps.retryDelay ?? retryDelay)(job.attemptsMade + 1, err);
      const note =
        err instanceof LensbotError && err.code === ErrorCode.ModelUnavailable
          ? `The model service is busy; retrying in ${Math.round(delay / 1000)} s.`
          : `Something failed on the way; retrying in ${Math.round(delay / 1000)} s.`;
      await deps.analyse.willRetry(payload, owner, note).catch(() => {});
      throw err;
    } finally {
      clearInterval(renew);
      await deps.store.unlockRun(payload.runId, owner).catch(() => {});
    }
  };
}

/** Posts the error card for a run that failed for good; a failure to post is only logged. */
async function failRun(deps: ProcessorDeps, job: AnalysisJob, err: unknown, owner: string): Promise<void> {
  try {
    await deps.analyse.fail(job, err, owner);
  } catch (postErr) {
    deps.logger.error({ err: postErr, ...runFields(job) }, "could not post the failure message");
  }
}

/**
 * For the worker's `failed` event: a job that failed without the processor finishing it (it
 * stalled past `maxStalledCount`, or its worker died on the last attempt) still gets its error
 * card and a failed record. Runs the processor already failed are left alone.
 */
export function createFailedHandler(deps: ProcessorDeps) {
  return async (job: Job | undefined, err: Error): Promise<void> => {
    if (!job) return;
    const parsed = AnalysisJobSchema.safeParse(job.data);
    if (!parsed.success) return;
    // The event also fires for attempts that will be retried; only a job that stays failed counts.
    if ((await job.getState().catch(() => "unknown")) !== "failed") return;
    const run = await deps.store.getRun(parsed.data.runId).catch(() => undefined);
    if (!run || run.status === "failed" || run.status === "done") return;
    deps.logger.error(
      { err: err.message, ...runFields(parsed.data), jobId: job.id },
      "analysis failed outside the processor",
    );
    await failRun(deps, parsed.data, err, `failed:${job.id}`);
  };
}

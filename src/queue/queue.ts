import { type ConnectionOptions, type Job, Queue, Worker } from "bullmq";
import { ANALYSIS_QUEUE, type AnalysisJob, AnalysisJobSchema } from "./jobs.js";

/** Attempts per job: covers worker crashes, stalls and Slack or Redis hiccups (model calls retry in the SDK). */
export const JOB_ATTEMPTS = 3;

/**
 * The analysis queue. Jobs are deduplicated by `jobId` (see `dedupeKey`): adding a job whose id
 * is still present is a no-op, which is how Slack's event retries never run twice. Finished jobs
 * are kept for a day (so late duplicates are still recognised), failed ones for a week.
 */
export function createAnalysisQueue(connection: ConnectionOptions, prefix = "bull"): Queue {
  return new Queue(ANALYSIS_QUEUE, {
    connection,
    prefix,
    defaultJobOptions: {
      attempts: JOB_ATTEMPTS,
      backoff: { type: "exponential", delay: 2_000 },
      removeOnComplete: { age: 86_400, count: 10_000 },
      removeOnFail: { age: 7 * 86_400 },
    },
  });
}

/**
 * Validates and enqueues one analysis. BullMQ ignores an add whose `jobId` is still present, so
 * a duplicate delivery is a no-op.
 * @throws ZodError for an invalid payload; Redis errors as they come.
 */
export async function enqueueAnalysis(queue: Queue, jobId: string, payload: AnalysisJob): Promise<void> {
  await queue.add(payload.trigger, AnalysisJobSchema.parse(payload), { jobId });
}

/** Starts a worker on the analysis queue. Close it with `worker.close()` (waits for running jobs). */
export function createAnalysisWorker(
  connection: ConnectionOptions,
  processor: (job: Job) => Promise<unknown>,
  options: { concurrency?: number; prefix?: string } = {},
): Worker {
  return new Worker(ANALYSIS_QUEUE, processor, {
    connection,
    prefix: options.prefix ?? "bull",
    concurrency: options.concurrency ?? 4,
    // Long model calls must not look like stalls: renew the lock well within its duration.
    lockDuration: 60_000,
    maxStalledCount: 2,
  });
}

import { type ConnectionOptions, type Job, Queue, Worker } from "bullmq";
import { ErrorCode, LensbotError } from "../errors.js";
import { ANALYSIS_QUEUE, type AnalysisJob, AnalysisJobSchema } from "./jobs.js";

/**
 * Attempts per job. Retries live here, one layer per kind of call: the Anthropic SDK retries a
 * model call (408/409/429/5xx) a couple of times within seconds; when the model service stays
 * busy, the job is retried here over minutes (see `retryDelay`), from its checkpoints. Slack
 * calls are not retried by the Web API client; a failed one fails the attempt.
 */
export const JOB_ATTEMPTS = 6;

/**
 * How long to wait before attempt `attempt + 1` (ms): a busy or unreachable model service backs
 * off from 10 s, doubling, up to 5 minutes (an outage of several minutes is ridden out without
 * anyone pressing Retry); anything else from 2 s, doubling, up to 1 minute.
 */
export function retryDelay(attempt: number, err: unknown): number {
  const model =
    err instanceof LensbotError &&
    (err.code === ErrorCode.ModelUnavailable || err.code === ErrorCode.StepTimeout);
  const base = model ? 10_000 : 2_000;
  return Math.min(base * 2 ** Math.max(0, attempt - 1), model ? 300_000 : 60_000);
}

/**
 * Model calls one analysis makes with the default three lenses: suggest, then analyze and judge
 * per lens, then synthesize (a lens judged below the quality bar adds a refinement and a second
 * judgement). A follow-up that applies one lens makes about three.
 */
export const MODEL_CALLS_PER_ANALYSIS = 8;

/**
 * BullMQ's limiter for a budget of model calls: at most ⌊callsPerMinute ÷ 8⌋ jobs start per
 * `durationMs` (default a minute), counted in Redis and so shared by every worker of the queue.
 * Set it to the organisation's Messages API request limit; the jobs beyond it wait in the queue
 * instead of failing on 429s. An estimate: jobs that resume from checkpoints or apply one lens
 * call the model less than a fresh analysis.
 */
export function modelRateLimit(
  callsPerMinute: number,
  durationMs = 60_000,
): { max: number; duration: number } {
  return { max: Math.max(1, Math.floor(callsPerMinute / MODEL_CALLS_PER_ANALYSIS)), duration: durationMs };
}

/**
 * The BullMQ prefix for a deployment's key prefix: a hash tag, so every key of the queue lands in
 * one Redis Cluster slot (BullMQ's scripts touch several of them at once).
 */
export function queuePrefix(redisPrefix: string): string {
  return `{${redisPrefix}:bull}`;
}

/**
 * The analysis queue. Jobs are deduplicated by `jobId` (see `dedupeKey`): adding a job whose id
 * is still present is a no-op, which is how Slack's event retries never run twice. Finished jobs
 * are kept for a day (so late duplicates are still recognised), failed ones for a week.
 */
export function createAnalysisQueue(
  connection: ConnectionOptions,
  prefix = "bull",
  options: { attempts?: number } = {},
): Queue {
  return new Queue(ANALYSIS_QUEUE, {
    connection,
    prefix,
    defaultJobOptions: {
      attempts: options.attempts ?? JOB_ATTEMPTS,
      backoff: { type: "lensbot" },
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

/**
 * Starts a worker on the analysis queue. Close it with `worker.close()` (waits for running jobs).
 * Jobs mostly wait on the model, so one process runs many at once (`concurrency`, default 32);
 * what bounds throughput is the model's rate limit, given as `limiter` (see `modelRateLimit`).
 */
export function createAnalysisWorker(
  connection: ConnectionOptions,
  processor: (job: Job, token?: string, signal?: AbortSignal) => Promise<unknown>,
  options: {
    concurrency?: number;
    prefix?: string;
    stalledIntervalMs?: number;
    lockDurationMs?: number;
    /** Jobs started per duration (ms) across all workers of the queue; none by default. */
    limiter?: { max: number; duration: number };
    /** Delay before the next attempt (ms); default `retryDelay`. */
    retryDelay?: (attempt: number, err: unknown) => number;
  } = {},
): Worker {
  const delay = options.retryDelay ?? retryDelay;
  return new Worker(ANALYSIS_QUEUE, processor, {
    connection,
    prefix: options.prefix ?? "bull",
    concurrency: options.concurrency ?? 32,
    ...(options.limiter && { limiter: options.limiter }),
    // Long model calls must not look like stalls: renew the lock well within its duration.
    lockDuration: options.lockDurationMs ?? 60_000,
    ...(options.stalledIntervalMs && { stalledInterval: options.stalledIntervalMs }),
    maxStalledCount: 2,
    settings: {
      backoffStrategy: (attemptsMade: number, _type?: string, err?: Error) => delay(attemptsMade, err),
    },
  });
}

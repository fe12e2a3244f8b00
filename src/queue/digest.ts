import { type ConnectionOptions, type Job, Queue, Worker } from "bullmq";
import { z } from "zod";
import { cronPattern, type DigestConfig } from "../digest/config.js";

/** The BullMQ queue of retro digests (beside the analysis queue, under the same prefix). */
export const DIGEST_QUEUE = "digest";

/** Payload of one digest job; the scheduler's template carries only team and channel. */
export const DigestJobSchema = z.object({
  team: z.string().min(1),
  channel: z.string().min(1),
  /** For `/lens digest now`: the period to report on (scheduled jobs take it from their fire time). */
  period: z.object({ start: z.number().int(), end: z.number().int() }).optional(),
  /** Who asked for a digest now, and where to tell them if it cannot be posted. */
  requestedBy: z.string().optional(),
  responseUrl: z.url().optional(),
});
export type DigestJob = z.infer<typeof DigestJobSchema>;

/** The id of a channel's job scheduler: one per (team, channel), so reconfiguring replaces it. */
export function digestSchedulerId(team: string, channel: string): string {
  return `digest-${team}-${channel}`;
}

/**
 * The digest queue. Attempts back off from 30 s (a digest that fails because Slack or the model
 * is briefly away is posted a little later, not lost); finished jobs are kept a week.
 */
export function createDigestQueue(connection: ConnectionOptions, prefix = "bull"): Queue {
  return new Queue(DIGEST_QUEUE, {
    connection,
    prefix,
    defaultJobOptions: {
      attempts: 5,
      backoff: { type: "exponential", delay: 30_000 },
      removeOnComplete: { age: 7 * 86_400 },
      removeOnFail: { age: 30 * 86_400 },
    },
  });
}

/**
 * Creates or replaces the channel's job scheduler: a cron pattern read in the config's time zone
 * (see `cronPattern`). Upserting the same id is idempotent, so there is only ever one per channel;
 * BullMQ keeps it in Redis, so it survives restarts of the app and the workers, and the job of
 * each fire has an id of its own (`repeat:<scheduler id>:<fire ms>`), so a fire runs once however
 * many workers there are.
 * @throws Redis errors as they come.
 */
export async function scheduleDigest(queue: Queue, config: DigestConfig): Promise<void> {
  const data: DigestJob = { team: config.team, channel: config.channel };
  await queue.upsertJobScheduler(
    digestSchedulerId(config.team, config.channel),
    { pattern: cronPattern(config), tz: config.tz },
    { name: "scheduled", data },
  );
}

/** Removes the channel's job scheduler (and its next job). @returns whether there was one. */
export async function unscheduleDigest(queue: Queue, team: string, channel: string): Promise<boolean> {
  return queue.removeJobScheduler(digestSchedulerId(team, channel));
}

/**
 * Enqueues a digest of `payload.period` now (`/lens digest now`). `jobId` comes from the trigger,
 * so Slack's retry of the same command adds nothing.
 * @throws ZodError for an invalid payload; Redis errors as they come.
 */
export async function enqueueDigestNow(queue: Queue, jobId: string, payload: DigestJob): Promise<void> {
  await queue.add("now", DigestJobSchema.parse(payload), { jobId, attempts: 3 });
}

/** Starts a worker on the digest queue. Digests are rare and mostly wait on I/O: a few at a time. */
export function createDigestWorker(
  connection: ConnectionOptions,
  processor: (job: Job, token?: string, signal?: AbortSignal) => Promise<unknown>,
  options: { prefix?: string; concurrency?: number } = {},
): Worker {
  return new Worker(DIGEST_QUEUE, processor, {
    connection,
    prefix: options.prefix ?? "bull",
    concurrency: options.concurrency ?? 4,
    lockDuration: 60_000,
    maxStalledCount: 2,
  });
}

import { randomUUID } from "node:crypto";
import { type Job, UnrecoverableError } from "bullmq";
import { collectDigest, digestId, permalinkFor, postDigest } from "../app/digest.js";
import type { Library } from "../catalogue/graph.js";
import { isOffWeek, periodEndingAt } from "../digest/config.js";
import { asLensbotError } from "../errors.js";
import type { LogSink } from "../logger.js";
import type { Engine } from "../pipeline/ports.js";
import { respondEphemeral } from "../slack/publisher.js";
import type { Workspaces } from "../slack/workspaces.js";
import type { DigestStore } from "../store/digests.js";
import type { RecordStore } from "../store/records.js";
import { DigestJobSchema } from "./digest.js";

export interface DigestProcessorDeps {
  /** Where each digest's team is reached (its Web API client). */
  workspaces: Workspaces;
  records: RecordStore;
  digests: DigestStore;
  library: Library;
  engine: Engine;
  logger: LogSink;
  now?: () => number;
  /** A scheduled digest that starts this long after its fire time (ms) is marked late. Default 10 min. */
  lateAfterMs?: number;
}

/** What one digest job did. */
export type DigestOutcome =
  | { posted: string; ts: string; analyses: number; late: boolean }
  | { skipped: "off" | "off-week" | "quiet" };

/**
 * The BullMQ processor for digest jobs.
 * - A scheduled job reports on the period that ends at its fire time (`job.opts.prevMillis`,
 *   which BullMQ sets on every job a scheduler adds); a `now` job on the period it carries.
 * - The digest is read from the channel's config at run time, so a job that fires after `off`
 *   (or on a biweekly digest's skipped week) does nothing, and sources changed since are used.
 * - Posting is idempotent per digest id (one per channel and period for scheduled digests), so
 *   a retried or stalled job edits what it posted. A job that starts more than `lateAfterMs`
 *   after its fire time (the workers were down) posts once, marked late.
 * - An empty period posts a short note, or nothing in quiet mode (`now` always answers).
 */
export function createDigestProcessor(deps: DigestProcessorDeps) {
  const now = deps.now ?? Date.now;
  const lateAfter = deps.lateAfterMs ?? 10 * 60_000;
  return async (job: Job, token?: string, signal?: AbortSignal): Promise<DigestOutcome> => {
    const parsed = DigestJobSchema.safeParse(job.data);
    if (!parsed.success) {
      deps.logger.error({ jobId: job.id, issues: parsed.error.issues }, "invalid digest job payload");
      throw new UnrecoverableError("invalid digest job payload");
    }
    const { team, channel, period: asked, responseUrl } = parsed.data;
    const log = { team, channel, jobId: job.id };
    try {
      const config = await deps.digests.get(team, channel);
      if (!config) {
        deps.logger.info(log, "digest is off; nothing posted");
        if (responseUrl) {
          await respondEphemeral(
            responseUrl,
            "The digest was turned off before I could post it, so I did not.",
          ).catch(() => {});
        }
        return { skipped: "off" };
      }
      const { client } = await deps.workspaces.get(team);
      let period = asked;
      let late = false;
      let id: string;
      if (period) {
        id = `digest-now-${(job.id ?? randomUUID()).slice(-24)}`;
      } else {
        const fire = job.opts.prevMillis ?? job.timestamp;
        if (isOffWeek(config, fire)) return { skipped: "off-week" };
        period = periodEndingAt(config, fire);
        late = now() - fire > lateAfter;
        id = digestId(team, channel, period.end);
      }
      const digest = await collectDigest(
        {
          records: deps.records,
          library: deps.library,
          engine: deps.engine,
          permalink: permalinkFor(client),
          logger: deps.logger,
          ...(signal && { signal }),
        },
        { team, channel, sources: config.sources, period, tz: config.tz, late },
      );
      if (digest.analyses.length === 0 && config.quiet && !asked) {
        deps.logger.info(log, "quiet digest: no analyses in the period, nothing posted");
        return { skipped: "quiet" };
      }
      const ts = await postDigest(
        {
          client,
          records: deps.records,
          digests: deps.digests,
          catalogue: deps.library.catalogue,
          owner: `${token ?? job.id}:${randomUUID()}`,
        },
        digest,
        id,
      );
      deps.logger.info({ ...log, digestId: id, analyses: digest.analyses.length, late }, "digest posted");
      return { posted: id, ts, analyses: digest.analyses.length, late };
    } catch (err) {
      const error = asLensbotError(err);
      const final = !error.retryable || job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      deps.logger.error({ ...log, err, attempt: job.attemptsMade + 1, final }, "digest failed");
      if (final && responseUrl) {
        await respondEphemeral(
          responseUrl,
          `Sorry, I could not post the digest: ${error.message} (reference ${String(job.id).slice(-8)})`,
        ).catch(() => {});
      }
      if (!error.retryable) throw new UnrecoverableError(error.message);
      throw err;
    }
  };
}

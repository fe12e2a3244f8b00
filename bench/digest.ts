/**
 * Retro digest benchmarks on the end-to-end harness (real BullMQ digest worker on the local
 * Redis, records written through the real RecordStore, the loopback fake of Slack's Web API,
 * offline engine).
 *
 * A channel's digest is fed 60 finished analyses in its period, 60 in the period before and 60
 * in the four before that (so lens trends and returning actions have something to compare).
 * 1. Build: reading the three windows from Redis, building the digest and its Block Kit, median of
 *    BUILD_RUNS (no Slack calls).
 * 2. Job: DIGEST_RUNS `/lens digest now` jobs, one after another; each figure is BullMQ's own
 *    processedOn → finishedOn of the job: records, 60 permalinks, the retro, the channel message
 *    and its thread reply. The Web API calls per digest are counted from the fake.
 */
import { collectDigest } from "../src/app/digest.js";
import { enqueueDigestNow } from "../src/queue/digest.js";
import { digestMessages } from "../src/slack/blocks/digest.js";
import { RecordStore } from "../src/store/records.js";
import { opened, startHarness, waitFor } from "../test/support/harness.js";
import { seedBusyPeriod } from "../test/support/records.js";

const BUILD_RUNS = 20;
const DIGEST_RUNS = 10;
const CHANNEL = "C0RETRO";
const DAY = 86_400_000;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

export async function benchDigest(): Promise<Record<string, number>> {
  const h = await startHarness();
  try {
    h.slack.addChannel(CHANNEL, "eng-retro");
    const store = new RecordStore(h.redis, { prefix: h.recordPrefix, ttlSeconds: 40 * 86_400 });
    const end = Date.now();
    const start = end - 7 * DAY;
    const seedPeriod = (from: number, to: number) => seedBusyPeriod(store, h.slack, CHANNEL, { from, to });
    await seedPeriod(start, end);
    await seedPeriod(start - 7 * DAY, start);
    await seedPeriod(start - 35 * DAY, start - 7 * DAY);
    await h.digests.save({
      team: "T0TEST",
      channel: CHANNEL,
      cadence: "weekly",
      weekday: 1,
      time: "09:00",
      tz: "Europe/Paris",
      sources: [CHANNEL],
      quiet: false,
      anchorMs: end,
      configuredBy: "U0ASKER",
      updatedAt: end,
    });

    const build: number[] = [];
    for (let i = 0; i < BUILD_RUNS; i++) {
      const t0 = performance.now();
      const digest = await collectDigest(
        { records: h.store, library: opened },
        { team: "T0TEST", channel: CHANNEL, sources: [CHANNEL], period: { start, end }, tz: "Europe/Paris" },
      );
      digestMessages(digest, "digest-bench");
      build.push(performance.now() - t0);
      if (digest.analyses.length !== 60)
        throw new Error(`expected 60 analyses, got ${digest.analyses.length}`);
    }

    const jobs: number[] = [];
    const callsBefore = h.slack.calls().length;
    for (let i = 0; i < DIGEST_RUNS; i++) {
      const id = `bench-digest-${i}`;
      await enqueueDigestNow(h.digestQueue, id, { team: "T0TEST", channel: CHANNEL, period: { start, end } });
      const job = await waitFor(
        async () => {
          const j = await h.digestQueue.getJob(id);
          return j?.finishedOn ? j : undefined;
        },
        30_000,
        "the digest job",
      );
      if (job.failedReason) throw new Error(`digest job failed: ${job.failedReason}`);
      jobs.push((job.finishedOn ?? 0) - (job.processedOn ?? 0));
    }
    return {
      "digest build from Redis + Block Kit, 60 analyses, median ms": Math.round(median(build)),
      "digest job (records, 60 permalinks, retro, post), median ms": median(jobs),
      "digest job max ms": Math.max(...jobs),
      "digest Web API calls per digest": Math.round((h.slack.calls().length - callsBefore) / DIGEST_RUNS),
    };
  } finally {
    await h.close();
  }
}

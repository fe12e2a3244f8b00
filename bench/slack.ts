/**
 * Slack-side benchmarks on the end-to-end harness (real Bolt HTTP receiver with signature checks,
 * real BullMQ on the local Redis, loopback fakes of the Slack Web API and the Anthropic API).
 *
 * 1. Ack latency of `/lens` (offline engine): ACK_REQUESTS signed slash commands with unique
 *    trigger ids and realistic problem texts, ACK_CONCURRENCY in flight at a time, sent by a
 *    separate load-generator process (bench/ack-load.ts), as Slack's requests come from outside.
 *    Each figure is the client-side time from sending the request to having read the ack. The
 *    first ACK_WARMUP requests are sent the same way but not counted: while the code is still
 *    being compiled acks take several times longer; their worst case is reported on its own as
 *    "ack cold start max ms". App, worker and the fake Slack share this process (as `npm start`
 *    runs app and worker together), so the worker's analyses of the acked commands compete with
 *    the acks for the event loop, which is what the p99 shows.
 * 2. The bot's own time on the critical path (Claude engine against the fake API): every model
 *    request is answered after a fixed MODEL_DELAY_MS with a valid answer (3 lenses, judge overall
 *    0.8 so no refinement). ANALYSIS_RUNS commands run one after another (plus one warm-up run
 *    that is not counted). For each run:
 *    - total: from sending `/lens` to the fake Slack receiving the synthesis `chat.postMessage`;
 *    - model time on the critical path: MODEL_DELAY_MS × the number of sequential model calls,
 *      i.e. suggest (1) + the longest lens chain (analyze + judge = 2; 4 if a lens was refined)
 *      + synthesize and its judge (2; 4 if the synthesis was refined). The chain length is taken
 *      from the run's recorded requests, which are also checked (1 suggest, 1 synthesize, 1
 *      synthesis judge, one analyze and judge per lens). This assumes the
 *      lens chains run in parallel, as the pipeline intends: if they did not, the extra model
 *      time shows up as overhead, which is what this figure is meant to catch;
 *    - overhead: total − model time (what the bot itself adds: ack, posting, Redis, queueing,
 *      worker pick-up, prompt building, parsing, validation, publishing the cards).
 *    The fake Slack stamps calls with ms since it started (its own performance.now origin), so its
 *    clock is calibrated against ours with the fastest of five extra `auth.test` round trips
 *    (error ≤ half of that round trip, well under 1 ms).
 */
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { dedupeKey } from "../src/queue/jobs.js";
import { answerFor } from "../test/fakes/json-schema-sample.js";
import type { FakeSlack } from "../test/fakes/slack.js";
import {
  BOT_TOKEN,
  type Harness,
  nextTriggerId,
  SIGNING_SECRET,
  slashCommand,
  startHarness,
  waitFor,
} from "../test/support/harness.js";

const run = promisify(execFile);
const ACK_REQUESTS = 500;
const ACK_WARMUP = 100;
const ACK_CONCURRENCY = 20;
const ANALYSIS_RUNS = 10;
const MODEL_DELAY_MS = 200;
const CHANNEL = "C0LENS";

const PROBLEMS = [
  "Our dashboard API is stuck at 350 ms p50 despite a Redis cache, rewritten queries, new indexes and a tuned connection pool. We need it under 150 ms and nobody has a trace of where the time goes.",
  "Deploys keep failing on Fridays: the pipeline is green on Thursday, then flaky integration tests and a manual approval step pile up and we roll back twice a month.",
  "Our on-call alerts are mostly ignored; 80% of pages auto-resolve within ten minutes and real incidents slip through because people have learned to snooze everything.",
  "Sales keeps discounting because customers are confused by our three pricing tiers, and finance says the average deal is now 30% below list.",
  "Two teams argue about who owns the billing service, so bugs bounce between backlogs for weeks and nothing ships.",
  "Our retros produce action items that nobody follows up; the same three problems have come up in every retro this quarter.",
  "Checkout latency doubled after the payments migration and the fraud service times out under load, but only in the EU region.",
  "Onboarding a new engineer takes six weeks before their first merged change because the local setup breaks and the docs are out of date.",
  "The mobile app's crash rate went from 0.3% to 1.2% after we moved to the new navigation library, and we cannot reproduce it on test devices.",
  "Our data warehouse bill tripled in a year; every team runs its own nightly full-table copies and nobody knows which dashboards are still used.",
];

/** A valid model answer: every string, unless it is an id or enum, is this text. */
const ANSWER_TEXT =
  "The team keeps adding capacity to the part of the system it can see, while the time is spent in a part nobody measures.";

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;

/** Nearest-rank percentile, p in (0, 100]. */
function percentile(xs: number[], p: number): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

const round1 = (x: number) => Math.round(x * 10) / 10;

/** Fails the benchmark when the processor logged an error: figures of a broken run mean nothing. */
function assertNoErrors(h: Harness, what: string): void {
  const errors = h.logged.filter((l) => l.level === "error");
  const first = errors[0];
  if (first)
    throw new Error(`${what}: the bot logged "${first.msg ?? "an error"}" (${errors.length} in all)`);
}

/**
 * Closes the harness, and also the worker's own Redis connection: the harness hands the worker a
 * connection that BullMQ treats as shared and does not close, which would keep the process alive.
 */
async function closeHarness(h: Harness): Promise<void> {
  await h.close();
  const connection = h.worker?.opts.connection as { disconnect?: () => void } | undefined;
  connection?.disconnect?.();
}

// ---- 1. ack latency ------------------------------------------------------------------------------

async function benchAck(): Promise<Record<string, number>> {
  const h = await startHarness({ engine: "offline" });
  try {
    const total = ACK_WARMUP + ACK_REQUESTS;
    // The load comes from another process, as Slack's requests would.
    const { stdout } = await run(
      process.execPath,
      [
        "--import",
        "tsx",
        fileURLToPath(new URL("./ack-load.ts", import.meta.url)),
        h.url,
        String(total),
        String(ACK_WARMUP),
        String(ACK_CONCURRENCY),
      ],
      { env: { ...process.env, SIGNING_SECRET }, maxBuffer: 16 * 1024 * 1024 },
    );
    const { latencies, cold } = JSON.parse(stdout) as { latencies: number[]; cold: number[] };

    // Every acked command must have become a job; then stop the backlog so closing is quick.
    await waitFor(
      async () => {
        const counts = await h.queue.getJobCounts();
        return Object.values(counts).reduce((a, b) => a + b, 0) >= total;
      },
      20_000,
      "every acked /lens to be enqueued",
    );
    await h.queue.drain();
    await waitFor(async () => (await h.queue.getActiveCount()) === 0, 20_000, "running analyses to finish");
    assertNoErrors(h, "ack benchmark");
    return {
      "ack p50 ms": round1(percentile(latencies, 50)),
      "ack p99 ms": round1(percentile(latencies, 99)),
      "ack cold start max ms": round1(Math.max(...cold)),
    };
  } finally {
    await closeHarness(h);
  }
}

// ---- 2. overhead per analysis --------------------------------------------------------------------

/**
 * Our performance.now() minus the fake Slack's call clock: the call is stamped between sending
 * and receiving the answer, so the midpoint of the fastest of a few auth.test round trips is off
 * by at most half that round trip (well under a millisecond once the connection is open).
 */
export async function slackClockOffset(slack: FakeSlack): Promise<number> {
  let best = { rtt: Number.POSITIVE_INFINITY, offset: 0 };
  for (let i = 0; i < 5; i++) {
    const before = performance.now();
    const res = await fetch(`${slack.apiUrl}auth.test`, {
      method: "POST",
      headers: { authorization: `Bearer ${BOT_TOKEN}` },
    });
    await res.text();
    const after = performance.now();
    const call = slack.calls("auth.test").at(-1);
    if (!call) throw new Error("calibration call not recorded");
    if (after - before < best.rtt) best = { rtt: after - before, offset: (before + after) / 2 - call.at };
  }
  return best.offset;
}

interface RunTiming {
  totalMs: number;
  modelMs: number;
}

async function oneAnalysis(h: Harness, i: number, offset: number): Promise<RunTiming> {
  const firstRequest = h.anthropic.requests.length;
  const triggerId = nextTriggerId();
  const runId = dedupeKey("cmd", triggerId);
  const sent = performance.now();
  const ack = await slashCommand(h.url, `${PROBLEMS[i % PROBLEMS.length]} (run ${i + 1})`, {
    trigger_id: triggerId,
  });
  if (ack.status !== 200) throw new Error(`/lens run ${i}: HTTP ${ack.status}`);
  const record = await waitFor(
    async () => {
      const r = await h.store.getRun(runId);
      if (r?.status === "failed") throw new Error(`run ${i} failed`);
      return r?.status === "done" ? r : undefined;
    },
    20_000,
    `run ${i} to finish`,
  );
  const synthesis = h.slack
    .calls("chat.postMessage")
    .find(
      (c) =>
        c.status === 200 &&
        c.args.channel === CHANNEL &&
        c.args.thread_ts === record.threadTs &&
        String(c.args.text).startsWith("Synthesis:"),
    );
  if (!synthesis) throw new Error(`run ${i}: no synthesis was posted`);

  const steps = h.anthropic.requests.slice(firstRequest).map((r) => r.step);
  const count = (step: string) => steps.filter((s) => s === step).length;
  const lenses = record.analyses.length;
  if (
    count("suggest") !== 1 ||
    count("synthesize") !== 1 ||
    count("judge-synthesis") !== 1 + count("refine-synthesis") ||
    lenses !== 3 ||
    count("analyze") !== lenses ||
    count("judge") !== lenses + count("refine") ||
    count("other") !== 0
  ) {
    throw new Error(`run ${i}: unexpected model calls ${JSON.stringify(steps)}`);
  }
  const longestChain = count("refine") > 0 ? 4 : 2;
  return {
    totalMs: synthesis.at + offset - sent,
    modelMs: MODEL_DELAY_MS * (1 + longestChain + 2 * (1 + count("refine-synthesis"))),
  };
}

async function benchOverhead(): Promise<Record<string, number>> {
  const h = await startHarness({ engine: "claude" });
  try {
    h.anthropic.respondWith((req) => ({
      kind: "json",
      value: answerFor(req.body.output_config?.format?.schema ?? {}, ANSWER_TEXT),
      delayMs: MODEL_DELAY_MS,
    }));
    const offset = await slackClockOffset(h.slack);
    await oneAnalysis(h, 0, offset); // warm-up, not counted
    const runs: RunTiming[] = [];
    for (let i = 1; i <= ANALYSIS_RUNS; i++) runs.push(await oneAnalysis(h, i, offset));
    assertNoErrors(h, "overhead benchmark");
    return {
      "analysis total median ms": Math.round(median(runs.map((r) => r.totalMs))),
      "model time on critical path ms": Math.round(median(runs.map((r) => r.modelMs))),
      "overhead per analysis ms": Math.round(median(runs.map((r) => r.totalMs - r.modelMs))),
    };
  } finally {
    await closeHarness(h);
  }
}

export async function benchSlack(): Promise<Record<string, number>> {
  return { ...(await benchAck()), ...(await benchOverhead()) };
}

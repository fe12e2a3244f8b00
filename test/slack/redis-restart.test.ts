/**
 * Redis going away and coming back, on a Redis of this test's own (AOF on, so a restart keeps
 * the data, as in production): runs in flight all complete once it returns, none twice; a /lens
 * sent while it is down is answered at once and never runs later.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { dedupeKey } from "../../src/queue/jobs.js";
import { answerFor } from "../fakes/json-schema-sample.js";
import { type Harness, postsPerSlot, slashCommand, startHarness, waitFor } from "../support/harness.js";
import { OwnRedis } from "../support/redis-server.js";

let redis: OwnRedis;
let h: Harness;

beforeAll(async () => {
  redis = await OwnRedis.start();
  h = await startHarness({
    engine: "claude",
    redisUrl: redis.url,
    attempts: 10,
    retryDelay: () => 300,
  });
  h.anthropic.respondWith((req) => ({
    kind: "json",
    value: answerFor(req.body.output_config?.format?.schema ?? {}, "A specific answer."),
    delayMs: 150,
  }));
}, 30_000);

afterAll(async () => {
  if (redis.running) await h.close().catch(() => {});
  await redis.remove();
});

/** What a run was doing, for a failure message: its record, its job and what the worker logged. */
async function whereIs(runId: string): Promise<string> {
  const run = await h.store.getRun(runId).catch(() => undefined);
  const job = await h.queue.getJob(runId).catch(() => undefined);
  return JSON.stringify({
    status: run?.status,
    job: await job?.getState(),
    attempts: job?.attemptsMade,
    failedReason: job?.failedReason,
    logged: h.logged
      .filter((l) => (l.obj as { runId?: string }).runId === runId)
      .map((l) => `${l.msg}: ${String((l.obj as { err?: unknown }).err)}`),
  });
}

it("completes every one of 20 runs once after a Redis restart, and drops a /lens sent while it was down", async () => {
  const triggers = Array.from({ length: 20 }, (_, i) => `restart-${i}`);
  for (const t of triggers) {
    await slashCommand(h.url, `Our deploys keep failing on Fridays, case ${t}`, { trigger_id: t });
  }
  const runIds = triggers.map((t) => dedupeKey("cmd", t));
  // Restart while the runs are in flight (every one of them enqueued: the listener enqueues after
  // its ack, so an enqueue still on its way when Redis stops is refused and the person told).
  await waitFor(
    async () => (await Promise.all(runIds.map((id) => h.queue.getJob(id)))).every(Boolean),
    10_000,
    "all 20 runs to be enqueued",
  );
  await waitFor(
    async () => (await h.store.getRun(runIds[0] as string))?.suggestion,
    10_000,
    "the first run to start",
  );
  await redis.stop();

  // While it is down: the person is answered at once, through the response URL.
  const t0 = performance.now();
  await slashCommand(h.url, "Our on-call is exhausted, what do we change?", {
    trigger_id: "while-down",
    response_url: h.slack.responseUrl("while-down"),
  });
  const notice = await waitFor(
    () => h.slack.responses().find((r) => r.id === "while-down"),
    5_000,
    "the notice",
  );
  expect(performance.now() - t0).toBeLessThan(3_000);
  expect(String(notice.body.text)).toContain("not reachable");

  await redis.restart();
  for (const runId of runIds) {
    await waitFor(
      async () => (await h.store.getRun(runId).catch(() => undefined))?.status === "done",
      60_000,
      `run ${runId} to complete`,
    ).catch(async (err) => {
      throw new Error(`${(err as Error).message}: ${await whereIs(runId)}`);
    });
    const posts = postsPerSlot(h, runId);
    for (const [slot, n] of posts) expect(n, `${runId} ${slot}: ${await whereIs(runId)}`).toBe(1);
  }
  // The /lens sent while Redis was down never ran: no job, no run, nothing posted for it.
  const dropped = dedupeKey("cmd", "while-down");
  expect(await h.queue.getJob(dropped)).toBeUndefined();
  expect(await h.store.getRun(dropped)).toBeUndefined();
  expect(
    h.slack.calls("chat.postMessage").some((c) => String(c.args.text).includes("on-call is exhausted")),
  ).toBe(false);
  await h.close();
}, 120_000);

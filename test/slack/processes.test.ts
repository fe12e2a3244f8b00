/**
 * Workers as separate processes that die mid-run: the run continues from its checkpoints in
 * another worker and completes exactly once, without paying again for saved steps; a job that
 * stalls for good still gets its error card, and Retry completes it from its checkpoint.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { dedupeKey } from "../../src/queue/jobs.js";
import { enqueueAnalysis } from "../../src/queue/queue.js";
import type { RecordedRequest, Reply } from "../fakes/anthropic.js";
import { answerFor } from "../fakes/json-schema-sample.js";
import {
  buttonClick,
  type Harness,
  messageText,
  postsPerSlot,
  REDIS_URL,
  roots,
  slashCommand,
  startHarness,
  waitFor,
  waitForDone,
} from "../support/harness.js";

const children: ChildProcess[] = [];

/** Starts a worker process against this harness's Redis prefixes and fakes; resolves once it runs. */
async function startWorker(h: Harness, env: Record<string, string> = {}): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", join(import.meta.dirname, "../support/worker-process.ts")],
    {
      env: {
        PATH: process.env.PATH,
        REDIS_URL,
        RECORD_PREFIX: h.recordPrefix,
        BULL_PREFIX: h.bullPrefix,
        SLACK_API_URL: h.slack.apiUrl,
        ANTHROPIC_BASE_URL: h.anthropic.url,
        ...env,
      },
    },
  );
  children.push(child);
  let out = "";
  child.stdout?.on("data", (d) => {
    out += d;
    if (process.env.DEBUG_WORKERS) process.stderr.write(`[worker ${child.pid}] ${d}`);
  });
  child.stderr?.on("data", (d) => (out += d));
  await waitFor(() => out.includes("ready"), 20_000, "the worker process to start");
  return child;
}

const running = (c: ChildProcess) => c.exitCode === null && c.signalCode === null;

const kill9 = async (child: ChildProcess) => {
  if (!running(child)) return;
  const exited = new Promise((r) => child.once("exit", r));
  child.kill("SIGKILL");
  await exited;
};

/** Valid answers after `delayMs`. */
const answering =
  (delayMs: number) =>
  (req: RecordedRequest): Reply => ({
    kind: "json",
    value: answerFor(req.body.output_config?.format?.schema ?? {}, "A specific, well-evidenced answer."),
    delayMs,
  });

/** Requests that analysed one lens (its first draft, not the judge). */
const analysesOf = (h: Harness, lensId: string) =>
  h.anthropic
    .requestsFor("analyze")
    .filter((r) => JSON.stringify(r.body.messages).includes(`(id: ${lensId},`));

describe("worker processes killed mid-run", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ engine: "claude", worker: false });
  });
  afterAll(async () => {
    await Promise.all(children.map(kill9));
    await h.close();
  });
  afterEach(async () => {
    // No worker of one test may pick up the next test's jobs.
    await Promise.all(children.map(kill9));
    h.anthropic.reset();
  });

  /** Starts /lens, lets worker A save part of the run, kills it, and returns what was saved. */
  async function killMidRun(trigger: string) {
    // Lenses finish at different times: one quickly, the rest slowly.
    let analysed = 0;
    h.anthropic.respondWith((req) => answering(req.step === "analyze" && analysed++ > 0 ? 3_000 : 50)(req));
    const a = await startWorker(h);
    await slashCommand(h.url, `Our deploys keep failing on Fridays (${trigger})`, { trigger_id: trigger });
    const runId = dedupeKey("cmd", trigger);
    const saved = await waitFor(
      async () => {
        const r = await h.store.getRun(runId);
        return r && r.analyses.length >= 1 ? r : undefined;
      },
      20_000,
      "a first lens to be saved",
    );
    await kill9(a);
    return { runId, saved };
  }

  it("completes the run exactly once in another worker, without calling the model again for saved steps", async () => {
    const { runId, saved } = await killMidRun("kill-resume");
    h.anthropic.respondWith(answering(20));
    await startWorker(h);
    const record = await waitFor(
      async () => {
        const r = await h.store.getRun(runId);
        return r?.status === "done" ? r : undefined;
      },
      30_000,
      "the run to complete in the second worker",
    );
    await waitForDone(h, "C0LENS", record.threadTs);
    expect(record.analyses.map((a) => a.lens_id)).toEqual(record.suggestion?.lenses.map((l) => l.id));
    // The suggestion and the lens saved before the kill were never asked for again.
    expect(h.anthropic.requestsFor("suggest")).toHaveLength(1);
    for (const a of saved.analyses) expect(analysesOf(h, a.lens_id), a.lens_id).toHaveLength(1);
    for (const [slot, n] of postsPerSlot(h, runId)) expect(n, slot).toBe(1);
  }, 60_000);

  it("posts every slot once when two workers are given the same run at once", async () => {
    h.anthropic.respondWith(answering(300));
    await Promise.all([startWorker(h), startWorker(h)]);
    await slashCommand(h.url, "Our deploys keep failing on Fridays (two workers)", {
      trigger_id: "two-workers",
    });
    const runId = dedupeKey("cmd", "two-workers");
    const created = await waitFor(() => h.store.getRun(runId), 5_000, "the run record");
    // A second job of the same run, as a stalled job re-run while the first is alive would be.
    await enqueueAnalysis(h.queue, `${runId}-again`, created.job);
    const record = await waitFor(
      async () => {
        const r = await h.store.getRun(runId);
        const again = await h.queue.getJobState(`${runId}-again`);
        return r?.status === "done" && again === "completed" ? r : undefined;
      },
      30_000,
      "both jobs to finish",
    );
    await waitForDone(h, "C0LENS", record.threadTs);
    expect(h.anthropic.requestsFor("suggest")).toHaveLength(1);
    for (const a of record.analyses) expect(analysesOf(h, a.lens_id), a.lens_id).toHaveLength(1);
    const posts = postsPerSlot(h, runId);
    expect([...posts.keys()]).toEqual(expect.arrayContaining(["status#0", "mode#0", "synthesis#0"]));
    for (const [slot, n] of posts) expect(n, slot).toBe(1);
  }, 60_000);

  it("posts the error card for a job that stalled for good, and Retry completes it from its checkpoint", async () => {
    const { runId, saved } = await killMidRun("kill-stall");
    h.anthropic.respondWith(answering(20));
    // This worker gives up on a stalled job at once (maxStalledCount 0): the job fails without
    // any processor running, and the failed listener posts the card.
    await startWorker(h, { MAX_STALLED: "0" });
    const record = (await h.store.getRun(runId))!;
    const card = await waitFor(
      () => h.slack.thread("C0LENS", record.threadTs).find((m) => messageText(m).includes("retry_analysis")),
      30_000,
      "the error card",
    );
    await waitFor(
      async () => (await h.store.getRun(runId))?.status === "failed",
      5_000,
      "the record to be failed",
    );
    await buttonClick(h.url, {
      actionId: "retry_analysis",
      value: runId,
      userId: "U0ASKER",
      channel: "C0LENS",
      messageTs: card.ts,
      threadTs: record.threadTs,
      triggerId: "retry-stalled",
    });
    const done = await waitFor(
      async () => {
        const r = await h.store.getRun(runId);
        return r?.status === "done" ? r : undefined;
      },
      30_000,
      "the retried run to complete",
    );
    expect(done.analyses.length).toBe(done.suggestion?.lenses.length);
    expect(h.anthropic.requestsFor("suggest")).toHaveLength(1);
    for (const a of saved.analyses) expect(analysesOf(h, a.lens_id), a.lens_id).toHaveLength(1);
    for (const [slot, n] of postsPerSlot(h, runId)) expect(n, slot).toBe(1);
    expect(roots(h, "C0LENS").length).toBeGreaterThan(0);
  }, 60_000);
});

/**
 * `npm start` as a real process: it starts, serves /slack/events with signature checks, and stops
 * on SIGTERM: gracefully when idle, and handing a running job back (checkpoints kept) when busy.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { afterAll, beforeAll, expect, it } from "vitest";
import { ANALYSIS_QUEUE, dedupeKey } from "../src/queue/jobs.js";
import { queuePrefix } from "../src/queue/queue.js";
import { RecordStore } from "../src/store/records.js";
import { FakeAnthropic } from "./fakes/anthropic.js";
import { answerFor } from "./fakes/json-schema-sample.js";
import { FakeSlack } from "./fakes/slack.js";
import { freePort, post, REDIS_URL, waitFor } from "./support/harness.js";

let slack: FakeSlack;
let anthropic: FakeAnthropic;
let child: ChildProcess;
let output = "";
/** This file's own key prefix: the process writes nowhere else. */
const PREFIX = `lensbot-main-${randomBytes(4).toString("hex")}`;

beforeAll(async () => {
  slack = await FakeSlack.start();
  anthropic = await FakeAnthropic.start();
});

afterAll(async () => {
  if (child && child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  await slack.close();
  await anthropic.close();
  const redis = new Redis(REDIS_URL);
  const keys = [...(await redis.keys(`${PREFIX}:*`)), ...(await redis.keys(`{${PREFIX}:bull}:*`))];
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
});

/** Starts `npm start`'s entry point with the fakes, this file's prefix and `env`; resolves once it serves. */
async function startMain(env: Record<string, string> = {}): Promise<number> {
  const port = await freePort();
  output = "";
  child = spawn(process.execPath, [join(import.meta.dirname, "../dist/main.js")], {
    env: {
      PATH: process.env.PATH,
      SLACK_BOT_TOKEN: "xoxb-very-secret-token",
      SLACK_SIGNING_SECRET: "main-test-secret",
      SLACK_API_URL: slack.apiUrl,
      REDIS_URL,
      LENSBOT_REDIS_PREFIX: PREFIX,
      PORT: String(port),
      LOG_LEVEL: "info",
      ...env,
    },
  });
  child.stdout?.on("data", (d) => (output += d));
  child.stderr?.on("data", (d) => (output += d));
  await waitFor(() => output.includes("Slack app started"), 15_000, "the app to start");
  return port;
}

it("starts app and worker, verifies signatures, never logs the token, and exits on SIGTERM", async () => {
  const port = await startMain();
  expect(output).toContain("worker started");

  const unsigned = await fetch(`http://127.0.0.1:${port}/slack/events`, {
    method: "POST",
    body: "command=%2Flens",
  });
  expect(unsigned.status).toBe(401);
  const signed = await post(
    `http://127.0.0.1:${port}/slack/events`,
    new URLSearchParams({
      command: "/lens",
      text: "",
      trigger_id: "t1",
      channel_id: "C1",
      user_id: "U1",
    }).toString(),
    "application/x-www-form-urlencoded",
    { secret: "main-test-secret" },
  );
  expect(signed.status).toBe(200);
  expect(signed.text).toContain("How to use lensbot");

  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  child.kill("SIGTERM");
  expect(await exited).toBe(0);
  expect(output).not.toContain("xoxb-very-secret-token");
});

it("on SIGTERM mid-run logs shutting down, hands the running job back with its checkpoints, and exits 0", async () => {
  // A slow model: the job is still analysing when the signal comes.
  anthropic.respondWith((req) => ({
    kind: "json",
    value: answerFor(req.body.output_config?.format?.schema ?? {}, "A specific answer."),
    delayMs: req.step === "suggest" ? 50 : 5_000,
  }));
  const port = await startMain({
    ANTHROPIC_API_KEY: "test-key",
    ANTHROPIC_BASE_URL: anthropic.url,
    LENSBOT_SHUTDOWN_GRACE_MS: "300",
  });
  await post(
    `http://127.0.0.1:${port}/slack/events`,
    new URLSearchParams({
      command: "/lens",
      text: "Our deploys fail every Friday and nobody knows why",
      trigger_id: "sigterm-1",
      channel_id: "C0SIG",
      user_id: "U1",
      team_id: "T1",
      response_url: slack.responseUrl("sigterm-1"),
    }).toString(),
    "application/x-www-form-urlencoded",
    { secret: "main-test-secret" },
  );
  const runId = dedupeKey("cmd", "sigterm-1");
  const redis = new Redis(REDIS_URL);
  const store = new RecordStore(redis, { prefix: PREFIX });
  await waitFor(
    async () => (await store.getRun(runId))?.suggestion,
    15_000,
    "the suggestion to be saved",
  ).catch((err) => {
    throw new Error(`${err.message}; the process said:\n${output}`);
  });

  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  child.kill("SIGTERM");
  expect(await exited).toBe(0);
  expect(output).toContain("shutting down");
  expect(output).toContain("handed back at shutdown");
  // The job waits for another worker; the run keeps its checkpoint and is not marked failed.
  const queue = new Queue(ANALYSIS_QUEUE, { connection: redis, prefix: queuePrefix(PREFIX) });
  expect(await (await queue.getJob(runId))?.getState()).toBe("waiting");
  const run = await store.getRun(runId);
  expect(run?.suggestion?.lenses.length).toBeGreaterThanOrEqual(2);
  expect(run?.status).not.toBe("failed");
  await queue.close();
  redis.disconnect();
}, 40_000);

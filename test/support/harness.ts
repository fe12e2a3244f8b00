/**
 * End-to-end harness: the real Bolt app behind its real HTTP receiver (signatures verified), a
 * real BullMQ queue and worker on the local Redis (unique prefixes per harness), and loopback
 * fakes of the Slack Web API and the Anthropic Messages API for the real SDK clients.
 */
import { createHmac, randomBytes } from "node:crypto";
import { createServer } from "node:net";
import Anthropic from "@anthropic-ai/sdk";
import type { App } from "@slack/bolt";
import { WebClient } from "@slack/web-api";
import type { Queue, Worker } from "bullmq";
import { inject } from "vitest";
import { AnalyseThread } from "../../src/app/analyse.js";
import { HomeTab } from "../../src/app/home.js";
import { libraryOf } from "../../src/catalogue/graph.js";
import { loadCatalogue } from "../../src/catalogue/load.js";
import { BUNDLED_LENSES_DIR } from "../../src/config.js";
import { createClaudeEngine } from "../../src/engines/claude/engine.js";
import { createOfflineEngine } from "../../src/engines/offline/engine.js";
import type { Logger } from "../../src/logger.js";
import type { Engine } from "../../src/pipeline/ports.js";
import { createDigestQueue, createDigestWorker } from "../../src/queue/digest.js";
import { createDigestProcessor } from "../../src/queue/digest-processor.js";
import { createFailedHandler, createProcessor } from "../../src/queue/processor.js";
import { createAnalysisQueue, createAnalysisWorker } from "../../src/queue/queue.js";
import { connectRedis, type RedisClient } from "../../src/runtime.js";
import { createSlackApp } from "../../src/slack/app.js";
import { SingleWorkspace } from "../../src/slack/workspaces.js";
import { DigestStore } from "../../src/store/digests.js";
import { RecordStore } from "../../src/store/records.js";
import { scanKeys } from "../../src/store/scan.js";
import { FakeAnthropic } from "../fakes/anthropic.js";
import { FakeSlack } from "../fakes/slack.js";
import { waitFor } from "./wait.js";

export { waitFor } from "./wait.js";

/** A logger for the real runtime (`start`) that drops every line. */
export const quietLogger = { info() {}, warn() {}, error() {}, fatal() {}, debug() {} } as unknown as Logger;

export const SIGNING_SECRET = "test-signing-secret-0123456789abcdef";
export const BOT_TOKEN = "xoxb-test-token";
/**
 * The Redis the tests use: in the "redis-cluster" project the local cluster its global setup
 * started, else `REDIS_URL` when set (each run writes under its own prefix), else the local one.
 */
export const REDIS_URL = injectedClusterUrl() ?? process.env.REDIS_URL ?? "redis://127.0.0.1:6379";

/** The cluster URL vitest provides; undefined outside vitest (the demo and the bench use this harness too). */
function injectedClusterUrl(): string | undefined {
  try {
    return inject("redisClusterUrl");
  } catch {
    return undefined;
  }
}

export const opened = libraryOf(loadCatalogue(BUNDLED_LENSES_DIR));
export const { catalogue, index } = opened;

export interface Harness {
  slack: FakeSlack;
  anthropic: FakeAnthropic;
  redis: RedisClient;
  queue: Queue;
  worker: Worker | undefined;
  store: RecordStore;
  /** Retro digests: their queue (job schedulers), configs and a worker (unless `worker: false`). */
  digestQueue: Queue;
  digests: DigestStore;
  digestWorker: Worker | undefined;
  /** Where this harness's records and queue live in Redis (for worker processes). */
  recordPrefix: string;
  bullPrefix: string;
  app: App;
  url: string;
  /** Every info and error line the processor logged (tests assert on what reached the log, not the user). */
  logged: { level: "info" | "warn" | "error"; msg?: string; obj: object }[];
  close(): Promise<void>;
}

/**
 * Starts everything. `engine: "claude"` uses the real SDK against the fake Anthropic server
 * (with `maxRetries` SDK retries); `"offline"` needs no model.
 */
export async function startHarness(
  options: {
    engine?: "offline" | "claude";
    maxRetries?: number;
    /** Attempts per job (default the queue's). */
    attempts?: number;
    /** Delay before a retry (ms); default the worker's backoff (seconds to minutes). */
    retryDelay?: (attempt: number, err: unknown) => number;
    /** Run a worker in this process (default true); without one, tests start worker processes. */
    worker?: boolean;
    /** BullMQ's limiter on job starts (see `modelRateLimit`). */
    limiter?: { max: number; duration: number };
    /** Another Redis than `REDIS_URL` (e.g. one the test restarts). */
    redisUrl?: string;
    /** Progress as a streamed task plan where the fake allows it (default: the edited status message). */
    streaming?: boolean;
  } = {},
): Promise<Harness> {
  const url = options.redisUrl ?? REDIS_URL;
  const id = randomBytes(6).toString("hex");
  const slack = await FakeSlack.start();
  responseUrl = (tag: string) => slack.responseUrl(tag);
  const anthropic = await FakeAnthropic.start();
  // The same connections as production (runtime.ts): commands fail fast while Redis is away.
  const redis = connectRedis(url, "commands");
  redis.on("error", () => {});
  await new Promise((r) => (redis.status === "ready" ? r(undefined) : redis.once("ready", r)));
  const store = new RecordStore(redis, { prefix: `lensbot-test-${id}`, ttlSeconds: 600 });
  // Hash-tagged, as BullMQ needs on a cluster (runtime.ts does the same with `queuePrefix`).
  const bullPrefix = `{bull-test-${id}}`;
  const queue = createAnalysisQueue(
    redis,
    bullPrefix,
    options.attempts ? { attempts: options.attempts } : {},
  );
  const digestQueue = createDigestQueue(redis, bullPrefix);
  const digests = new DigestStore(redis, { prefix: `lensbot-test-${id}`, ttlSeconds: 600 });
  const logged: Harness["logged"] = [];
  const logger = {
    info(obj: object, msg?: string) {
      logged.push({ level: "info", obj, ...(msg && { msg }) });
    },
    warn(obj: object, msg?: string) {
      logged.push({ level: "warn", obj, ...(msg && { msg }) });
    },
    error(obj: object, msg?: string) {
      logged.push({ level: "error", obj, ...(msg && { msg }) });
    },
  };
  const client = new WebClient(BOT_TOKEN, {
    slackApiUrl: slack.apiUrl,
    rejectRateLimitedCalls: true,
    retryConfig: { retries: 0 },
  });
  const engine: Engine =
    options.engine === "claude"
      ? createClaudeEngine({
          client: new Anthropic({
            apiKey: "test-key",
            baseURL: anthropic.url,
            maxRetries: options.maxRetries ?? 2,
          }),
          catalogue,
        })
      : createOfflineEngine(opened);
  const home = new HomeTab({ records: store, digests, library: opened, logger });
  const workspaces = new SingleWorkspace(client, slack.bot.bot_id);
  const analyse = new AnalyseThread({
    workspaces,
    store,
    catalogue,
    index,
    engine,
    maxProblemChars: 16_000,
    threadTokens: 6_000,
    concurrency: 4,
    logger,
    onDone: (job, ws) => home.publish(ws.client, job.teamId, job.userId),
    streaming: options.streaming ?? false,
  });
  const deps = {
    analyse,
    store,
    logger,
    busyRunDelayMs: 200,
    ...(options.retryDelay && { retryDelay: options.retryDelay }),
  };
  const workerRedis = connectRedis(url, "worker");
  workerRedis.on("error", () => {});
  const worker =
    options.worker === false
      ? undefined
      : createAnalysisWorker(workerRedis, createProcessor(deps), {
          prefix: bullPrefix,
          concurrency: 8,
          ...(options.limiter && { limiter: options.limiter }),
          ...(options.retryDelay && { retryDelay: options.retryDelay }),
        });
  const digestWorker =
    options.worker === false
      ? undefined
      : createDigestWorker(
          workerRedis,
          createDigestProcessor({ workspaces, records: store, digests, library: opened, engine, logger }),
          { prefix: bullPrefix },
        );
  digestWorker?.on("error", () => {});
  digestQueue.on("error", () => {});
  const onFailed = createFailedHandler(deps);
  worker?.on("failed", (job, err) => void onFailed(job, err).catch(() => {}));
  // Connection errors while a test stops Redis are expected; the logged lines say enough.
  worker?.on("error", () => {});
  queue.on("error", () => {});
  const app = createSlackApp({
    botToken: BOT_TOKEN,
    signingSecret: SIGNING_SECRET,
    apiUrl: slack.apiUrl,
    queue,
    store,
    digest: { queue: digestQueue, store: digests },
    library: opened,
    home,
    streaming: options.streaming ?? false,
    catalogue,
    logger,
  });
  const server = (await app.start(0)) as unknown as { address(): { port: number } };
  const appUrl = `http://127.0.0.1:${server.address().port}/slack/events`;
  return {
    slack,
    anthropic,
    redis,
    queue,
    worker,
    store,
    digestQueue,
    digests,
    digestWorker,
    recordPrefix: `lensbot-test-${id}`,
    bullPrefix,
    app,
    url: appUrl,
    logged,
    async close() {
      // A test may have stopped the app already (a restart).
      await app.stop().catch(() => {});
      await worker?.close(true);
      await digestWorker?.close(true);
      workerRedis.disconnect();
      await queue.obliterate({ force: true });
      await queue.close();
      await digestQueue.obliterate({ force: true });
      await digestQueue.close();
      await deleteMatching(redis, `lensbot-test-${id}:*`);
      redis.disconnect();
      await slack.close();
      await anthropic.close();
    },
  };
}

/** Deletes the keys matching `pattern`, on every master of a cluster. */
export async function deleteMatching(redis: RedisClient, pattern: string): Promise<void> {
  // One key per DEL: on a cluster, keys of different slots cannot share a command.
  for (const key of await scanKeys(redis, pattern)) await redis.del(key);
}

/**
 * Deletes what a deployment with key prefix `prefix` left in the Redis at `url`: its records and
 * its queues (under the `{prefix:bull}` hash tag). For suites that run the real runtime.
 */
export async function deleteDeployment(url: string, prefix: string): Promise<void> {
  const redis = connectRedis(url, "worker");
  try {
    await deleteMatching(redis, `${prefix}:*`);
    await deleteMatching(redis, `{${prefix}:bull}*`);
  } finally {
    redis.disconnect();
  }
}

/** A TCP port free on loopback right now (for a server a test starts). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

/** Slack's request signature: `v0=` + HMAC-SHA256 of `v0:{timestamp}:{body}`. */
export function sign(body: string, timestamp: number, secret = SIGNING_SECRET): string {
  return `v0=${createHmac("sha256", secret).update(`v0:${timestamp}:${body}`).digest("hex")}`;
}

/** POSTs a signed request to the app, as Slack does. */
export async function post(
  url: string,
  body: string,
  contentType: string,
  options: { timestamp?: number; secret?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; text: string }> {
  const timestamp = options.timestamp ?? Math.floor(Date.now() / 1000);
  const res = await fetch(url, {
    method: "POST",
    headers: {
      "content-type": contentType,
      "x-slack-request-timestamp": String(timestamp),
      "x-slack-signature": sign(body, timestamp, options.secret),
      ...options.headers,
    },
    body,
  });
  return { status: res.status, text: await res.text() };
}

/** Where response URLs in the payloads below point: the fake Slack of the latest harness. */
let responseUrl = (id: string) => `http://127.0.0.1:9/respond/${id}`;

let triggerCounter = 0;
export const nextTriggerId = () => `${Date.now()}.${++triggerCounter}.${randomBytes(4).toString("hex")}`;

/** A `/lens` slash command as Slack sends it (form encoded). */
export function slashCommand(
  url: string,
  text: string,
  extra: {
    trigger_id?: string;
    user_id?: string;
    channel_id?: string;
    response_url?: string;
    team_id?: string;
  } = {},
) {
  const trigger = extra.trigger_id ?? nextTriggerId();
  const body = new URLSearchParams({
    token: "legacy",
    team_id: extra.team_id ?? "T0TEST",
    team_domain: "test",
    channel_id: extra.channel_id ?? "C0LENS",
    channel_name: "eng",
    user_id: extra.user_id ?? "U0ASKER",
    user_name: "asker",
    command: "/lens",
    text,
    api_app_id: "A0LENSBOT",
    response_url: extra.response_url ?? responseUrl(`cmd-${trigger}`),
    trigger_id: trigger,
  }).toString();
  return post(url, body, "application/x-www-form-urlencoded");
}

/** An Events API callback (JSON); `retryNum` adds Slack's retry headers. */
export function eventCallback(
  url: string,
  event: Record<string, unknown>,
  eventId: string,
  retryNum?: number,
  teamId = "T0TEST",
) {
  const body = JSON.stringify({
    token: "legacy",
    team_id: teamId,
    api_app_id: "A0LENSBOT",
    type: "event_callback",
    event_id: eventId,
    event_time: Math.floor(Date.now() / 1000),
    event,
  });
  const headers: Record<string, string> =
    retryNum === undefined
      ? {}
      : { "x-slack-retry-num": String(retryNum), "x-slack-retry-reason": "http_timeout" };
  return post(url, body, "application/json", { headers });
}

/** An interactivity payload (shortcut or block action), form encoded as `payload=`. */
export function interaction(url: string, payload: Record<string, unknown>) {
  const body = new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
  return post(url, body, "application/x-www-form-urlencoded");
}

/** A click on a button in a message, as Slack sends it (block_actions). */
export function buttonClick(
  url: string,
  click: {
    actionId: string;
    value: string;
    userId: string;
    channel: string;
    messageTs: string;
    threadTs: string;
    triggerId: string;
    teamId?: string;
    /** Default: the latest harness's fake Slack. */
    responseUrl?: string;
  },
) {
  return interaction(url, {
    type: "block_actions",
    trigger_id: click.triggerId,
    user: { id: click.userId, name: "user" },
    channel: { id: click.channel, name: "channel" },
    team: { id: click.teamId ?? "T0TEST", domain: "test" },
    message: { ts: click.messageTs, thread_ts: click.threadTs, text: "card" },
    actions: [
      { type: "button", action_id: click.actionId, block_id: "b", value: click.value, action_ts: "1" },
    ],
    token: "legacy",
    response_url: click.responseUrl ?? responseUrl(`action-${click.triggerId}`),
    api_app_id: "A0LENSBOT",
    container: { type: "message" },
  });
}

/** All text of a stored message (fallback and blocks), for content assertions. */
export function messageText(m: { text: string; blocks?: unknown[] }): string {
  return `${m.text}\n${JSON.stringify(m.blocks ?? [])}`;
}

/** Top-level messages of a channel (a root with replies carries thread_ts equal to its own ts). */
export const roots = (h: Harness, channel: string) =>
  h.slack.messages(channel).filter((m) => !m.thread_ts || m.thread_ts === m.ts);

/** The run's status message in a thread (the one that names the step, or Done/Failed). */
export const statusOf = (h: Harness, channel: string, threadTs: string) =>
  h.slack
    .thread(channel, threadTs)
    .find((m) => /step \d of 3|\*Done\*|\*Failed\*/.test(m.text + JSON.stringify(m.blocks)));

/** Waits until the thread's status message says Done. */
export async function waitForDone(h: Harness, channel: string, threadTs: string, timeoutMs = 15_000) {
  return waitFor(
    () => {
      const s = statusOf(h, channel, threadTs);
      return s && messageText(s).includes("Done") ? s : undefined;
    },
    timeoutMs,
    "the status to say Done",
  );
}

/** How many times each message slot of a run was posted (from the fake's chat.postMessage calls). */
export function postsPerSlot(h: Harness, runId: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const c of h.slack.calls("chat.postMessage")) {
    const meta = c.args.metadata as { event_payload?: { run_id?: string; slot?: string } } | undefined;
    if (meta?.event_payload?.run_id !== runId || c.error) continue;
    const slot = meta.event_payload.slot ?? "";
    out.set(slot, (out.get(slot) ?? 0) + 1);
  }
  return out;
}

/** The messages of a thread that carry a run's slot metadata, by slot. */
export function slotMessages(
  h: Harness,
  channel: string,
  threadTs: string,
  runId: string,
): Map<string, number> {
  const out = new Map<string, number>();
  for (const m of h.slack.thread(channel, threadTs)) {
    const meta = m.metadata as { event_payload?: { run_id?: string; slot?: string } } | undefined;
    if (meta?.event_payload?.run_id !== runId) continue;
    const slot = meta.event_payload.slot ?? "";
    out.set(slot, (out.get(slot) ?? 0) + 1);
  }
  return out;
}

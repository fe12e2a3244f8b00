/**
 * A worker in a process of its own, for tests that kill one (SIGKILL) or stop one (SIGTERM)
 * mid-run. Everything it talks to comes from the environment the test gives it:
 *   REDIS_URL, RECORD_PREFIX, BULL_PREFIX   where the run records and the queue live
 *   SLACK_API_URL, ANTHROPIC_BASE_URL       the test's loopback fakes
 *   MAX_STALLED                             BullMQ maxStalledCount (default 2)
 * Locks are short (1 s) and stalls are checked every 300 ms, so a killed worker's job is noticed
 * within a couple of seconds. Prints "ready" once the worker runs. (How a worker stops on SIGTERM
 * is tested on the real entry point, in test/main.test.ts.)
 */
import Anthropic from "@anthropic-ai/sdk";
import { WebClient } from "@slack/web-api";
import { Worker } from "bullmq";
import { AnalyseThread } from "../../src/app/analyse.js";
import { loadCatalogue } from "../../src/catalogue/load.js";
import { CatalogueIndex } from "../../src/catalogue/search.js";
import { BUNDLED_LENSES_DIR } from "../../src/config.js";
import { createClaudeEngine } from "../../src/engines/claude/engine.js";
import { ANALYSIS_QUEUE } from "../../src/queue/jobs.js";
import { createFailedHandler, createProcessor } from "../../src/queue/processor.js";
import { connectRedis } from "../../src/runtime.js";
import { SingleWorkspace } from "../../src/slack/workspaces.js";
import { RecordStore } from "../../src/store/records.js";

const env = process.env;
const catalogue = loadCatalogue(BUNDLED_LENSES_DIR);
const REDIS_URL = env.REDIS_URL ?? "redis://127.0.0.1:6379";
const redis = connectRedis(REDIS_URL, "commands");
await new Promise((r) => (redis.status === "ready" ? r(undefined) : redis.once("ready", r)));
const store = new RecordStore(redis, { prefix: env.RECORD_PREFIX ?? "lensbot-test", ttlSeconds: 600 });
const client = new WebClient("xoxb-test-token", {
  slackApiUrl: env.SLACK_API_URL,
  rejectRateLimitedCalls: true,
  retryConfig: { retries: 0 },
});
const logger = {
  info: (o: object, msg?: string) => console.log(JSON.stringify({ msg, ...o })),
  error: (o: object, msg?: string) =>
    console.log(JSON.stringify({ msg, err: String((o as { err?: unknown }).err) })),
};
const analyse = new AnalyseThread({
  workspaces: new SingleWorkspace(client),
  store,
  catalogue,
  index: new CatalogueIndex(catalogue),
  engine: createClaudeEngine({
    client: new Anthropic({ apiKey: "test-key", baseURL: env.ANTHROPIC_BASE_URL, maxRetries: 0 }),
    catalogue,
  }),
  maxProblemChars: 16_000,
  threadTokens: 6_000,
  concurrency: 4,
  logger,
});
const deps = { analyse, store, logger, runLockMs: 1_000, busyRunDelayMs: 200 };
const worker = new Worker(ANALYSIS_QUEUE, createProcessor(deps), {
  connection: connectRedis(REDIS_URL, "worker"),
  prefix: env.BULL_PREFIX ?? "{bull-test}",
  concurrency: 4,
  lockDuration: 1_000,
  stalledInterval: 300,
  maxStalledCount: Number(env.MAX_STALLED ?? 2),
  settings: { backoffStrategy: () => 200 },
});
const onFailed = createFailedHandler(deps);
worker.on("failed", (job, err) => void onFailed(job, err).catch(() => {}));
await worker.waitUntilReady();
console.log("ready");

import { WebClient } from "@slack/web-api";
import type { Worker } from "bullmq";
import { Redis } from "ioredis";
import { openCatalogue } from "./catalogue/snapshot.js";
import { type Config, loadConfig, requireSlack } from "./config.js";
import { createEngine, defaultEngineName } from "./engines/index.js";
import { createLogger, type Logger } from "./logger.js";
import { createProcessor } from "./queue/processor.js";
import { createAnalysisQueue, createAnalysisWorker } from "./queue/queue.js";
import { createSlackApp } from "./slack/app.js";
import { UserNames } from "./slack/thread.js";
import { RecordStore } from "./store/records.js";

/** Redis connection for BullMQ and records; `maxRetriesPerRequest: null` as BullMQ workers require. */
export function connectRedis(url: string): Redis {
  return new Redis(url, { maxRetriesPerRequest: null, enableReadyCheck: true });
}

export interface Running {
  close(): Promise<void>;
  port?: number;
}

/**
 * Starts what this process runs: the Bolt app (HTTP on `config.port`, or Socket Mode), a worker,
 * or both. Everything is built from config and passed in; nothing is created at import time.
 */
export async function start(
  config: Config,
  logger: Logger,
  roles: { app: boolean; worker: boolean },
): Promise<Running> {
  const slack = requireSlack(config);
  const opened = openCatalogue(config.lensesDir);
  const { catalogue, index } = opened;
  const redis = connectRedis(config.redisUrl);
  const store = new RecordStore(redis, { ttlSeconds: config.recordTtlSeconds });
  const queue = createAnalysisQueue(redis);
  const closers: (() => Promise<unknown>)[] = [];
  let port: number | undefined;

  let worker: Worker | undefined;
  if (roles.worker) {
    // The worker's client rejects rate-limited calls so the publisher waits out Retry-After itself.
    const client = new WebClient(slack.botToken, {
      ...(slack.apiUrl && { slackApiUrl: slack.apiUrl }),
      rejectRateLimitedCalls: true,
      retryConfig: { retries: 2, factor: 2, minTimeout: 500 },
    });
    const auth = await client.auth.test();
    const engine = createEngine(defaultEngineName(config), config, opened);
    const processor = createProcessor({
      client,
      store,
      catalogue,
      index,
      engine,
      names: new UserNames(client),
      ...(auth.bot_id && { ownBotId: auth.bot_id }),
      maxProblemChars: config.maxProblemChars,
      threadTokens: config.threadTokens,
      concurrency: config.concurrency,
      logger,
    });
    worker = createAnalysisWorker(connectRedis(config.redisUrl), processor, {
      concurrency: config.workerConcurrency,
    });
    worker.on("error", (err) => logger.error({ err }, "worker error"));
    closers.push(() => worker?.close() ?? Promise.resolve());
    logger.info({ engine: engine.name, concurrency: config.workerConcurrency }, "worker started");
  }

  if (roles.app) {
    const app = createSlackApp({
      botToken: slack.botToken,
      ...(slack.signingSecret && { signingSecret: slack.signingSecret }),
      ...(slack.appToken && { appToken: slack.appToken }),
      ...(slack.apiUrl && { apiUrl: slack.apiUrl }),
      queue,
      store,
      catalogue,
      logger,
    });
    const server = await app.start(config.port);
    const address = slack.appToken ? undefined : (server as { address?: () => unknown }).address?.();
    port =
      typeof address === "object" && address && "port" in address
        ? (address as { port: number }).port
        : config.port;
    closers.unshift(() => app.stop());
    logger.info({ mode: slack.appToken ? "socket" : "http", port }, "Slack app started");
  }

  return {
    ...(port !== undefined && { port }),
    async close() {
      for (const close of closers) await close();
      await queue.close();
      redis.disconnect();
    },
  };
}

/** Runs until SIGTERM or SIGINT, then closes gracefully (running jobs finish first). */
export async function runUntilSignal(running: Running, logger: Logger): Promise<void> {
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "shutting down");
    const force = setTimeout(() => process.exit(1), 30_000);
    force.unref();
    await running.close();
    process.exit(0);
  };
  process.once("SIGTERM", () => void stop("SIGTERM"));
  process.once("SIGINT", () => void stop("SIGINT"));
}

/**
 * A process entry point: reads config, starts the given roles and runs until a signal. A start-up
 * failure is logged (message only, never config values) and exits with code 1.
 */
export async function main(roles: { app: boolean; worker: boolean }): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    process.stderr.write(`lensbot: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  }
  const logger = createLogger(config.logLevel);
  try {
    await runUntilSignal(await start(config, logger, roles), logger);
  } catch (err) {
    logger.fatal({ err: err instanceof Error ? err.message : String(err) }, "lensbot could not start");
    process.exit(1);
  }
}

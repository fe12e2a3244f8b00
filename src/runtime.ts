import { InstallProvider, LogLevel } from "@slack/oauth";
import { WebClient } from "@slack/web-api";
import { Cluster, Redis } from "ioredis";
import { AnalyseThread } from "./app/analyse.js";
import { HomeTab } from "./app/home.js";
import { withGraph } from "./catalogue/graph.js";
import { openCatalogue } from "./catalogue/snapshot.js";
import { type Config, loadConfig, requireSlack } from "./config.js";
import { createEngine, defaultEngineName } from "./engines/index.js";
import { createLogger, type Logger } from "./logger.js";
import { opsRoutes, startOpsServer } from "./ops/health.js";
import { Metrics } from "./ops/metrics.js";
import { createDigestQueue, createDigestWorker, unscheduleDigest } from "./queue/digest.js";
import { createDigestProcessor } from "./queue/digest-processor.js";
import { createFailedHandler, createProcessor } from "./queue/processor.js";
import { createAnalysisQueue, createAnalysisWorker, modelRateLimit, queuePrefix } from "./queue/queue.js";
import { createSlackApp } from "./slack/app.js";
import { installationQuery } from "./slack/listeners/install.js";
import { InstalledWorkspaces, SingleWorkspace, type Workspaces } from "./slack/workspaces.js";
import { DigestStore } from "./store/digests.js";
import { RedisInstallationStore, RedisStateStore } from "./store/installations.js";
import { RecordStore } from "./store/records.js";

/** A connection to one Redis or to a Redis Cluster; lensbot and BullMQ use either the same way. */
export type RedisClient = Redis | Cluster;

const CLUSTER_SCHEME = /^rediss?\+cluster:\/\//;

/**
 * The seed nodes and credentials of a cluster URL, `redis+cluster://[user:password@]host:port,host:port`
 * (`rediss+cluster://` for TLS); undefined for any other URL. Any reachable seed node will do:
 * the client discovers the rest from `CLUSTER SLOTS`.
 * @throws Error for a cluster URL without a valid `host:port` list.
 */
export function clusterNodes(
  url: string,
):
  | { nodes: { host: string; port: number }[]; username?: string; password?: string; tls: boolean }
  | undefined {
  const scheme = CLUSTER_SCHEME.exec(url);
  if (!scheme) return undefined;
  const rest = url.slice(scheme[0].length).replace(/\/.*$/, "");
  const at = rest.lastIndexOf("@");
  const auth = at >= 0 ? rest.slice(0, at) : "";
  const [username, password] = auth.includes(":") ? auth.split(/:(.*)/s) : [undefined, auth || undefined];
  const nodes = rest
    .slice(at + 1)
    .split(",")
    .map((node) => {
      const match = /^\[?([^\]]+?)\]?:(\d+)$/.exec(node.trim());
      if (!match) throw new Error(`REDIS_URL: expected host:port in the cluster node list, got "${node}"`);
      return { host: match[1] as string, port: Number(match[2]) };
    });
  return {
    nodes,
    username: username ? decodeURIComponent(username) : undefined,
    password: password ? decodeURIComponent(password) : undefined,
    tls: url.startsWith("rediss+"),
  };
}

/**
 * Redis connections, one per use, to a single node (`redis://…`) or a cluster
 * (`redis+cluster://host:port,host:port`, see {@link clusterNodes}):
 * - `worker`: BullMQ's blocking connection (`maxRetriesPerRequest: null`, as its workers require);
 * - `commands`: records and enqueueing, with a command timeout (ms) and no offline queue, so a call
 *   made while Redis is away fails at once instead of landing later, after the user was told
 *   it failed.
 */
export function connectRedis(url: string, use: "worker" | "commands", commandTimeoutMs = 5_000): RedisClient {
  const perUse =
    use === "worker"
      ? { maxRetriesPerRequest: null }
      : { maxRetriesPerRequest: 1, enableOfflineQueue: false, commandTimeout: commandTimeoutMs };
  const cluster = clusterNodes(url);
  if (!cluster) return new Redis(url, perUse);
  const { nodes, username, password, tls } = cluster;
  return new Cluster(nodes, {
    enableOfflineQueue: use === "worker",
    redisOptions: { ...perUse, username, password, ...(tls ? { tls: {} } : {}) },
  });
}

/**
 * Waits until a connection is ready, for at most `ms` (then goes on: commands fail fast and the
 * listeners tell people the queue is unreachable until Redis comes).
 */
async function ready(redis: RedisClient, ms: number): Promise<void> {
  if (redis.status === "ready") return;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    redis.once("ready", () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

export interface Running {
  close(): Promise<void>;
  /** The HTTP receiver's port (HTTP mode). */
  port?: number;
  /** The port of /healthz, /readyz and /metrics when they have their own server (Socket Mode, workers). */
  opsPort?: number;
}

/**
 * Starts what this process runs: the Bolt app (HTTP on `config.port`, or Socket Mode), a worker,
 * or both. Everything is built from config and passed in; nothing is created at import time.
 * `close()` stops taking work, lets running jobs finish for `config.shutdownGraceMs`, then stops
 * the rest (they are handed back to the queue and continue from their checkpoints elsewhere),
 * and closes every connection.
 */
export async function start(
  config: Config,
  logger: Logger,
  roles: { app: boolean; worker: boolean },
): Promise<Running> {
  const slack = requireSlack(config);
  const opened = openCatalogue(config.lensesDir);
  const { catalogue, index } = opened;
  const library = withGraph(opened);
  const redis = connectRedis(config.redisUrl, "commands", config.redisTimeoutMs);
  redis.on("error", (err) => logger.warn({ err: err.message }, "Redis connection error"));
  await ready(redis, 5_000);
  const store = new RecordStore(redis, { prefix: config.redisPrefix, ttlSeconds: config.recordTtlSeconds });
  const prefix = queuePrefix(config.redisPrefix);
  const queue = createAnalysisQueue(redis, prefix);
  const digestQueue = createDigestQueue(redis, prefix);
  const digests = new DigestStore(redis, { prefix: config.redisPrefix });
  const home = new HomeTab({ records: store, digests, library, logger });
  const oauth =
    slack.mode === "oauth"
      ? {
          clientId: slack.clientId,
          clientSecret: slack.clientSecret,
          installationStore: new RedisInstallationStore(redis, {
            prefix: config.redisPrefix,
            key: slack.tokenKey,
          }),
          stateStore: new RedisStateStore(redis, { prefix: config.redisPrefix }),
          ...(slack.redirectUri && { redirectUri: slack.redirectUri }),
        }
      : undefined;
  const metrics = new Metrics({ queues: [queue, digestQueue] });
  const ops = opsRoutes({
    redis,
    queues: [queue, digestQueue],
    catalogueLoaded: () => catalogue.lenses.length > 0,
    metrics,
  });
  const closers: (() => Promise<unknown>)[] = [];
  let port: number | undefined;
  let opsPort: number | undefined;
  let shuttingDown = false;

  if (roles.worker) {
    // No retries inside the client: a post whose answer was lost is looked for in the thread
    // before it is sent again (see ThreadPublisher), and anything else fails the attempt.
    // Rate limits surface to the publisher, which waits out Retry-After itself.
    const clientOptions = {
      ...(slack.apiUrl && { slackApiUrl: slack.apiUrl }),
      fetch: metrics.slackFetch(),
      rejectRateLimitedCalls: true,
      retryConfig: { retries: 0 },
      timeout: config.slackTimeoutMs,
    };
    let workspaces: Workspaces;
    if (slack.mode === "single") {
      const client = new WebClient(slack.botToken, clientOptions);
      // Checks the token at start-up: a wrong one stops the process here, not at the first job.
      const auth = await client.auth.test();
      workspaces = new SingleWorkspace(client, auth.bot_id);
    } else if (oauth) {
      const installer = new InstallProvider({
        clientId: oauth.clientId,
        clientSecret: oauth.clientSecret,
        installationStore: oauth.installationStore,
        stateStore: oauth.stateStore,
        logLevel: LogLevel.WARN,
        ...(slack.apiUrl && { clientOptions: { slackApiUrl: slack.apiUrl } }),
      });
      workspaces = new InstalledWorkspaces(
        installer.authorize,
        (token) => new WebClient(token, clientOptions),
      );
    } else throw new Error("unreachable: OAuth setup without its stores");
    const engine = await createEngine(defaultEngineName(config), config, opened);
    const analyse = new AnalyseThread({
      workspaces,
      store,
      catalogue,
      index,
      engine,
      maxProblemChars: config.maxProblemChars,
      threadTokens: config.threadTokens,
      concurrency: config.concurrency,
      timeouts: config.timeouts,
      logger,
      onDone: (job, { client }) => home.publish(client, job.teamId, job.userId),
      streaming: config.streaming,
      metrics,
    });
    const deps = { analyse, store, logger, shuttingDown: () => shuttingDown };
    const workerRedis = connectRedis(config.redisUrl, "worker");
    const worker = createAnalysisWorker(workerRedis, createProcessor(deps), {
      prefix,
      concurrency: config.workerConcurrency,
      ...(config.modelCallsPerMinute > 0 && { limiter: modelRateLimit(config.modelCallsPerMinute) }),
    });
    // Retro digests: their job schedulers fire on this queue, wherever workers run.
    const digestWorker = createDigestWorker(
      workerRedis,
      createDigestProcessor({ workspaces, records: store, digests, library, engine, logger }),
      { prefix },
    );
    digestWorker.on("error", (err) => logger.error({ err }, "digest worker error"));
    const onFailed = createFailedHandler(deps);
    worker.on("failed", (job, err) => void onFailed(job, err).catch(() => {}));
    worker.on("error", (err) => logger.error({ err }, "worker error"));
    closers.push(async () => {
      const closing = worker.close();
      const grace = new Promise<"late">((r) => setTimeout(() => r("late"), config.shutdownGraceMs).unref());
      if ((await Promise.race([closing, grace])) === "late") {
        logger.info({}, "stopping running jobs; they are handed back and resume elsewhere");
        worker.cancelAllJobs("shutdown");
        await closing;
      }
      await digestWorker.close();
      await workerRedis.quit().catch(() => workerRedis.disconnect());
    });
    logger.info({ engine: engine.name, concurrency: config.workerConcurrency }, "worker started");
  }

  if (roles.app) {
    const app = createSlackApp({
      ...(slack.mode === "single" ? { botToken: slack.botToken } : { oauth }),
      forgetTeam: async (team) => {
        if (oauth) await oauth.installationStore.deleteInstallation(installationQuery(team));
        if (!team.teamId) return;
        const runs = await store.forgetTeam(team.teamId);
        for (const channel of await digests.forgetTeam(team.teamId)) {
          await unscheduleDigest(digestQueue, team.teamId, channel);
        }
        logger.info({ team: team.teamId, runs }, "deleted a team's installation and records");
      },
      ...(slack.signingSecret && { signingSecret: slack.signingSecret }),
      ...(slack.appToken && { appToken: slack.appToken }),
      ...(slack.apiUrl && { apiUrl: slack.apiUrl }),
      apiTimeoutMs: config.slackTimeoutMs,
      queue,
      store,
      digest: { queue: digestQueue, store: digests },
      library,
      home,
      streaming: config.streaming,
      metrics,
      customRoutes: ops,
      catalogue,
      logger,
      maxProblemChars: config.maxProblemChars,
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

  // Where no HTTP receiver serves them (Socket Mode, a worker alone), the ops routes get a port of their own.
  if (!roles.app || slack.appToken) {
    try {
      const server = await startOpsServer(ops, config.opsPort);
      closers.push(() => new Promise((r) => server.close(r)));
      opsPort = (server.address() as { port: number }).port;
      logger.info({ port: opsPort }, "health and metrics served");
    } catch (err) {
      // Several processes on one host share its ports: the work goes on without the endpoints.
      logger.warn(
        { port: config.opsPort, err: (err as Error).message },
        "health and metrics not served (set LENSBOT_OPS_PORT per process, or 0 for any free port)",
      );
    }
  }

  return {
    ...(port !== undefined && { port }),
    ...(opsPort !== undefined && { opsPort }),
    async close() {
      shuttingDown = true;
      for (const close of closers) await close();
      await queue.close();
      await digestQueue.close();
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}

/**
 * Runs until SIGTERM or SIGINT, then closes gracefully (see `start`). A second signal, or a close
 * that hangs past the grace period plus 30 s, exits at once.
 */
export async function runUntilSignal(running: Running, logger: Logger, graceMs = 20_000): Promise<void> {
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) process.exit(1);
    stopping = true;
    logger.info({ signal }, "shutting down");
    const force = setTimeout(() => process.exit(1), graceMs + 30_000);
    force.unref();
    await running.close();
    logger.info({}, "shut down");
    process.exit(0);
  };
  process.on("SIGTERM", () => void stop("SIGTERM"));
  process.on("SIGINT", () => void stop("SIGINT"));
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
    await runUntilSignal(await start(config, logger, roles), logger, config.shutdownGraceMs);
  } catch (err) {
    logger.fatal({ err: err instanceof Error ? err.message : String(err) }, "lensbot could not start");
    process.exit(1);
  }
}

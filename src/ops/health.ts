import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Queue } from "bullmq";
import type { Cluster, Redis } from "ioredis";
import { withTimeout } from "../slack/timeout.js";
import type { Metrics } from "./metrics.js";

/** What readiness depends on. */
export interface ReadinessDeps {
  redis: Redis | Cluster;
  /** The queues this process serves; a paused one makes it unready. */
  queues: readonly Queue[];
  /** Whether the lens catalogue loaded (it is loaded before anything starts). */
  catalogueLoaded: () => boolean;
  /** How long each check may take (ms). Default 1 s. */
  timeoutMs?: number;
}

/** Each check's result: "ok", or why not. */
export type Checks = Record<string, string>;

/**
 * Readiness: Redis answers PING, no queue of this process is paused, the catalogue is loaded.
 * Each check is bounded by `timeoutMs`, so a Redis that went away makes this unready within that
 * time instead of hanging the probe.
 */
export async function readiness(deps: ReadinessDeps): Promise<{ ready: boolean; checks: Checks }> {
  const ms = deps.timeoutMs ?? 1_000;
  const checks: Checks = {};
  try {
    await withTimeout(deps.redis.ping(), ms, "Redis");
    checks.redis = "ok";
  } catch (err) {
    checks.redis = `unreachable: ${(err as Error).message}`;
  }
  for (const queue of deps.queues) {
    try {
      checks[`queue:${queue.name}`] = (await withTimeout(queue.isPaused(), ms, "Redis")) ? "paused" : "ok";
    } catch (err) {
      checks[`queue:${queue.name}`] = `unknown: ${(err as Error).message}`;
    }
  }
  checks.catalogue = deps.catalogueLoaded() ? "ok" : "not loaded";
  return { ready: Object.values(checks).every((c) => c === "ok"), checks };
}

/** One route of the ops endpoints, in the shape Bolt's receivers take as `customRoutes`. */
export interface OpsRoute {
  path: string;
  method: string[];
  handler: (req: IncomingMessage, res: ServerResponse) => void;
}

/**
 * `/healthz` (the process is up: 200), `/readyz` (200 or 503 with each check, JSON) and
 * `/metrics` (Prometheus text format).
 */
export function opsRoutes(deps: ReadinessDeps & { metrics: Metrics }): OpsRoute[] {
  const json = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { "content-type": "application/json" });
    res.end(JSON.stringify(body));
  };
  return [
    { path: "/healthz", method: ["GET"], handler: (_req, res) => json(res, 200, { status: "ok" }) },
    {
      path: "/readyz",
      method: ["GET"],
      handler: (_req, res) => {
        void readiness(deps).then(({ ready, checks }) => json(res, ready ? 200 : 503, { ready, checks }));
      },
    },
    {
      path: "/metrics",
      method: ["GET"],
      handler: (_req, res) => {
        void deps.metrics.registry.metrics().then(
          (text) => {
            res.writeHead(200, { "content-type": deps.metrics.registry.contentType });
            res.end(text);
          },
          () => json(res, 500, { error: "metrics unavailable" }),
        );
      },
    },
  ];
}

/**
 * A small HTTP server of its own for the ops routes, where no HTTP receiver runs (Socket Mode, and
 * `npm run worker`). Listens on `host` (all interfaces by default); close it with `server.close()`.
 * @throws the listen error, e.g. EADDRINUSE when another process has the port.
 */
export async function startOpsServer(
  routes: readonly OpsRoute[],
  port: number,
  host = "0.0.0.0",
): Promise<Server> {
  const server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    const route = routes.find((r) => r.path === path && r.method.includes(req.method ?? "GET"));
    if (route) route.handler(req, res);
    else {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  return server;
}

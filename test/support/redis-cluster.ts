/**
 * Vitest global setup for the "cluster" project: a real Redis Cluster of three masters on
 * loopback ports, started from `redis-server --cluster-enabled yes` and joined with
 * `redis-cli --cluster create`, then handed to the tests as `inject("redisClusterUrl")`
 * (`redis+cluster://127.0.0.1:p1,127.0.0.1:p2,127.0.0.1:p3`). Nothing is persisted; teardown
 * stops the servers and removes their directories.
 *
 * Set `REDIS_CLUSTER_URL` to use a cluster that is already running instead.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import type { TestProject } from "vitest/node";
import { waitFor } from "./wait.js";

declare module "vitest" {
  export interface ProvidedContext {
    redisClusterUrl: string;
  }
}

const run = promisify(execFile);

/** Resolves when `port` (and its cluster bus port, +10000) can be bound on loopback. */
async function free(port: number): Promise<boolean> {
  const tryBind = (p: number) =>
    new Promise<boolean>((resolve) => {
      const server = createServer();
      server.once("error", () => resolve(false));
      server.listen(p, "127.0.0.1", () => server.close(() => resolve(true)));
    });
  return (await tryBind(port)) && (await tryBind(port + 10_000));
}

async function pickPorts(count: number): Promise<number[]> {
  const ports: number[] = [];
  for (let port = 17_000 + Math.floor(Math.random() * 20_000); ports.length < count; port++) {
    if (await free(port)) ports.push(port);
  }
  return ports;
}

const cli = (port: number, ...args: string[]) =>
  run("redis-cli", ["-h", "127.0.0.1", "-p", String(port), ...args]).then((r) => r.stdout);

export default async function setup(project: TestProject): Promise<() => void> {
  if (process.env.REDIS_CLUSTER_URL) {
    project.provide("redisClusterUrl", process.env.REDIS_CLUSTER_URL);
    return () => {};
  }
  const ports = await pickPorts(3);
  const dirs: string[] = [];
  const servers: ChildProcess[] = [];
  const teardown = () => {
    for (const server of servers) server.kill("SIGKILL");
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (const port of ports) {
      const dir = mkdtempSync(join(tmpdir(), `lensbot-cluster-${port}-`));
      dirs.push(dir);
      // The servers live as long as this test run; stdio ignored so they never hold vitest open.
      const server = spawn(
        "redis-server",
        [
          "--port",
          String(port),
          "--bind",
          "127.0.0.1",
          "--cluster-enabled",
          "yes",
          "--cluster-config-file",
          "nodes.conf",
          "--dir",
          dir,
          "--save",
          "",
          "--appendonly",
          "no",
        ],
        { stdio: "ignore" },
      );
      servers.push(server);
    }
    // A check that throws (the server is not listening yet) counts as "not yet".
    const answers = (port: number, args: string[], text: string) => () =>
      cli(port, ...args).then(
        (out) => out.includes(text),
        () => false,
      );
    for (const port of ports)
      await waitFor(answers(port, ["ping"], "PONG"), 15_000, `Redis on 127.0.0.1:${port}`);
    await run("redis-cli", [
      "--cluster",
      "create",
      ...ports.map((p) => `127.0.0.1:${p}`),
      "--cluster-replicas",
      "0",
      "--cluster-yes",
    ]);
    for (const port of ports) {
      await waitFor(answers(port, ["cluster", "info"], "cluster_state:ok"), 15_000, "cluster_state:ok");
    }
  } catch (err) {
    teardown();
    throw err;
  }
  project.provide("redisClusterUrl", `redis+cluster://${ports.map((p) => `127.0.0.1:${p}`).join(",")}`);
  return teardown;
}

/**
 * A redis-server of a test's own on a free loopback port, with AOF on (as in production), that the
 * test can stop and start again, as a Redis restart or outage looks to lensbot.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, waitFor } from "./harness.js";

export class OwnRedis {
  readonly dir = mkdtempSync(join(tmpdir(), "lensbot-redis-"));
  #server: ChildProcess | undefined;

  private constructor(readonly port: number) {}

  /** Starts one on a free port; resolves once it accepts connections. */
  static async start(): Promise<OwnRedis> {
    const redis = new OwnRedis(await freePort());
    await redis.restart();
    return redis;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Whether the server process is running. */
  get running(): boolean {
    return this.#server !== undefined && this.#server.exitCode === null && this.#server.signalCode === null;
  }

  /** Starts the server again on the same port and data directory. */
  async restart(): Promise<void> {
    const server = spawn("redis-server", [
      "--port",
      String(this.port),
      "--bind",
      "127.0.0.1",
      "--dir",
      this.dir,
      "--appendonly",
      "yes",
      "--appendfsync",
      "always",
      "--save",
      "",
    ]);
    this.#server = server;
    let out = "";
    server.stdout?.on("data", (d) => (out += d));
    await waitFor(() => out.includes("Ready to accept connections"), 10_000, "redis-server to start");
  }

  /** Stops it as a restart would (SIGTERM: it finishes writing the AOF and exits). */
  async stop(): Promise<void> {
    const s = this.#server;
    if (!s || !this.running) return;
    const exited = new Promise((r) => s.once("exit", r));
    s.kill("SIGTERM");
    await exited;
  }

  /** Stops it and removes its data. */
  async remove(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

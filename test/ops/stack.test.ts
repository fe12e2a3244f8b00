/** The local stack's files say what the README promises: Redis with AOF, app and workers, a valid .env. */
import { execFile, execFileSync } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { load } from "js-yaml";
import { describe, expect, it } from "vitest";
import { loadConfig, requireSlack } from "../../src/config.js";
import { startOpsServer } from "../../src/ops/health.js";
import { freePort } from "../support/harness.js";

const run = promisify(execFile);

describe("compose.yaml and .env.example", () => {
  it("runs Redis with AOF, the app on 3000 and scalable workers on that Redis", () => {
    const compose = load(readFileSync("compose.yaml", "utf8")) as {
      services: Record<
        string,
        { command?: string[]; environment?: Record<string, string>; ports?: string[]; build?: string }
      >;
    };
    const { redis, app, worker } = compose.services;
    expect(redis?.command).toEqual(expect.arrayContaining(["--appendonly", "yes"]));
    expect(app?.ports).toEqual(["3000:3000"]);
    expect(worker?.command).toEqual(["node", "dist/worker-main.js"]);
    for (const s of [app, worker]) expect(s?.environment?.REDIS_URL).toBe("redis://redis:6379");
    expect(worker?.ports).toBeUndefined(); // so `--scale worker=3` never clashes on a host port
  });

  it(".env.example, as written, is a configuration lensbot accepts", () => {
    const env: Record<string, string> = {};
    for (const line of readFileSync(".env.example", "utf8").split("\n")) {
      const match = /^([A-Z_]+)=(.*)$/.exec(line.trim());
      if (match) env[match[1] as string] = match[2] as string;
    }
    expect(Object.keys(env)).toEqual(["SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET"]);
    expect(() => requireSlack(loadConfig(env))).not.toThrow();
  });
});

/** `docker compose` (the plugin) or `docker-compose` (v1), whichever is installed; neither: undefined. */
const composeCommand = (() => {
  for (const cmd of [["docker", "compose"], ["docker-compose"]]) {
    try {
      execFileSync(cmd[0] as string, [...cmd.slice(1), "version"], { stdio: "ignore" });
      return cmd;
    } catch {}
  }
  return undefined;
})();

describe("docker compose config", () => {
  // .ci/run installs docker-compose where neither is present; a developer machine may skip this.
  it.skipIf(!composeCommand)(
    "validates compose.yaml with the README's .env (cp .env.example .env)",
    async () => {
      const dir = mkdtempSync(join(tmpdir(), "lensbot-compose-"));
      try {
        copyFileSync("compose.yaml", join(dir, "compose.yaml"));
        copyFileSync(".env.example", join(dir, ".env"));
        const [bin, ...pre] = composeCommand as string[];
        const { stdout } = await run(bin as string, [
          ...pre,
          "--project-directory",
          dir,
          "-f",
          join(dir, "compose.yaml"),
          "config",
        ]);
        const resolved = load(stdout) as {
          services: Record<string, { environment?: Record<string, string>; command?: string[] }>;
        };
        expect(Object.keys(resolved.services).sort()).toEqual(["app", "redis", "worker"]);
        for (const name of ["app", "worker"]) {
          expect(resolved.services[name]?.environment).toMatchObject({
            REDIS_URL: "redis://redis:6379",
            SLACK_BOT_TOKEN: "xoxb-your-bot-token",
            SLACK_SIGNING_SECRET: "your-signing-secret",
          });
        }
        // A broken file is refused, so the check above means something.
        writeFileSync(join(dir, "compose.yaml"), "services:\n  app:\n    build: .\n    ports: 3000\n");
        await expect(
          run(bin as string, [...pre, "--project-directory", dir, "-f", join(dir, "compose.yaml"), "config"]),
        ).rejects.toBeDefined();
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});

describe("the image's HEALTHCHECK (bin/healthcheck.js)", () => {
  it("is healthy when /healthz answers on either port, unhealthy when none does", async () => {
    const [opsPort, unused] = [await freePort(), await freePort()];
    const server = await startOpsServer(
      [{ path: "/healthz", method: ["GET"], handler: (_req, res) => res.end("ok") }],
      opsPort,
      "127.0.0.1",
    );
    try {
      const env = { ...process.env, PORT: String(unused), LENSBOT_OPS_PORT: String(opsPort) };
      await expect(run("node", ["bin/healthcheck.js"], { env })).resolves.toBeDefined();
    } finally {
      await new Promise((r) => server.close(r));
    }
    const down = { ...process.env, PORT: String(unused), LENSBOT_OPS_PORT: String(opsPort) };
    await expect(run("node", ["bin/healthcheck.js"], { env: down })).rejects.toMatchObject({ code: 1 });
  });
});

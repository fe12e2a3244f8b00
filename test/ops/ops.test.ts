/**
 * Health and metrics through the real runtime (`start`): /healthz and /readyz on a worker's own
 * ops port while its Redis goes away and comes back, and /metrics on the HTTP receiver moving
 * during an end-to-end /lens run against the fake Web API.
 */
import { randomBytes } from "node:crypto";
import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.js";
import { createLogger } from "../../src/logger.js";
import { type Running, start } from "../../src/runtime.js";
import { FakeSlack } from "../fakes/slack.js";
import {
  BOT_TOKEN,
  deleteDeployment,
  freePort,
  quietLogger,
  REDIS_URL,
  SIGNING_SECRET,
  slashCommand,
  waitFor,
} from "../support/harness.js";
import { OwnRedis } from "../support/redis-server.js";

let slack: FakeSlack;

beforeAll(async () => {
  slack = await FakeSlack.start();
});
afterAll(async () => {
  await slack.close();
});

const prefix = `ops-${randomBytes(4).toString("hex")}`;

const env = async (extra: Record<string, string>) =>
  loadConfig({
    SLACK_BOT_TOKEN: BOT_TOKEN,
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    SLACK_API_URL: slack.apiUrl,
    LENSBOT_REDIS_PREFIX: prefix,
    LENSBOT_REDIS_TIMEOUT_MS: "500",
    LENSBOT_STREAMING: "off",
    PORT: String(await freePort()),
    LENSBOT_OPS_PORT: "0",
    ...extra,
  });

describe("/healthz and /readyz (a worker's own ops port)", () => {
  let redis: OwnRedis;
  let running: Running;
  beforeAll(async () => {
    redis = await OwnRedis.start();
    running = await start(await env({ REDIS_URL: redis.url }), quietLogger, { app: false, worker: true });
  });
  afterAll(async () => {
    if (!redis.running) await redis.restart();
    await running?.close();
    await redis.remove();
  });

  const get = async (path: string) => {
    const res = await fetch(`http://127.0.0.1:${running.opsPort}${path}`);
    return {
      status: res.status,
      body: (await res.json()) as { ready?: boolean; checks?: Record<string, string> },
    };
  };

  it("is healthy, and ready only while Redis answers: unready within 5 s of it going away, ready again after", async () => {
    expect(running.opsPort).toBeGreaterThan(0);
    expect((await get("/healthz")).status).toBe(200);
    expect(await get("/readyz")).toEqual({
      status: 200,
      body: {
        ready: true,
        checks: { redis: "ok", "queue:analysis": "ok", "queue:digest": "ok", catalogue: "ok" },
      },
    });
    await redis.stop();
    const stoppedAt = Date.now();
    const down = await waitFor(
      async () => {
        const r = await get("/readyz");
        return r.status === 503 ? r : undefined;
      },
      5_000,
      "/readyz to turn unready",
    );
    expect(Date.now() - stoppedAt).toBeLessThan(5_000);
    expect(down.body.checks?.redis).toMatch(/^unreachable/);
    expect((await get("/healthz")).status).toBe(200);
    await redis.restart();
    await waitFor(async () => (await get("/readyz")).status === 200, 15_000, "/readyz to be ready again");
  });
});

describe("several processes on one host", () => {
  it("a worker whose ops port is taken runs on without the endpoints, and says so", async () => {
    const first = await start(await env({ REDIS_URL }), quietLogger, { app: false, worker: true });
    const warned: string[] = [];
    const logger = {
      ...quietLogger,
      warn: (_o: object, msg?: string) => void warned.push(msg ?? ""),
    } as typeof quietLogger;
    try {
      const second = await start(await env({ REDIS_URL, LENSBOT_OPS_PORT: String(first.opsPort) }), logger, {
        app: false,
        worker: true,
      });
      expect(second.opsPort).toBeUndefined();
      expect(warned.some((m) => m.startsWith("health and metrics not served"))).toBe(true);
      await second.close();
    } finally {
      await first.close();
    }
  });
});

describe("/metrics (on the HTTP receiver)", () => {
  let running: Running;
  beforeAll(async () => {
    running = await start(await env({ REDIS_URL }), quietLogger, { app: true, worker: true });
  });
  afterAll(async () => {
    await running?.close();
    await deleteDeployment(REDIS_URL, prefix);
  });

  /** The value of the first sample line matching `line` in Prometheus text, or 0. */
  const sample = (text: string, line: RegExp) =>
    Number(
      text
        .split("\n")
        .find((l) => line.test(l))
        ?.split(" ")
        .at(-1) ?? 0,
    );

  it("counts Slack calls, requests, steps and queue jobs as a /lens run goes", async () => {
    const url = `http://127.0.0.1:${running.port}`;
    const before = await (await fetch(`${url}/metrics`)).text();
    expect(before).toContain("process_cpu_user_seconds_total");
    await slashCommand(
      `${url}/slack/events`,
      "Our dashboard API is stuck at 350 ms despite caching, indexes and pooling.",
      { channel_id: "C0OPS" },
    );
    await waitFor(
      () => slack.messages("C0OPS").some((m) => JSON.stringify(m.blocks ?? []).includes("✅ *Done*")),
      15_000,
      "the run to finish",
    );
    const after = await waitFor(
      async () => {
        const text = await (await fetch(`${url}/metrics`)).text();
        return sample(text, /^lensbot_queue_jobs\{queue="analysis",state="completed"\}/) >= 1
          ? text
          : undefined;
      },
      5_000,
      "the job to count as completed",
    );
    const posts = /^lensbot_slack_api_calls_total\{method="chat.postMessage"\}/;
    expect(sample(after, posts)).toBeGreaterThan(sample(before, posts));
    expect(sample(after, /^lensbot_requests_total\{kind="command",outcome="handled"\}/)).toBe(1);
    expect(sample(after, /^lensbot_step_duration_seconds_count\{step="analyze"\}/)).toBeGreaterThanOrEqual(2);
    expect(sample(after, /^lensbot_step_duration_seconds_count\{step="synthesize"\}/)).toBe(1);
    expect(after).not.toContain(BOT_TOKEN);
  });
});

describe("log lines (the real pino logger)", () => {
  it("carry the run id, team and channel, and never a token, a secret or the thread's text", async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, done) {
        lines.push(...String(chunk).split("\n").filter(Boolean));
        done();
      },
    });
    const running = await start(await env({ REDIS_URL }), createLogger("info", sink), {
      app: true,
      worker: true,
    });
    const secretText = "Our billing export stalls at 2 GB since the ledger-v7 migration";
    try {
      const url = `http://127.0.0.1:${running.port}`;
      await slashCommand(`${url}/slack/events`, secretText, { channel_id: "C0LOGS" });
      await waitFor(
        () => slack.messages("C0LOGS").some((m) => JSON.stringify(m.blocks ?? []).includes("✅ *Done*")),
        15_000,
        "the run to finish",
      );
      await waitFor(() => lines.some((l) => l.includes('"analysis done"')), 5_000, "the done line");
      // A run Slack refuses to start is logged with the same fields.
      slack.fail("chat.postMessage", "channel_not_found");
      await slashCommand(`${url}/slack/events`, secretText, { channel_id: "C0LOGS2" });
      await waitFor(
        () => lines.some((l) => l.includes('"could not start an analysis"')),
        5_000,
        "the failure line",
      );
    } finally {
      await running.close();
    }
    const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    const done = parsed.find((l) => l.msg === "analysis done");
    expect(done).toMatchObject({ team: "T0TEST", channel: "C0LOGS", runId: expect.any(String) });
    // Every line about a run says where it ran.
    const aboutRuns = parsed.filter((l) => l.runId !== undefined);
    expect(aboutRuns.length).toBeGreaterThan(0);
    for (const line of aboutRuns) expect(line).toMatchObject({ team: "T0TEST", channel: expect.any(String) });
    expect(parsed.find((l) => l.msg === "could not start an analysis")).toMatchObject({ channel: "C0LOGS2" });
    const all = lines.join("\n");
    expect(all).not.toContain(BOT_TOKEN);
    expect(all).not.toContain(SIGNING_SECRET);
    expect(all).not.toContain("ledger-v7");
  });
});

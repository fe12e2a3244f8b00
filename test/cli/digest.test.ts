/** `lens digest` reads the records a deployment keeps in Redis and prints the digest Slack would get. */
import { randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.js";
import type { Digest } from "../../src/digest/build.js";
import { connectRedis, type RedisClient } from "../../src/runtime.js";
import { DigestStore } from "../../src/store/digests.js";
import { RecordStore } from "../../src/store/records.js";
import { deleteMatching, REDIS_URL } from "../support/harness.js";
import { seedRun } from "../support/records.js";

const prefix = `lens-cli-${randomBytes(4).toString("hex")}`;
const DAY = 86_400_000;
let redis: RedisClient;

async function lens(args: string[], env: NodeJS.ProcessEnv = {}) {
  let stdout = "";
  let stderr = "";
  const code = await main(args, {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s), isTTY: false },
    stdin: Object.assign(Readable.from([]), { isTTY: false }),
    env: { REDIS_URL, LENSBOT_REDIS_PREFIX: prefix, ...env },
  });
  return { code, stdout, stderr };
}

beforeAll(async () => {
  redis = connectRedis(REDIS_URL, "worker");
  const store = new RecordStore(redis, { prefix });
  const now = Date.now();
  const first = await seedRun(store, {
    team: "T1",
    channel: "C0INC",
    at: now - 2 * DAY,
    lenses: ["theory-of-constraints", "five-whys"],
    reframe: "Deploys queue behind one approver",
    actions: ["Add a second approver for deploys"],
  });
  await seedRun(store, {
    team: "T1",
    channel: "C0OPS",
    at: now - DAY,
    lenses: ["theory-of-constraints"],
    reframe: "Pages pile up on one person",
    actions: ["Add a second approver for deploys"],
  });
  await seedRun(store, {
    team: "T1",
    channel: "C0INC",
    at: now - 9 * DAY,
    lenses: ["swiss-cheese-model"],
    reframe: "Too old for a week",
  });
  // People's 👍/👎 on the first analysis's cards (U2 changed their mind: only the last vote counts).
  await store.recordVote(first.runId, "theory-of-constraints", "U1", "up", "T1");
  await store.recordVote(first.runId, "theory-of-constraints", "U2", "down", "T1");
  await store.recordVote(first.runId, "theory-of-constraints", "U2", "up", "T1");
  await store.recordVote(first.runId, "synthesis", "U1", "down", "T1");
  // The channel C0RETRO has a digest fed by both channels, in Paris time.
  await new DigestStore(redis, { prefix }).save({
    team: "T1",
    channel: "C0RETRO",
    cadence: "weekly",
    weekday: 1,
    time: "09:00",
    tz: "Europe/Paris",
    sources: ["C0INC", "C0OPS"],
    quiet: false,
    anchorMs: now,
    configuredBy: "U1",
    updatedAt: now,
  });
});

afterAll(async () => {
  await deleteMatching(redis, `${prefix}:*`);
  redis.disconnect();
});

describe("lens digest", () => {
  it("--json: the configured channel's digest, from its sources, within --since", async () => {
    const { code, stdout, stderr } = await lens([
      "digest",
      "--since",
      "7d",
      "--channel",
      "C0RETRO",
      "--json",
    ]);
    expect(stderr).toBe("");
    expect(code).toBe(0);
    const digest = JSON.parse(stdout) as Digest;
    expect(digest.sources).toEqual(["C0INC", "C0OPS"]);
    expect(digest.tz).toBe("Europe/Paris");
    expect(digest.analyses.map((a) => a.headline)).toEqual([
      "Deploys queue behind one approver",
      "Pages pile up on one person",
    ]);
    expect(digest.lenses[0]).toMatchObject({ id: "theory-of-constraints", count: 2 });
    expect(digest.recurringActions).toEqual([
      { text: "Add a second approver for deploys", refs: ["A1", "A2"] },
    ]);
    expect(digest.retro?.source).toBe("offline");
  });

  it("text: every part of the digest, and every channel when none is named", async () => {
    const { code, stdout } = await lens(["digest", "--since", "14d"]);
    expect(code).toBe(0);
    expect(stdout).toContain("3 analyses from C0INC, C0OPS");
    expect(stdout).toContain("A3. Pages pile up on one person (Theory of Constraints)");
    expect(stdout).toContain("* Theory of Constraints: 2 (new)");
    expect(stdout).toContain("== Questions for the retro");
    expect(stdout).toContain("== Lens of the period:");
    expect(stdout).toContain("Offline engine: patterns, themes and questions come from the lens catalogue");
  });

  it("lens feedback: votes per lens and for the synthesis; the digest shows those of its analyses", async () => {
    const { code, stdout } = await lens(["feedback", "--since", "30d", "--json"]);
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toEqual([
      { id: "theory-of-constraints", name: "Theory of Constraints", up: 2, down: 0 },
      { id: "synthesis", name: "Synthesis", up: 0, down: 1 },
    ]);
    expect((await lens(["feedback"])).stdout).toMatch(/Theory of Constraints\s+👍\s+2\s+👎\s+0/);
    const digest = JSON.parse(
      (await lens(["digest", "--since", "7d", "--channel", "C0RETRO", "--json"])).stdout,
    ) as Digest;
    expect(digest.feedback[0]).toEqual({
      id: "theory-of-constraints",
      name: "Theory of Constraints",
      up: 2,
      down: 0,
    });
  });

  it("says what it expected, or that Redis is away", async () => {
    expect(await lens(["digest", "--since", "soon"])).toMatchObject({
      code: 2,
      stderr: expect.stringContaining("expected a number and a unit, such as 24h, 7d or 2w"),
    });
    const away = await lens(["digest"], {
      REDIS_URL: "redis://127.0.0.1:1",
      LENSBOT_REDIS_TIMEOUT_MS: "300",
    });
    expect(away.code).toBe(1);
    expect(away.stderr).toBe("lens: Cannot reach Redis at 127.0.0.1:1 (REDIS_URL).\n");
  });
});

/** Slot claims and run locks on the real Redis (the scripts are what make them atomic). */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectRedis, type RedisClient } from "../../src/runtime.js";
import { RecordStore } from "../../src/store/records.js";
import { REDIS_URL } from "../support/harness.js";

let redis: RedisClient;
let store: RecordStore;
let clock = 1_000_000;
const prefix = `lensbot-test-records-${randomBytes(4).toString("hex")}`;

beforeAll(async () => {
  redis = connectRedis(REDIS_URL, "commands");
  await new Promise((r) => (redis.status === "ready" ? r(undefined) : redis.once("ready", r)));
  store = new RecordStore(redis, { prefix, ttlSeconds: 60, now: () => clock });
});
afterAll(async () => {
  for (const key of await redis.keys(`${prefix}:*`)) await redis.del(key);
  redis.disconnect();
});

describe("message slot claims", () => {
  it("lets one owner post, keeps others waiting, then hands a stale claim over with a warning", async () => {
    expect(await store.claimSlot("r1", "mode#0", "a", 15_000)).toEqual({ state: "claimed" });
    expect(await store.claimSlot("r1", "mode#0", "b", 15_000)).toEqual({ state: "busy" });
    clock += 15_000;
    expect(await store.claimSlot("r1", "mode#0", "b", 15_000)).toEqual({ state: "stale", owner: "a" });
    // Now b's: a is the one kept waiting.
    expect(await store.claimSlot("r1", "mode#0", "a", 15_000)).toEqual({ state: "busy" });
    await store.saveMessageTs("r1", "mode#0", "1700000000.000200");
    expect(await store.claimSlot("r1", "mode#0", "a", 15_000)).toEqual({
      state: "posted",
      ts: "1700000000.000200",
    });
  });

  it("makes an owner that claims its own unrecorded slot again look before posting", async () => {
    // Its post may have reached Slack with the ts never saved (Redis went away in between).
    expect(await store.claimSlot("r2", "status#0", "a", 15_000)).toEqual({ state: "claimed" });
    expect(await store.claimSlot("r2", "status#0", "a", 15_000)).toEqual({ state: "stale", owner: "a" });
  });
});

describe("run locks", () => {
  it("holds a run for one token until released or expired", async () => {
    expect(await store.lockRun("r3", "a", 60_000)).toBe(true);
    expect(await store.lockRun("r3", "a", 60_000)).toBe(true); // renewal
    expect(await store.lockRun("r3", "b", 60_000)).toBe(false);
    await store.unlockRun("r3", "b"); // not b's to release
    expect(await store.lockRun("r3", "b", 60_000)).toBe(false);
    await store.unlockRun("r3", "a");
    expect(await store.lockRun("r3", "b", 60_000)).toBe(true);
  });
});

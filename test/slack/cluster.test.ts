/**
 * Runs on the "redis-cluster" project only (see vitest.config.ts): proves the suites there really
 * use the three-master cluster, that run records spread over its masters while each run's keys
 * share a slot, and that BullMQ's keys all sit in the slot of the hash-tagged queue prefix.
 */
import { Cluster } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type Harness,
  REDIS_URL,
  roots,
  slashCommand,
  startHarness,
  waitFor,
  waitForDone,
} from "../support/harness.js";

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

/** Every key matching `pattern` on each master, by master. */
async function keysByMaster(cluster: Cluster, pattern: string): Promise<string[][]> {
  return Promise.all(cluster.nodes("master").map((node) => node.keys(pattern)));
}

describe("on a local Redis Cluster", () => {
  it("connects to the cluster the project started", () => {
    expect(REDIS_URL).toMatch(/^redis\+cluster:\/\/127\.0\.0\.1:\d+(,127\.0\.0\.1:\d+){2}$/);
    expect(h.redis).toBeInstanceOf(Cluster);
    expect((h.redis as Cluster).nodes("master")).toHaveLength(3);
  });

  it("completes eight runs with records spread over the masters and each run's keys in one slot", async () => {
    const problems = Array.from(
      { length: 8 },
      (_, i) => `Checkout run ${i}: p99 latency doubled after the cache change`,
    );
    for (const text of problems) await slashCommand(h.url, text);
    for (const text of problems) {
      const root = await waitFor(() => roots(h, "C0LENS").find((m) => m.text.includes(text.slice(0, 14))));
      await waitForDone(h, "C0LENS", root.ts);
    }
    const cluster = h.redis as Cluster;
    const runKeys = await keysByMaster(cluster, `${h.recordPrefix}:{run:*}`);
    expect(runKeys.flat().length).toBeGreaterThanOrEqual(8);
    expect(runKeys.filter((keys) => keys.length > 0).length).toBeGreaterThanOrEqual(2);
    // A run's hash, slots and lock share the hash tag, so its keys sit in one slot (one master).
    const slotOf = async (key: string) => Number(await cluster.cluster("KEYSLOT", key));
    for (const keys of runKeys) {
      for (const key of keys.filter((k) => k.endsWith(":slots"))) {
        expect(await slotOf(key)).toBe(await slotOf(key.replace(/:slots$/, "")));
      }
    }
    const bullKeys = (await keysByMaster(cluster, `${h.bullPrefix}:*`)).filter((keys) => keys.length > 0);
    expect(bullKeys).toHaveLength(1);
    const slots = new Set(await Promise.all((bullKeys[0] as string[]).map(slotOf)));
    expect(slots.size).toBe(1);
  });
});

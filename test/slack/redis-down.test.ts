/** When Redis is unreachable, a person who types /lens still gets a clear answer, and nothing hangs. */
import { Redis } from "ioredis";
import { afterAll, beforeAll, expect, it } from "vitest";
import { HomeTab } from "../../src/app/home.js";
import { createDigestQueue } from "../../src/queue/digest.js";
import { createAnalysisQueue } from "../../src/queue/queue.js";
import { createSlackApp } from "../../src/slack/app.js";
import { DigestStore } from "../../src/store/digests.js";
import { RecordStore } from "../../src/store/records.js";
import { FakeSlack } from "../fakes/slack.js";
import { BOT_TOKEN, catalogue, opened, SIGNING_SECRET, slashCommand, waitFor } from "../support/harness.js";

let slack: FakeSlack;
let redis: Redis;
let close: () => Promise<void>;
let url: string;

beforeAll(async () => {
  slack = await FakeSlack.start();
  // Port 1 on loopback: connection refused, as when Redis restarts.
  redis = new Redis("redis://127.0.0.1:1", { maxRetriesPerRequest: null, retryStrategy: () => 200 });
  redis.on("error", () => {});
  const queue = createAnalysisQueue(redis, "bull-down");
  queue.on("error", () => {});
  const digestQueue = createDigestQueue(redis, "bull-down");
  digestQueue.on("error", () => {});
  const app = createSlackApp({
    botToken: BOT_TOKEN,
    signingSecret: SIGNING_SECRET,
    apiUrl: slack.apiUrl,
    queue,
    store: new RecordStore(redis),
    digest: { queue: digestQueue, store: new DigestStore(redis) },
    library: opened,
    home: new HomeTab({
      records: new RecordStore(redis),
      digests: new DigestStore(redis),
      library: opened,
      logger: { info() {}, warn() {}, error() {} },
    }),
    catalogue,
    logger: { info() {}, warn() {}, error() {} },
    enqueueTimeoutMs: 300,
  });
  const server = (await app.start(0)) as unknown as { address(): { port: number } };
  url = `http://127.0.0.1:${server.address().port}/slack/events`;
  close = async () => {
    await app.stop();
    redis.disconnect();
    await slack.close();
  };
});

afterAll(async () => {
  await close();
});

it("acks at once and then tells the user the queue is unreachable, with a reference", async () => {
  const t0 = performance.now();
  const ack = await slashCommand(url, "Our builds take 40 minutes and nobody knows why", {
    trigger_id: "down-1",
    response_url: slack.responseUrl("down-1"),
  });
  expect(performance.now() - t0).toBeLessThan(1_000);
  expect(ack.status).toBe(200);
  expect(JSON.parse(ack.text).text).toContain("On it");
  const notice = await waitFor(() => slack.responses().find((r) => r.id === "down-1"), 5_000, "the notice");
  expect(String(notice.body.text)).toMatch(/queue is not reachable right now.*reference \w{8}/);
  expect(slack.calls("chat.postMessage")).toHaveLength(0); // no orphan root message without a job
});

it("/lens digest: tells the person their change was not made, and what to do", async () => {
  slack.addUser({ id: "U0ASKER", name: "asker", real_name: "Ada Asker", tz: "Europe/Paris" });
  const ack = await slashCommand(url, "digest on weekly mon 09:30", {
    trigger_id: "down-digest",
    response_url: slack.responseUrl("down-digest"),
  });
  expect(ack.status).toBe(200);
  const notice = await waitFor(
    () => slack.responses().find((r) => r.id === "down-digest"),
    5_000,
    "the notice",
  );
  expect(String(notice.body.text)).toBe(
    "Sorry, I could not do that just now, so nothing was changed. Please try again in a minute (reference n-digest).",
  );
  expect(slack.calls("chat.postMessage")).toHaveLength(0);
});

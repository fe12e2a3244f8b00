/**
 * The synthesis's risks table through the real WebClient and the fake Web API: the fake holds
 * `table` blocks to Slack's rules, and the publisher posts aligned sections instead where a
 * workspace refuses tables, so the synthesis is never lost. Records on real Redis.
 */
import { WebClient } from "@slack/web-api";
import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { renderSynthesis } from "../../src/cli/render.js";
import { isFullSynthesis } from "../../src/pipeline/schemas.js";
import { synthesisCard } from "../../src/slack/blocks/cards.js";
import { checkBlockKitLimits } from "../../src/slack/blocks/limits.js";
import { ThreadPublisher } from "../../src/slack/publisher.js";
import { RecordStore } from "../../src/store/records.js";
import { FakeSlack } from "../fakes/slack.js";
import { BOT_TOKEN, catalogue, deleteMatching, REDIS_URL } from "../support/harness.js";
import { seedRun } from "../support/records.js";
import { fullSynthesis } from "../support/synthesis.js";

let slack: FakeSlack;
let redis: Redis;
let store: RecordStore;
const prefix = `lensbot-test-table-${process.pid}-${Date.now()}`;

beforeAll(async () => {
  slack = await FakeSlack.start();
  redis = new Redis(REDIS_URL, { lazyConnect: false });
  store = new RecordStore(redis, { prefix, ttlSeconds: 600 });
});

afterAll(async () => {
  await deleteMatching(redis, `${prefix}*`);
  redis.disconnect();
  await slack.close();
});

beforeEach(() => {
  slack.reset();
  slack.tableBlocks = true;
});

afterEach(() => {
  slack.tableBlocks = true;
});

const client = () => new WebClient(BOT_TOKEN, { slackApiUrl: slack.apiUrl, retryConfig: { retries: 0 } });

/** A run with a thread to post in, and a publisher for it (in workspace `teamId`, when given). */
async function publisherFor(runId: string, teamId?: string) {
  const { thread_ts } = slack.seedThread("C0TABLE", [{ user: "U0ASKER", text: "Dashboard stuck at 350 ms" }]);
  const publisher = new ThreadPublisher(
    { client: client(), store, catalogue, owner: `owner-${runId}` },
    { runId, channel: "C0TABLE", threadTs: thread_ts, ...(teamId && { teamId }) },
  );
  return { publisher, thread_ts };
}

const post = (blocks: unknown[], attachments?: unknown[]) =>
  client().chat.postMessage({
    channel: "C0TABLE",
    text: "t",
    blocks: blocks as never,
    ...(attachments && { attachments: attachments as never }),
  });
const raw = (text: string) => ({ type: "raw_text", text });
const table = (rows: unknown[][], extra: object = {}) => ({ type: "table", rows, ...extra });
const platformError = (p: Promise<unknown>) =>
  p.then(
    () => "ok",
    (err: { data?: { error?: string } }) => err.data?.error ?? String(err),
  );

describe("the fake Web API holds tables to Slack's rules", () => {
  beforeEach(() => {
    slack.seedThread("C0TABLE", [{ user: "U0ASKER", text: "seed" }]);
  });

  it("takes one table in an attachment, and refuses one among the message's blocks", async () => {
    const section = { type: "section", text: { type: "mrkdwn", text: "x" } };
    expect(await platformError(post([section], [{ blocks: [table([[raw("a"), raw("b")]])] }]))).toBe("ok");
    expect(await platformError(post([table([[raw("a")]])]))).toBe("invalid_blocks");
  });

  it("refuses a second table, more than 100 rows or 20 cells, empty or unknown cells, bad column settings", async () => {
    const one = table([[raw("a")]]);
    expect(await platformError(post([], [{ blocks: [one, one] }]))).toBe("invalid_attachments");
    expect(await platformError(post([], [{ blocks: [one] }, { blocks: [one] }]))).toBe("invalid_attachments");
    const rows = (n: number, cells: number) =>
      Array.from({ length: n }, () => Array.from({ length: cells }, () => raw("a")));
    expect(await platformError(post([], [{ blocks: [table(rows(100, 20))] }]))).toBe("ok");
    expect(await platformError(post([], [{ blocks: [table(rows(101, 1))] }]))).toBe("invalid_attachments");
    expect(await platformError(post([], [{ blocks: [table(rows(1, 21))] }]))).toBe("invalid_attachments");
    expect(await platformError(post([], [{ blocks: [table([[raw("")]])] }]))).toBe("invalid_attachments");
    expect(await platformError(post([], [{ blocks: [table([[{ type: "mrkdwn", text: "a" }]])] }]))).toBe(
      "invalid_attachments",
    );
    expect(
      await platformError(
        post([], [{ blocks: [table([[raw("a")]], { column_settings: [{ align: "middle" }] })] }]),
      ),
    ).toBe("invalid_attachments");
  });

  it("in a workspace without tables, refuses any table as invalid_blocks", async () => {
    slack.tableBlocks = false;
    expect(await platformError(post([], [{ blocks: [table([[raw("a")]])] }]))).toBe("invalid_blocks");
  });
});

describe("publishing the synthesis", () => {
  it("posts the risks as one table where the workspace takes tables", async () => {
    const { publisher, thread_ts } = await publisherFor("run-table-1");
    await publisher.synthesis(fullSynthesis());
    const posted = slack.thread("C0TABLE", thread_ts).slice(1);
    expect(posted.length).toBeGreaterThan(1);
    const tables = posted.flatMap((m) => (m.attachments ?? []) as { blocks: { type: string }[] }[]);
    expect(tables).toHaveLength(1);
    expect(tables[0]!.blocks[0]!.type).toBe("table");
    expect(slack.calls().filter((c) => c.error)).toEqual([]);
    // The recommendation opens the synthesis.
    expect(JSON.stringify(posted[0]!.blocks)).toContain("Recommendation");
  });

  it("posts aligned sections instead where Slack refuses the table, losing nothing", async () => {
    slack.tableBlocks = false;
    const { publisher, thread_ts } = await publisherFor("run-table-2");
    const synthesis = fullSynthesis();
    await publisher.synthesis(synthesis);
    const refused = slack.calls().filter((c) => c.error);
    expect(refused.map((c) => c.error)).toEqual(["invalid_blocks"]);
    const posted = slack.thread("C0TABLE", thread_ts).slice(1);
    for (const m of posted) expect(m.attachments ?? []).toEqual([]);
    const text = JSON.stringify(posted.map((m) => m.blocks));
    for (const r of synthesis.risks) expect(text).toContain(r.mitigation);
    for (const a of synthesis.attempts) expect(text).toContain(a.attempt);
    expect(text).toContain("*Mitigation*");
    // One slot, no duplicates: each part posted once, the widen button and 👍/👎 on the last.
    expect(new Set(posted.map((m) => m.ts)).size).toBe(posted.length);
    expect(JSON.stringify(posted.at(-1)!.blocks)).toContain("widen_view");
    // Later syntheses of this run go straight to sections.
    const before = slack.calls("chat.postMessage").length + slack.calls("chat.update").length;
    await publisher.synthesis(synthesis);
    const after = slack.calls().filter((c) => c.error);
    expect(after).toHaveLength(1);
    expect(slack.calls("chat.update").length + slack.calls("chat.postMessage").length - before).toBe(
      posted.length,
    );
  });

  it("remembers a workspace's refusal, so its next runs post sections without asking again", async () => {
    slack.tableBlocks = false;
    const first = await publisherFor("run-table-3", "T0NOTABLES");
    await first.publisher.synthesis(fullSynthesis());
    expect(
      slack
        .calls()
        .filter((c) => c.error)
        .map((c) => c.error),
    ).toEqual(["invalid_blocks"]);
    expect(await store.refused("T0NOTABLES", "table")).toBe(true);
    const second = await publisherFor("run-table-4", "T0NOTABLES");
    await second.publisher.synthesis(fullSynthesis());
    expect(slack.calls().filter((c) => c.error)).toHaveLength(1);
    const posted = slack.thread("C0TABLE", second.thread_ts).slice(1);
    expect(JSON.stringify(posted.map((m) => m.blocks))).toContain("*Mitigation*");
    for (const m of posted) expect(m.attachments ?? []).toEqual([]);
    // Another workspace still gets its table.
    slack.tableBlocks = true;
    const other = await publisherFor("run-table-5", "T0TABLES");
    await other.publisher.synthesis(fullSynthesis());
    const tables = slack
      .thread("C0TABLE", other.thread_ts)
      .flatMap((m) => (m.attachments ?? []) as { blocks: { type: string }[] }[]);
    expect(tables.map((t) => t.blocks[0]?.type)).toEqual(["table"]);
  });
});

describe("a synthesis stored before recommendations and risks existed", () => {
  it("loads from Redis and renders in Slack and in the terminal, without a table", async () => {
    const seeded = await seedRun(store, {
      channel: "C0TABLE",
      at: Date.now(),
      lenses: ["five-whys", "theory-of-constraints"],
      reframe: "A queue, not a people problem.",
      actions: ["Limit work in progress"],
    });
    const record = await store.getRun(seeded.runId);
    const synthesis = record!.synthesis!;
    expect(isFullSynthesis(synthesis)).toBe(false);
    const name = (id: string) => catalogue.get(id)?.name ?? id;
    const messages = synthesisCard(synthesis, name, seeded.runId);
    for (const m of messages) expect(checkBlockKitLimits(m)).toEqual([]);
    const text = JSON.stringify(messages);
    expect(text).toContain("A queue, not a people problem.");
    expect(text).toContain("they treated symptoms");
    expect(text).not.toContain("attachments");
    const terminal = renderSynthesis(synthesis, name);
    expect(terminal).toContain("Why earlier attempts fell short: they treated symptoms");
    expect(terminal).not.toContain("Recommendation");
    // And it posts (a resumed run republishes its saved synthesis).
    const { publisher, thread_ts } = await publisherFor(`${seeded.runId}-post`);
    await publisher.synthesis(synthesis);
    expect(slack.calls().filter((c) => c.error)).toEqual([]);
    expect(JSON.stringify(slack.thread("C0TABLE", thread_ts).at(-1)?.blocks)).toContain(
      "Limit work in progress",
    );
  });
});

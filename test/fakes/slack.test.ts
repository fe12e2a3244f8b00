import {
  type ConversationsRepliesResponse,
  ErrorCode,
  LogLevel,
  type WebAPIPlatformError,
  type WebAPIRateLimitedError,
  WebClient,
} from "@slack/web-api";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { compareTs, FakeSlack, type SlackMessage } from "./slack.js";

const TOKEN = "xoxb-test-token";

let fake: FakeSlack;

function client(token = TOKEN, extra: ConstructorParameters<typeof WebClient>[1] = {}): WebClient {
  return new WebClient(token, {
    slackApiUrl: fake.apiUrl,
    retryConfig: { retries: 0 },
    logLevel: LogLevel.ERROR,
    ...extra,
  });
}

async function rejection(p: Promise<unknown>): Promise<Error & Record<string, unknown>> {
  try {
    await p;
  } catch (e) {
    return e as Error & Record<string, unknown>;
  }
  throw new Error("expected the call to fail");
}

beforeAll(async () => {
  fake = await FakeSlack.start();
});

afterAll(async () => {
  await fake.close();
});

beforeEach(() => {
  fake.reset();
});

describe("FakeSlack", () => {
  it("serves apiUrl ending in /api/ on loopback", () => {
    expect(fake.apiUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/api\/$/);
  });

  it("answers auth.test with the bot identity", async () => {
    const res = await client().auth.test();
    expect(res).toMatchObject({
      ok: true,
      user_id: fake.bot.user_id,
      bot_id: fake.bot.bot_id,
      team_id: fake.bot.team_id,
      user: fake.bot.user,
      team: fake.bot.team,
      url: fake.bot.url,
    });
    expect(fake.calls("auth.test")).toHaveLength(1);
    expect(fake.calls()[0]).toMatchObject({ method: "auth.test", token: TOKEN, status: 200 });
  });

  it("round-trips postMessage, update and replies with blocks preserved", async () => {
    const web = client();
    const blocks = [
      { type: "section", text: { type: "mrkdwn", text: "*Root* [1,2]" } },
      {
        type: "actions",
        elements: [{ type: "button", action_id: "go", text: { type: "plain_text", text: "Go" } }],
      },
    ];
    const root = await web.chat.postMessage({ channel: "C1", text: "root", blocks });
    expect(root.ok).toBe(true);
    expect(root.channel).toBe("C1");
    expect(root.ts).toMatch(/^\d{10}\.\d{6}$/);
    expect(root.message?.blocks).toEqual(blocks);

    const rootTs = root.ts as string;
    const r1 = await web.chat.postMessage({ channel: "C1", text: "[not json", thread_ts: rootTs });
    const r2 = await web.chat.postMessage({ channel: "C1", text: "second", thread_ts: rootTs });
    expect(compareTs(r1.ts as string, rootTs)).toBe(1);
    expect(compareTs(r2.ts as string, r1.ts as string)).toBe(1);

    // Recorded args carry decoded blocks, and plain text stays text.
    const posted = fake.calls("chat.postMessage");
    expect(posted).toHaveLength(3);
    expect(posted[0]?.args.blocks).toEqual(blocks);
    expect(posted[1]?.args.text).toBe("[not json");
    expect(posted[1]?.args.thread_ts).toBe(rootTs);

    const newBlocks = [{ type: "section", text: { type: "plain_text", text: "edited" } }];
    const upd = await web.chat.update({
      channel: "C1",
      ts: r1.ts as string,
      text: "edited",
      blocks: newBlocks,
    });
    expect(upd).toMatchObject({ ok: true, channel: "C1", ts: r1.ts, text: "edited" });

    const replies = await web.conversations.replies({ channel: "C1", ts: rootTs });
    const msgs = replies.messages ?? [];
    expect(msgs.map((m) => m.text)).toEqual(["root", "edited", "second"]);
    expect(msgs[0]?.blocks).toEqual(blocks);
    expect(msgs[0]).toMatchObject({ thread_ts: rootTs, reply_count: 2, latest_reply: r2.ts });
    expect(msgs[1]?.blocks).toEqual(newBlocks);
    expect(msgs[1]).toMatchObject({ thread_ts: rootTs, bot_id: fake.bot.bot_id, user: fake.bot.user_id });
    expect(msgs[1]?.edited?.user).toBe(fake.bot.user_id);
    expect(replies.has_more).toBe(false);
    expect(replies.response_metadata?.next_cursor ?? "").toBe("");

    expect(fake.thread("C1", rootTs).map((m) => m.text)).toEqual(["root", "edited", "second"]);
    // Replying to a reply lands in the same thread.
    await web.chat.postMessage({ channel: "C1", text: "third", thread_ts: r2.ts as string });
    expect(fake.thread("C1", rootTs).map((m) => m.text)).toEqual(["root", "edited", "second", "third"]);
  });

  it("answers chat.update errors for unknown messages and others' messages", async () => {
    const web = client();
    await web.chat.postMessage({ channel: "C1", text: "hi" });
    const missing = await rejection(web.chat.update({ channel: "C1", ts: "1.000001", text: "x" }));
    expect(missing.code).toBe(ErrorCode.PlatformError);
    expect((missing as unknown as WebAPIPlatformError).data.error).toBe("message_not_found");
    const noChannel = await rejection(web.chat.update({ channel: "C404", ts: "1.000001", text: "x" }));
    expect((noChannel as unknown as WebAPIPlatformError).data.error).toBe("channel_not_found");

    const { thread_ts } = fake.seedThread("C2", [{ user: "U1", text: "human" }]);
    const theirs = await rejection(web.chat.update({ channel: "C2", ts: thread_ts, text: "x" }));
    expect((theirs as unknown as WebAPIPlatformError).data.error).toBe("cant_update_message");
    expect(fake.calls("chat.update").map((c) => c.error)).toEqual([
      "message_not_found",
      "channel_not_found",
      "cant_update_message",
    ]);
  });

  it("rejects a reply to an unknown thread and a message without text", async () => {
    const web = client();
    const e1 = await rejection(
      web.chat.postMessage({ channel: "C1", text: "x", thread_ts: "1600000000.000001" }),
    );
    expect((e1 as unknown as WebAPIPlatformError).data.error).toBe("thread_not_found");
    const e2 = await rejection(web.apiCall("chat.postMessage", { channel: "C1" }));
    expect((e2 as unknown as WebAPIPlatformError).data.error).toBe("no_text");
    expect(fake.messages("C1")).toEqual([]);
  });

  it("paginates a 250-message seeded thread with client.paginate, each message exactly once", async () => {
    fake.addUser({ id: "U1", name: "ann", real_name: "Ann A" });
    const seed = Array.from({ length: 250 }, (_, i) => ({ user: i % 2 ? "U1" : "U2", text: `m${i}` }));
    const { thread_ts, tss } = fake.seedThread("C9", seed);
    expect(tss).toHaveLength(250);
    expect(tss[0]).toBe(thread_ts);
    expect(new Set(tss).size).toBe(250);

    const seen: SlackMessage[] = [];
    let pages = 0;
    for await (const page of client().paginate("conversations.replies", {
      channel: "C9",
      ts: thread_ts,
      limit: 100,
    })) {
      pages++;
      seen.push(...(((page as ConversationsRepliesResponse).messages ?? []) as SlackMessage[]));
    }
    expect(pages).toBe(3);
    expect(seen.map((m) => m.ts)).toEqual(tss);
    expect(seen.map((m) => m.text)).toEqual(seed.map((m) => m.text));
    expect(seen[0]).toMatchObject({ reply_count: 249, reply_users: ["U1", "U2"], reply_users_count: 2 });

    const calls = fake.calls("conversations.replies");
    expect(calls.map((c) => c.args.limit)).toEqual(["100", "100", "100"]);
    expect(calls[0]?.args.cursor).toBeUndefined();
    expect(typeof calls[1]?.args.cursor).toBe("string");
  });

  it("paginates with a manual cursor loop, default limit 100 and a cap of 1000", async () => {
    const seed = Array.from({ length: 250 }, (_, i) => ({
      bot_id: "B2",
      text: `m${i}`,
      subtype: "bot_message",
    }));
    const { thread_ts, tss } = fake.seedThread("C9", seed);
    const web = client();
    const collected: string[] = [];
    const sizes: number[] = [];
    let cursor: string | undefined;
    do {
      const res = await web.conversations.replies({ channel: "C9", ts: thread_ts, cursor });
      sizes.push(res.messages?.length ?? 0);
      collected.push(...(res.messages ?? []).map((m) => m.ts as string));
      expect(res.has_more).toBe(Boolean(res.response_metadata?.next_cursor));
      cursor = res.response_metadata?.next_cursor || undefined;
    } while (cursor);
    expect(sizes).toEqual([100, 100, 50]);
    expect(collected).toEqual(tss);

    const big = await web.conversations.replies({ channel: "C9", ts: thread_ts, limit: 5000 });
    expect(big.messages).toHaveLength(250);
    expect(big.has_more).toBe(false);

    const bad = await rejection(
      web.conversations.replies({ channel: "C9", ts: thread_ts, cursor: "garbage" }),
    );
    expect((bad as unknown as WebAPIPlatformError).data.error).toBe("invalid_cursor");
    const lost = await rejection(web.conversations.replies({ channel: "C9", ts: "1.000001" }));
    expect((lost as unknown as WebAPIPlatformError).data.error).toBe("thread_not_found");
  });

  it("serves conversations.history newest first, without thread replies", async () => {
    const web = client();
    const a = await web.chat.postMessage({ channel: "C3", text: "a" });
    await web.chat.postMessage({ channel: "C3", text: "a-reply", thread_ts: a.ts as string });
    await web.chat.postMessage({ channel: "C3", text: "b" });
    const res = await web.conversations.history({ channel: "C3" });
    expect(res.messages?.map((m) => m.text)).toEqual(["b", "a"]);
    expect(fake.messages("C3").map((m) => m.text)).toEqual(["a", "a-reply", "b"]);
    const older = await web.conversations.history({ channel: "C3", latest: a.ts as string, inclusive: true });
    expect(older.messages?.map((m) => m.text)).toEqual(["a"]);
  });

  it("answers users.info for known users and user_not_found otherwise", async () => {
    fake.addUser({ id: "U123", name: "ann", real_name: "Ann Example" });
    const web = client();
    const res = await web.users.info({ user: "U123" });
    expect(res.user).toMatchObject({
      id: "U123",
      name: "ann",
      real_name: "Ann Example",
      profile: { real_name: "Ann Example", display_name: "ann" },
    });
    const bot = await web.users.info({ user: fake.bot.user_id });
    expect(bot.user?.is_bot).toBe(true);
    const err = await rejection(web.users.info({ user: "UNOPE" }));
    expect(err.code).toBe(ErrorCode.PlatformError);
    expect((err as unknown as WebAPIPlatformError).data.error).toBe("user_not_found");
  });

  it("records ephemerals, published views and permalinks", async () => {
    const web = client();
    const eph = await web.chat.postEphemeral({ channel: "C1", user: "U1", text: "psst" });
    expect(eph.message_ts).toMatch(/^\d{10}\.\d{6}$/);
    expect(fake.ephemerals("U1")).toEqual([
      { channel: "C1", user: "U1", message_ts: eph.message_ts, text: "psst" },
    ]);
    expect(fake.messages("C1")).toEqual([]);

    const view = {
      type: "home" as const,
      blocks: [{ type: "section", text: { type: "mrkdwn", text: "hi" } }],
    };
    const pub = await web.views.publish({ user_id: "U1", view });
    expect(pub.view).toMatchObject(view);
    expect(fake.publishedView("U1")).toMatchObject(view);
    expect(fake.calls("views.publish")[0]?.args.view).toEqual(view);

    const root = await web.chat.postMessage({ channel: "C1", text: "root" });
    const reply = await web.chat.postMessage({ channel: "C1", text: "r", thread_ts: root.ts as string });
    const link = await web.chat.getPermalink({ channel: "C1", message_ts: root.ts as string });
    expect(link.permalink).toBe(`${fake.bot.url}archives/C1/p${(root.ts as string).replace(".", "")}`);
    const replyLink = await web.chat.getPermalink({ channel: "C1", message_ts: reply.ts as string });
    expect(replyLink.permalink).toContain(`?thread_ts=${root.ts}&cid=C1`);
    const missing = await rejection(web.chat.getPermalink({ channel: "C1", message_ts: "1.000001" }));
    expect((missing as unknown as WebAPIPlatformError).data.error).toBe("message_not_found");
  });

  it("refuses messages over Slack's size limits, as Slack does, storing nothing", async () => {
    const c = client();
    const section = (text: string) => ({ type: "section", text: { type: "mrkdwn", text } });
    const code = async (args: Record<string, unknown>) =>
      (
        (await rejection(
          c.chat.postMessage({ channel: "C1", text: "t", ...args }),
        )) as unknown as WebAPIPlatformError
      ).data.error;
    expect(await code({ blocks: Array.from({ length: 51 }, () => section("x")) })).toBe("invalid_blocks");
    expect(await code({ blocks: [section("x".repeat(3001))] })).toBe("invalid_blocks");
    expect(
      await code({ blocks: [{ type: "header", text: { type: "plain_text", text: "h".repeat(151) } }] }),
    ).toBe("invalid_blocks");
    expect(await code({ blocks: Array.from({ length: 5 }, () => section("y".repeat(2500))) })).toBe(
      "msg_blocks_too_long",
    );
    expect(await code({ text: "z".repeat(40_001) })).toBe("msg_too_long");
    expect(fake.messages("C1")).toEqual([]);
    await c.chat.postMessage({
      channel: "C1",
      text: "t",
      blocks: Array.from({ length: 50 }, () => section("ok")),
    });
    expect(fake.messages("C1")).toHaveLength(1);
  });

  it("answers conversations.info for public channels, and for private ones only to members", async () => {
    fake.addChannel("C0PUB", "public-room", { botMember: false });
    fake.addChannel("C0PRIV", "private-room", { botMember: false, isPrivate: true });
    fake.addChannel("C0MINE", "private-mine", { botMember: true, isPrivate: true });
    const c = client();
    expect((await c.conversations.info({ channel: "C0PUB" })).channel).toMatchObject({
      name: "public-room",
      is_private: false,
      is_member: false,
    });
    expect((await c.conversations.info({ channel: "C0MINE" })).channel).toMatchObject({
      is_private: true,
      is_member: true,
    });
    for (const channel of ["C0PRIV", "C0NONE"]) {
      const err = (await rejection(c.conversations.info({ channel }))) as unknown as WebAPIPlatformError;
      expect(err.data.error).toBe("channel_not_found");
    }
  });

  it("answers unknown_method for methods it does not implement", async () => {
    const err = await rejection(client().apiCall("bogus.method", { x: 1 }));
    expect((err as unknown as WebAPIPlatformError).data.error).toBe("unknown_method");
    expect(fake.calls("bogus.method")).toEqual([
      expect.objectContaining({ method: "bogus.method", args: { x: "1" }, error: "unknown_method" }),
    ]);
  });

  it("produces the WebClient's rate-limited error on 429, storing nothing", async () => {
    fake.rateLimit("chat.postMessage", { times: 1, retryAfter: 7 });
    const web = client(TOKEN, { rejectRateLimitedCalls: true });
    const err = await rejection(web.chat.postMessage({ channel: "C1", text: "hi" }));
    expect(err.code).toBe(ErrorCode.RateLimitedError);
    expect(err.code).toBe("slack_webapi_rate_limited_error");
    expect((err as unknown as WebAPIRateLimitedError).retryAfter).toBe(7);
    expect(fake.messages("C1")).toEqual([]);
    expect(fake.calls("chat.postMessage")).toEqual([
      expect.objectContaining({ status: 429, error: "ratelimited" }),
    ]);

    // The limit is used up: the next call goes through.
    const ok = await web.chat.postMessage({ channel: "C1", text: "hi" });
    expect(ok.ok).toBe(true);
    expect(fake.messages("C1")).toHaveLength(1);
  });

  it("lets a retrying WebClient get through after the rate limit runs out", async () => {
    fake.rateLimit("chat.postMessage", { times: 2, retryAfter: 0 });
    const web = client(TOKEN, { retryConfig: { retries: 3, minTimeout: 0, maxTimeout: 0 } });
    const ok = await web.chat.postMessage({ channel: "C1", text: "eventually" });
    expect(ok.ok).toBe(true);
    expect(fake.calls("chat.postMessage").map((c) => c.status)).toEqual([429, 429, 200]);
    expect(fake.messages("C1").map((m) => m.text)).toEqual(["eventually"]);
  });

  it("answers not_authed without a token and invalid_auth for a bad one", async () => {
    const none = await rejection(
      new WebClient(undefined, { slackApiUrl: fake.apiUrl, retryConfig: { retries: 0 } }).auth.test(),
    );
    expect(none.code).toBe(ErrorCode.PlatformError);
    expect((none as unknown as WebAPIPlatformError).data.error).toBe("not_authed");

    const bad = await rejection(client("xoxp-user-token").chat.postMessage({ channel: "C1", text: "x" }));
    expect(bad.code).toBe(ErrorCode.PlatformError);
    expect((bad as unknown as WebAPIPlatformError).data.error).toBe("invalid_auth");
    expect(fake.messages("C1")).toEqual([]);
  });

  it("accepts only the configured token when started with one", async () => {
    const strict = await FakeSlack.start({ token: "xoxb-exact" });
    try {
      const make = (t: string) =>
        new WebClient(t, { slackApiUrl: strict.apiUrl, retryConfig: { retries: 0 } });
      expect((await make("xoxb-exact").auth.test()).ok).toBe(true);
      const err = await rejection(make("xoxb-other").auth.test());
      expect((err as unknown as WebAPIPlatformError).data.error).toBe("invalid_auth");
    } finally {
      await strict.close();
    }
  });

  it("scripts platform errors with fail()", async () => {
    fake.fail("chat.postMessage", "channel_not_found");
    const web = client();
    const err = await rejection(web.chat.postMessage({ channel: "C1", text: "x" }));
    expect((err as unknown as WebAPIPlatformError).data.error).toBe("channel_not_found");
    expect((await web.chat.postMessage({ channel: "C1", text: "x" })).ok).toBe(true);
  });

  it("parses JSON bodies and form bodies with JSON-encoded fields", async () => {
    const blocks = [{ type: "divider" }];
    const asJson = await fetch(`${fake.apiUrl}chat.postMessage`, {
      method: "POST",
      headers: { "content-type": "application/json; charset=utf-8", authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify({ channel: "C5", text: "json", blocks, unfurl_links: false }),
    });
    const body = (await asJson.json()) as { ok: boolean; ts: string; message: SlackMessage };
    expect(body.ok).toBe(true);
    expect(body.message.blocks).toEqual(blocks);
    expect(fake.calls("chat.postMessage")[0]?.args).toEqual({
      channel: "C5",
      text: "json",
      blocks,
      unfurl_links: false,
    });

    const form = new URLSearchParams({
      token: TOKEN,
      channel: "C5",
      text: "{form}",
      blocks: JSON.stringify(blocks),
    });
    const asForm = await fetch(`${fake.apiUrl}chat.postMessage`, { method: "POST", body: form });
    expect(((await asForm.json()) as { ok: boolean }).ok).toBe(true);
    const rec = fake.calls("chat.postMessage")[1];
    expect(rec?.args).toEqual({ channel: "C5", text: "{form}", blocks });
    expect(rec?.token).toBe(TOKEN);
    expect(fake.messages("C5").map((m) => m.text)).toEqual(["json", "{form}"]);
  });

  it("reset() forgets the workspace, calls and scripts", async () => {
    fake.addUser({ id: "U1", name: "a", real_name: "A" });
    fake.seedThread("C1", [{ user: "U1", text: "x" }]);
    fake.rateLimit("auth.test", { times: 5, retryAfter: 1 });
    await client().users.info({ user: "U1" });
    fake.reset();
    expect(fake.calls()).toEqual([]);
    expect(fake.messages("C1")).toEqual([]);
    const web = client(TOKEN, { rejectRateLimitedCalls: true });
    expect((await web.auth.test()).ok).toBe(true);
    const err = await rejection(web.users.info({ user: "U1" }));
    expect((err as unknown as WebAPIPlatformError).data.error).toBe("user_not_found");
    expect(fake.seedThread("C1", [{ user: "U2", text: "y" }]).thread_ts).toBe("1700000000.000100");
  });
});

/**
 * The bot end to end: signed HTTP requests into the real Bolt receiver, real BullMQ on Redis,
 * the real Slack and Anthropic SDKs talking to loopback fakes.
 */

import { isValidSlackRequest } from "@slack/bolt";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { OFFLINE_LABEL } from "../../src/pipeline/schemas.js";
import { dedupeKey } from "../../src/queue/jobs.js";
import { checkBlockKitLimits } from "../../src/slack/blocks/limits.js";
import { answerFor } from "../fakes/json-schema-sample.js";
import {
  buttonClick,
  catalogue,
  eventCallback,
  type Harness,
  interaction,
  messageText,
  post,
  roots,
  slashCommand,
  startHarness,
  waitFor,
  waitForDone,
} from "../support/harness.js";

const PROBLEM =
  "Our dashboard API is stuck at 350 ms p50 despite a Redis cache, rewritten queries, new indexes and a tuned connection pool. We need it under 150 ms and nobody has a trace of where the time goes.";

/** Every message the bot posted or edited must pass Slack's limits. */
function expectAllWithinLimits(h: Harness) {
  for (const call of h.slack.calls()) {
    if (call.method !== "chat.postMessage" && call.method !== "chat.update") continue;
    if (call.status !== 200) continue;
    const problems = checkBlockKitLimits(call.args as { text?: string; blocks?: unknown[] });
    expect(problems, `${call.method}: ${problems.join("; ")}`).toEqual([]);
  }
}

describe("Slack request signing", () => {
  it("verifies Slack's published test vector", () => {
    const body =
      "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
    const headers = {
      "x-slack-signature": "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503",
      "x-slack-request-timestamp": 1531420618,
    };
    const nowMilliseconds = 1531420618 * 1000;
    expect(
      isValidSlackRequest({
        signingSecret: "8f742231b10e8888abcd99yyyzzz85a5",
        body,
        headers,
        nowMilliseconds,
      }),
    ).toBe(true);
    expect(isValidSlackRequest({ signingSecret: "wrong-secret", body, headers, nowMilliseconds })).toBe(
      false,
    );
  });
});

describe("lensbot in Slack (offline engine)", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ engine: "offline" });
  });
  afterAll(async () => {
    await h.close();
  });
  afterEach(() => expectAllWithinLimits(h));

  it("answers /lens with a root message and the whole analysis in its thread", async () => {
    const ack = await slashCommand(h.url, PROBLEM);
    expect(ack.status).toBe(200);
    expect(JSON.parse(ack.text)).toMatchObject({ response_type: "ephemeral" });

    const root = await waitFor(() => roots(h, "C0LENS").find((m) => m.text.includes("350 ms")));
    expect(messageText(root)).toContain("<@U0ASKER>");
    const done = await waitForDone(h, "C0LENS", root.ts);
    const thread = h.slack.thread("C0LENS", root.ts);
    const texts = thread.map(messageText);
    // root, status, mode card, one card per lens, synthesis
    // The record is saved once every post has reached Slack, just after the status says Done.
    const record = await waitFor(async () => {
      const r = await h.store.runForThread("C0LENS", root.ts, "T0TEST");
      return r?.status === "done" ? r : undefined;
    });
    const lensNames = record?.analyses.map((a) => a.lens_name) ?? [];
    expect(lensNames.length).toBeGreaterThanOrEqual(2);
    expect(texts.some((t) => t.includes("Thinking mode") || t.includes("thinking mode"))).toBe(true);
    for (const name of lensNames) expect(texts.filter((t) => t.includes(name)).length).toBeGreaterThan(0);
    expect(texts.some((t) => t.includes(OFFLINE_LABEL))).toBe(true);
    expect(thread.findIndex((m) => m.ts === done.ts)).toBe(1); // the status sits right under the root
    for (const name of lensNames) expect(messageText(done)).toContain(`${name} ✓`);
  });

  it("gives an ephemeral usage hint for an empty /lens and enqueues nothing", async () => {
    const before = await h.queue.count();
    const ack = await slashCommand(h.url, "   ");
    expect(ack.status).toBe(200);
    const body = JSON.parse(ack.text) as { response_type: string; blocks: unknown[] };
    expect(body.response_type).toBe("ephemeral");
    expect(JSON.stringify(body.blocks)).toContain("/lens our dashboard API");
    expect(await h.queue.count()).toBe(before);
  });

  it("says how to fix it when lensbot is not in the channel, through the command's response URL", async () => {
    // The fake refuses posts, ephemerals and reads from a non-member, as Slack does: the notice
    // can only reach the person through the response URL.
    h.slack.addChannel("C0NOTIN", "private-ish", { botMember: false });
    await slashCommand(h.url, "Why do our deploys keep failing?", {
      user_id: "U0PRIVATE",
      channel_id: "C0NOTIN",
      trigger_id: "notin-1",
    });
    const notice = await waitFor(
      () => h.slack.responses().find((r) => r.id === "cmd-notin-1"),
      5_000,
      "the notice through the response URL",
    );
    expect(notice.body.text).toContain("/invite @lensbot");
    expect(notice.body.response_type).toBe("ephemeral");
    expect(h.slack.calls("chat.postEphemeral").filter((c) => c.args.channel === "C0NOTIN")).toHaveLength(0);
    expect(h.slack.messages("C0NOTIN")).toHaveLength(0);
  });

  it("says the same for the message shortcut in a channel lensbot is not in", async () => {
    h.slack.addChannel("C0NOTIN2", "other", { botMember: false });
    await interaction(h.url, {
      type: "message_action",
      callback_id: "apply_lenses",
      trigger_id: "sc-notin",
      message_ts: "1700000000.000001",
      response_url: h.slack.responseUrl("sc-notin"),
      message: { type: "message", user: "U0B", ts: "1700000000.000001", text: "our deploys fail" },
      user: { id: "U0B", name: "b" },
      channel: { id: "C0NOTIN2", name: "other" },
      team: { id: "T0TEST", domain: "test" },
      token: "legacy",
      action_ts: "1",
    });
    const notice = await waitFor(
      () => h.slack.responses().find((r) => r.id === "sc-notin"),
      5_000,
      "the notice",
    );
    expect(notice.body.text).toContain("/invite @lensbot");
  });

  it("rejects a bad signature or a stale timestamp with 401 and enqueues nothing", async () => {
    const counts = async () => Object.values(await h.queue.getJobCounts()).reduce((a, b) => a + b, 0);
    const before = await counts();
    const body = new URLSearchParams({
      command: "/lens",
      text: "x",
      trigger_id: "t-bad",
      channel_id: "C0LENS",
      user_id: "U0X",
    }).toString();
    const bad = await post(h.url, body, "application/x-www-form-urlencoded", { secret: "not-the-secret" });
    expect(bad.status).toBe(401);
    const stale = await post(h.url, body, "application/x-www-form-urlencoded", {
      timestamp: Math.floor(Date.now() / 1000) - 6 * 60,
    });
    expect(stale.status).toBe(401);
    expect(await counts()).toBe(before);
  });

  it("runs one analysis when Slack delivers the same event three times", async () => {
    const { thread_ts } = h.slack.seedThread("C0DUP", [
      { user: "U0A", text: "Deploys keep failing on Fridays" },
      { user: "U0B", text: "<@UBOT> what are we missing?" },
    ]);
    const event = {
      type: "app_mention",
      channel: "C0DUP",
      user: "U0B",
      text: "<@UBOT> what are we missing?",
      ts: "1700000001.000001",
      thread_ts,
    };
    const answers = await Promise.all([
      eventCallback(h.url, event, "Ev0DUPLICATE"),
      eventCallback(h.url, event, "Ev0DUPLICATE", 1),
      eventCallback(h.url, event, "Ev0DUPLICATE", 2),
    ]);
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200]);
    await waitForDone(h, "C0DUP", thread_ts);
    await new Promise((r) => setTimeout(r, 300)); // give a duplicate the chance to show up
    const statuses = h.slack.thread("C0DUP", thread_ts).filter((m) => messageText(m).includes("Done"));
    expect(statuses).toHaveLength(1);
    const completed = await h.queue.getJobs(["completed"]);
    expect(completed.filter((j) => j.data.channel === "C0DUP")).toHaveLength(1);
  });

  it("does not post twice when the same job runs again (a stall)", async () => {
    await slashCommand(h.url, "Our on-call alerts are mostly ignored and incidents keep slipping through");
    const root = await waitFor(() => roots(h, "C0LENS").find((m) => m.text.includes("on-call")));
    await waitForDone(h, "C0LENS", root.ts);
    const before = h.slack.thread("C0LENS", root.ts).length;
    const job = await waitFor(
      async () => (await h.queue.getJobs(["completed"])).find((j) => j.data.threadTs === root.ts),
      10_000,
      "the job to complete",
    );
    expect(job).toBeDefined();
    // Run the same payload again under a new job id, as a stalled job's second run would.
    await h.queue.add("slash_command", job?.data, { jobId: `${job?.id}-again` });
    await waitFor(async () => (await h.queue.getJob(`${job?.id}-again`))?.finishedOn, 10_000, "the re-run");
    expect(h.slack.thread("C0LENS", root.ts).length).toBe(before);
    expect(h.slack.calls("chat.update").length).toBeGreaterThan(0);
  });

  it("cuts a 40,000-character problem and says so in the thread", async () => {
    await slashCommand(h.url, `${PROBLEM} ${"Here is more context about the service. ".repeat(1000)}`);
    const root = await waitFor(() => roots(h, "C0LENS").find((m) => messageText(m).includes("more context")));
    await waitForDone(h, "C0LENS", root.ts);
    const texts = h.slack.thread("C0LENS", root.ts).map(messageText).join("\n");
    expect(texts).toMatch(/The problem was 4\d,\d{3} characters/);
  });

  it("analyses a 500-message thread within the token budget", async () => {
    const messages = Array.from({ length: 500 }, (_, i) => ({
      user: i % 2 ? "U0A" : "U0B",
      text:
        i === 0
          ? "Checkout latency doubled after the payments migration"
          : `update ${i}: still seeing timeouts from the fraud service`,
    }));
    h.slack.addUser({ id: "U0A", name: "ana", real_name: "Ana Silva", display_name: "Ana S." });
    const { thread_ts } = h.slack.seedThread("C0BIG", messages);
    await interaction(h.url, {
      type: "message_action",
      callback_id: "apply_lenses",
      trigger_id: "sc-500",
      message_ts: thread_ts,
      response_url: "http://127.0.0.1:9/unused",
      message: { type: "message", user: "U0B", ts: thread_ts, text: messages[0]?.text },
      user: { id: "U0B", name: "b" },
      channel: { id: "C0BIG", name: "big" },
      team: { id: "T0TEST", domain: "test" },
      token: "legacy",
      action_ts: "1",
    });
    await waitForDone(h, "C0BIG", thread_ts);
    const record = await h.store.runForThread("C0BIG", thread_ts, "T0TEST");
    const context = record?.problem?.context ?? "";
    expect(context).toContain("Checkout latency doubled"); // the first message is always kept
    expect(context).toContain("update 499"); // and the latest
    expect(context).toMatch(/\[… \d+ messages left out to fit the budget …\]/);
    expect(context).toContain("Ana S.: update"); // names resolved with users.info
    expect(Math.ceil(context.length / 4)).toBeLessThanOrEqual(6_000);
    // 500 seeded messages plus lensbot's own "queued" status line, which the transcript summarises.
    expect(record?.problem?.notes.join(" ")).toMatch(/The thread has 50\d messages/);
    expect(h.slack.calls("conversations.replies").length).toBeGreaterThanOrEqual(3); // paginated
  });

  it("waits out Slack's Retry-After on chat.postMessage and still completes the thread", async () => {
    const { thread_ts } = h.slack.seedThread("C0RATE", [
      { user: "U0A", text: "Our retros produce no lasting change" },
    ]);
    h.slack.rateLimit("chat.postMessage", { times: 1, retryAfter: 1 });
    await eventCallback(
      h.url,
      {
        type: "app_mention",
        channel: "C0RATE",
        user: "U0A",
        text: "<@UBOT> help",
        ts: "1700000002.000001",
        thread_ts,
      },
      "Ev0RATE",
    );
    await waitForDone(h, "C0RATE", thread_ts);
    const posts = h.slack.calls("chat.postMessage").filter((c) => c.args.channel === "C0RATE");
    const limited = posts.find((c) => c.status === 429);
    const next = posts.find((c) => limited && c.at > limited.at && c.status === 200);
    expect(limited).toBeDefined();
    expect((next?.at ?? 0) - (limited?.at ?? 0)).toBeGreaterThanOrEqual(950);
  });

  it("applies a related lens from a card: one more card, then a refreshed synthesis", async () => {
    const root = await waitFor(() => roots(h, "C0LENS").find((m) => m.text.includes("350 ms")));
    const record = await waitFor(() => h.store.runForThread("C0LENS", root.ts, "T0TEST"));
    const extra = catalogue.lenses.find((l) => !record.analyses.some((a) => a.lens_id === l.id));
    if (!extra) throw new Error("no lens left to apply");
    const before = h.slack.thread("C0LENS", root.ts).length;
    const synthesisUpdates = () =>
      h.slack.calls("chat.update").filter((c) => String(c.args.text).startsWith("Where to start")).length;
    const updatesBefore = synthesisUpdates();
    await buttonClick(h.url, {
      actionId: `apply_lens:${extra.id}`,
      value: JSON.stringify({ runId: record.runId, lensId: extra.id }),
      userId: "U0ASKER",
      channel: "C0LENS",
      messageTs: root.ts,
      threadTs: root.ts,
      triggerId: "apply-1",
    });
    const updated = await waitFor(async () => {
      const r = await h.store.runForThread("C0LENS", root.ts, "T0TEST");
      return r?.analyses.some((a) => a.lens_id === extra.id) && r.status === "done" ? r : undefined;
    });
    expect(updated.analyses.map((a) => a.lens_id)).toEqual([
      ...record.analyses.map((a) => a.lens_id),
      extra.id,
    ]);
    const thread = h.slack.thread("C0LENS", root.ts);
    expect(thread.length).toBe(before + 1); // exactly one new message: the new lens card
    expect(messageText(thread.at(-1) ?? { text: "" })).toContain(extra.name);
    expect(synthesisUpdates()).toBeGreaterThan(updatesBefore); // the synthesis was edited in place
    if (updated.synthesis?.source === "offline") {
      expect(updated.synthesis.look_first.map((c) => c.lens_id)).toContain(extra.id);
    }
  });

  it("answers a direct message in a thread under it", async () => {
    const text = "Our sprint retros never change anything";
    const { thread_ts: ts } = h.slack.seedThread("D0DM", [{ user: "U0DM", text }]);
    await eventCallback(
      h.url,
      { type: "message", channel_type: "im", channel: "D0DM", user: "U0DM", text, ts },
      "Ev0DM",
    );
    await waitForDone(h, "D0DM", ts);
    const record = await h.store.runForThread("D0DM", ts, "T0TEST");
    expect(record?.job.trigger).toBe("direct_message");
    expect(record?.problem?.text).toBe("Our sprint retros never change anything");
  });

  it("records 👍 feedback per card and answers ephemerally", async () => {
    const record = await waitFor(async () => {
      const root = roots(h, "C0LENS").find((m) => m.text.includes("350 ms"));
      return root ? h.store.runForThread("C0LENS", root.ts, "T0TEST") : undefined;
    });
    const lensId = record.analyses[0]?.lens_id ?? "";
    await buttonClick(h.url, {
      actionId: "feedback_up",
      value: JSON.stringify({ runId: record.runId, lensId }),
      userId: "U0VOTER",
      channel: "C0LENS",
      messageTs: "1",
      threadTs: record.threadTs,
      triggerId: "fb-1",
    });
    const reply = await waitFor(() => h.slack.responses().find((r) => r.id === "action-fb-1"));
    expect(await h.store.votes(record.runId, lensId)).toEqual({ up: 1, down: 0 });
    expect(reply.body.text).toContain("👍");
  });
  it("records the native 👍/👎 of a card and of the synthesis, with who and when; refuses a forged one", async () => {
    const record = await waitFor(async () => {
      const root = roots(h, "C0LENS").find((m) => m.text.includes("350 ms"));
      return root ? h.store.runForThread("C0LENS", root.ts, "T0TEST") : undefined;
    });
    const lensId = record.analyses[0]?.lens_id ?? "";
    const click = (target: string, vote: "up" | "down", channel: string, trigger: string) =>
      interaction(h.url, {
        type: "block_actions",
        trigger_id: trigger,
        user: { id: "U0VOTER", name: "voter" },
        channel: { id: channel, name: "x" },
        team: { id: "T0TEST", domain: "test" },
        message: { ts: "1", thread_ts: record.threadTs, text: "card" },
        container: { type: "message" },
        actions: [
          {
            type: "feedback_buttons",
            action_id: "lens_feedback",
            block_id: "b",
            value: JSON.stringify({ runId: record.runId, target, vote }),
            text: { type: "plain_text", text: vote === "up" ? "👍" : "👎" },
            action_ts: "1",
          },
        ],
        token: "legacy",
        api_app_id: "A0LENSBOT",
        response_url: h.slack.responseUrl(`action-${trigger}`),
      });
    const before = Date.now();
    await click(lensId, "down", "C0LENS", "nfb-1");
    await click("synthesis", "up", "C0LENS", "nfb-2");
    await click("synthesis", "down", "C0OTHER", "nfb-3");
    await waitFor(() => h.slack.responses().filter((r) => r.id.startsWith("action-nfb-")).length === 3);
    expect(await h.store.votes(record.runId, "synthesis")).toEqual({ up: 1, down: 0 });
    const events = await h.store.feedbackSince(before, "T0TEST");
    expect(
      events
        .filter((e) => e.runId === record.runId)
        .map(({ target, userId, vote }) => ({ target, userId, vote })),
    ).toEqual([
      { target: lensId, userId: "U0VOTER", vote: "down" },
      { target: "synthesis", userId: "U0VOTER", vote: "up" },
    ]);
    for (const e of events) expect(e.at).toBeGreaterThanOrEqual(before);
    const forged = h.slack.responses().find((r) => r.id === "action-nfb-3");
    expect(forged?.body.text).toContain("belongs to another analysis");
  });
});

describe("lensbot in Slack (Claude engine through the fake API)", () => {
  let h: Harness;
  beforeAll(async () => {
    // Three attempts, a quarter of a second apart: the worker's real backoff is seconds to minutes.
    h = await startHarness({ engine: "claude", maxRetries: 1, attempts: 3, retryDelay: () => 250 });
  });
  afterAll(async () => {
    await h.close();
  });
  afterEach(() => {
    expectAllWithinLimits(h);
    h.anthropic.reset();
  });

  it("never lets model text ping the channel or unfurl a link", async () => {
    h.anthropic.respondWith((req) => {
      const schema = req.body.output_config?.format?.schema ?? {};
      const hostile =
        "<!channel> <!here> @everyone read <https://evil.example/x|this> or https://evil.example/y";
      return { kind: "json", value: answerFor(schema, hostile) };
    });
    await slashCommand(h.url, "Sales keeps discounting because customers are confused by our pricing tiers");
    const root = await waitFor(() => roots(h, "C0LENS").find((m) => m.text.includes("pricing")));
    await waitForDone(h, "C0LENS", root.ts);
    const posted = h.slack
      .calls()
      .filter((c) => (c.method === "chat.postMessage" || c.method === "chat.update") && c.status === 200);
    expect(posted.length).toBeGreaterThan(3);
    for (const c of posted) {
      const all = JSON.stringify(c.args);
      expect(all).not.toMatch(/<!channel>|<!here>|<!everyone>|<https?:/);
      expect(all).not.toMatch(/(^|[^\u200d])@(channel|here|everyone)\b/);
      expect(all).not.toContain("https://evil.example");
      if (c.method === "chat.postMessage") {
        expect(String(c.args.unfurl_links)).toBe("false");
        expect(String(c.args.unfurl_media)).toBe("false");
      }
    }
  });

  it("tells the person through the response URL when lensbot is removed from the channel mid-run", async () => {
    h.anthropic.respondWith((req) => ({
      kind: "json",
      value: answerFor(req.body.output_config?.format?.schema ?? {}, "fine"),
      delayMs: 400,
    }));
    h.slack.addChannel("C0GONE", "gone");
    await slashCommand(h.url, "Our release train keeps slipping a week", {
      channel_id: "C0GONE",
      trigger_id: "gone-1",
      response_url: h.slack.responseUrl("gone-1"),
    });
    const root = await waitFor(() => roots(h, "C0GONE")[0], 5_000, "the root message");
    const asked = h.anthropic.requests.length;
    await waitFor(() => h.anthropic.requests.length > asked, 10_000, "the run to reach the model");
    // Someone removes lensbot while the model is thinking: every later post is refused.
    h.slack.addChannel("C0GONE", "gone", { botMember: false });
    const notice = await waitFor(
      () => h.slack.responses().find((r) => r.id === "gone-1" && String(r.body.text).includes("/invite")),
      15_000,
      "the notice through the response URL",
    );
    expect(notice.body.response_type).toBe("ephemeral");
    expect(String(notice.body.text)).not.toMatch(/not_in_channel|SlackError/);
    const record = await waitFor(async () => {
      const r = await h.store.runForThread("C0GONE", root.ts, "T0TEST");
      return r?.status === "failed" ? r : undefined;
    });
    expect(record.runId).toBe(dedupeKey("cmd", "gone-1"));
  });

  it("posts an error with Retry when the model keeps failing, and Retry then works", async () => {
    h.anthropic.respondWith(() => ({ kind: "error", status: 529, retryAfter: 0.01 }));
    await slashCommand(h.url, "Two teams argue about who owns the billing service and nothing ships");
    const root = await waitFor(() => roots(h, "C0LENS").find((m) => m.text.includes("billing")));
    const errorMessage = await waitFor(
      () => h.slack.thread("C0LENS", root.ts).find((m) => messageText(m).includes("retry_analysis")),
      15_000,
      "the error card",
    );
    const text = messageText(errorMessage);
    expect(text).toContain("model service could not be reached");
    // Before giving up, the status line said a retry was coming.
    const statusEdits = h.slack
      .calls("chat.update")
      .filter((c) => c.args.channel === "C0LENS" && JSON.stringify(c.args.blocks).includes("retrying in"));
    expect(statusEdits.length).toBeGreaterThan(0);
    expect(text).not.toContain("fake error"); // the raw detail goes to the log only
    expect(h.logged.some((l) => l.msg === "analysis failed")).toBe(true);
    const record = await waitFor(async () => {
      const r = await h.store.runForThread("C0LENS", root.ts, "T0TEST");
      return r?.status === "failed" ? r : undefined;
    });

    h.anthropic.respondWith((req) => ({
      kind: "json",
      value: answerFor(req.body.output_config?.format?.schema ?? {}, "fine"),
    }));
    await buttonClick(h.url, {
      actionId: "retry_analysis",
      value: record?.runId ?? "",
      userId: "U0ASKER",
      channel: "C0LENS",
      messageTs: errorMessage.ts,
      threadTs: root.ts,
      triggerId: "retry-1",
    });
    await waitForDone(h, "C0LENS", root.ts);
    const done = await h.store.runForThread("C0LENS", root.ts, "T0TEST");
    expect(done?.status).toBe("done");
    expect(
      (await waitFor(() => h.slack.responses().find((r) => r.id === "action-retry-1"))).body.text,
    ).toContain("Retrying");
    // The worker's line for the run carries its token usage (never the thread text).
    const line = await waitFor(() =>
      h.logged.find((l) => l.msg === "analysis done" && (l.obj as { runId?: string }).runId === done?.runId),
    );
    const tokens = (line?.obj as { tokens?: { calls: number; input_tokens: number } } | undefined)?.tokens;
    expect(tokens?.calls).toBeGreaterThanOrEqual(4);
    expect(tokens?.input_tokens).toBeGreaterThan(0);
  });
});

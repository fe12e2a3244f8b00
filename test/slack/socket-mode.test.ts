/**
 * Socket Mode end to end: the real runtime (`start` with SLACK_APP_TOKEN), so Bolt's
 * SocketModeReceiver and the real `@slack/socket-mode` client, against the loopback fake of
 * Slack's Socket Mode server (every envelope acknowledged within 3 s or the test fails) and the
 * fake Web API. The same flows as over HTTP, and a reconnect asked for mid-run.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.js";
import { type Running, start } from "../../src/runtime.js";
import { FakeSlack } from "../fakes/slack.js";
import { FakeSocketMode } from "../fakes/socket-mode.js";
import {
  BOT_TOKEN,
  deleteDeployment,
  freePort,
  quietLogger,
  REDIS_URL,
  waitFor,
} from "../support/harness.js";

const prefix = `sm-${randomBytes(4).toString("hex")}`;
let slack: FakeSlack;
let socket: FakeSocketMode;
let running: Running;

beforeAll(async () => {
  slack = await FakeSlack.start();
  socket = await FakeSocketMode.attach(slack);
  const config = loadConfig({
    SLACK_BOT_TOKEN: BOT_TOKEN,
    SLACK_APP_TOKEN: "xapp-1-test",
    SLACK_API_URL: slack.apiUrl,
    REDIS_URL,
    LENSBOT_REDIS_PREFIX: prefix,
    LENSBOT_STREAMING: "off",
    PORT: String(await freePort()),
    LENSBOT_OPS_PORT: "0",
  });
  running = await start(config, quietLogger, { app: true, worker: true });
  await socket.connected();
}, 30_000);

afterAll(async () => {
  await running?.close();
  await socket?.close();
  await slack?.close();
  await deleteDeployment(REDIS_URL, prefix);
});

let n = 0;
const command = (text: string, channel: string) => ({
  token: "legacy",
  team_id: "T0TEST",
  team_domain: "test",
  channel_id: channel,
  channel_name: channel.toLowerCase(),
  user_id: "U0ASKER",
  user_name: "asker",
  command: "/lens",
  text,
  api_app_id: "AAPP00001",
  response_url: slack.responseUrl(`sm-${++n}`),
  trigger_id: `sm.${Date.now()}.${n}`,
});

const isDone = (channel: string, threadTs: string) =>
  slack.thread(channel, threadTs).some((m) => JSON.stringify(m.blocks ?? []).includes("✅ *Done*"));

const rootOf = (channel: string) =>
  waitFor(() => slack.messages(channel).find((m) => !m.thread_ts || m.thread_ts === m.ts), 5_000, "the root");

describe("Socket Mode", () => {
  it("connects through apps.connections.open with the app token", () => {
    const open = slack.calls("apps.connections.open");
    expect(open.length).toBeGreaterThanOrEqual(1);
    expect(open[0]?.token).toBe("xapp-1-test");
    expect(open[0]?.error).toBeUndefined();
  });

  it("a slash command: acked within 3 s with the ephemeral answer, then the analysis in a thread", async () => {
    const ack = await socket.send(
      "slash_commands",
      command("Our dashboard API is stuck at 350 ms despite caching.", "C0SM1"),
    );
    expect(ack.ms).toBeLessThan(3_000);
    expect(ack.payload).toMatchObject({ response_type: "ephemeral", text: expect.stringContaining("On it") });
    const root = await rootOf("C0SM1");
    await waitFor(() => isDone("C0SM1", root.ts), 15_000, "the analysis");
  });

  it("an @mention in a thread, a message shortcut, a library command and a card's 👍, each acked in time", async () => {
    const { thread_ts, tss } = slack.seedThread("C0SM2", [
      { user: "U0ASKER", text: "Checkout fails for a third of users since 14:05." },
      { user: "U0ASKER", text: "We restarted the pods twice; it comes back every time." },
    ]);
    const mention = await socket.send("events_api", {
      token: "legacy",
      team_id: "T0TEST",
      api_app_id: "AAPP00001",
      type: "event_callback",
      event_id: `EvSM${randomBytes(4).toString("hex")}`,
      event_time: Math.floor(Date.now() / 1000),
      event: {
        type: "app_mention",
        user: "U0ASKER",
        text: `<@${slack.bot.user_id}> why does this keep happening?`,
        ts: `${Number(tss.at(-1)) + 1}.000000`,
        channel: "C0SM2",
        thread_ts,
      },
    });
    expect(mention.ms).toBeLessThan(3_000);
    await waitFor(() => isDone("C0SM2", thread_ts), 15_000, "the mention's analysis");

    const shortcutThread = slack.seedThread("C0SM3", [
      { user: "U0ASKER", text: "Our deploys fail every Friday." },
    ]);
    const shortcut = await socket.send("interactive", {
      type: "message_action",
      callback_id: "apply_lenses",
      trigger_id: `sc.${Date.now()}`,
      message_ts: shortcutThread.thread_ts,
      response_url: slack.responseUrl("sm-shortcut"),
      message: {
        type: "message",
        user: "U0ASKER",
        ts: shortcutThread.thread_ts,
        text: "Our deploys fail every Friday.",
      },
      user: { id: "U0ASKER", name: "asker" },
      channel: { id: "C0SM3", name: "c0sm3" },
      team: { id: "T0TEST", domain: "test" },
      token: "legacy",
      action_ts: "1",
    });
    expect(shortcut.ms).toBeLessThan(3_000);
    await waitFor(() => isDone("C0SM3", shortcutThread.thread_ts), 15_000, "the shortcut's analysis");

    const library = await socket.send("slash_commands", command("show pace layering", "C0SM3"));
    expect(JSON.stringify(library.payload)).toContain("Pace Layering");

    const card = slack
      .thread("C0SM2", thread_ts)
      .find((m) => JSON.stringify(m.blocks ?? []).includes("lens_feedback"));
    type Element = { type?: string; positive_button?: { value?: string } };
    const element = ((card?.blocks ?? []) as { type: string; elements?: Element[] }[])
      .find((b) => b.type === "context_actions")
      ?.elements?.find((e) => e.type === "feedback_buttons");
    const feedback = JSON.parse(element?.positive_button?.value ?? "{}") as {
      runId?: string;
      target?: string;
    };
    expect(feedback.runId).toBeDefined();
    const vote = await socket.send("interactive", {
      type: "block_actions",
      trigger_id: `ba.${Date.now()}`,
      user: { id: "U0VOTER", name: "voter" },
      channel: { id: "C0SM2", name: "c0sm2" },
      team: { id: "T0TEST", domain: "test" },
      message: { ts: card?.ts, thread_ts, text: "card" },
      container: { type: "message" },
      actions: [
        {
          type: "feedback_buttons",
          action_id: "lens_feedback",
          block_id: "b",
          value: JSON.stringify({ ...feedback, vote: "up" }),
          text: { type: "plain_text", text: "👍" },
          action_ts: "1",
        },
      ],
      token: "legacy",
      api_app_id: "AAPP00001",
      response_url: slack.responseUrl("sm-vote"),
    });
    expect(vote.ms).toBeLessThan(3_000);
    await waitFor(() => slack.responses().find((r) => r.id === "sm-vote"), 5_000, "the thanks");
  });

  it("a reconnect asked for mid-run: the client opens a new connection, and the run completes once", async () => {
    const before = slack.calls("apps.connections.open").length;
    await socket.send(
      "slash_commands",
      command("Our nightly batch overruns into business hours since the data doubled.", "C0SM4"),
    );
    const root = await rootOf("C0SM4");
    await socket.refresh();
    expect(slack.calls("apps.connections.open").length).toBe(before + 1);
    await waitFor(() => isDone("C0SM4", root.ts), 15_000, "the run");
    // Every message of the run was posted once.
    const slots = slack
      .calls("chat.postMessage")
      .filter((c) => c.args.channel === "C0SM4" && !c.error)
      .map(
        (c) =>
          (c.args.metadata as { event_payload?: { slot?: string } } | undefined)?.event_payload?.slot ??
          "root",
      );
    expect(new Set(slots).size).toBe(slots.length);
    // And the new connection serves commands.
    const after = await socket.send("slash_commands", command("help", "C0SM4"));
    expect(JSON.stringify(after.payload)).toContain("How to use lensbot");
    expect(socket.acks.every((a) => a.ms < 3_000)).toBe(true);
  });
});

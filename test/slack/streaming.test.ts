/**
 * Progress as a streamed task plan (chat.startStream / appendStream / stopStream on the fake Web
 * API, which is as strict as Slack about recipients and open streams), and the fall-back to the
 * edited status message when streaming is refused or a stream breaks mid-run.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type Harness,
  messageText,
  nextTriggerId,
  roots,
  slashCommand,
  startHarness,
  waitFor,
} from "../support/harness.js";

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ streaming: true });
});
afterAll(async () => {
  await h?.close();
});

const PROBLEM = "Our dashboard API is stuck at 350 ms despite caching, indexes and pooling; we need 150 ms.";

/** Starts /lens in `channel` and waits until its run is done; returns the run and its thread. */
async function run(channel: string) {
  await slashCommand(h.url, PROBLEM, { channel_id: channel, trigger_id: nextTriggerId() });
  const root = await waitFor(() => roots(h, channel)[0], 5_000, "the root");
  const record = await waitFor(
    async () => {
      const r = await h.store.runForThread(channel, root.ts, "T0TEST");
      return r?.status === "done" ? r : undefined;
    },
    15_000,
    "the run to finish",
  );
  const statusTs = await h.store.messageTs(record.runId, "status#0");
  await waitFor(
    async () => (await h.store.streamState(record.runId)) !== "open",
    5_000,
    "the stream to close",
  );
  return { record, root, statusTs, thread: h.slack.thread(channel, root.ts) };
}

const callsIn = (method: string, channel: string) =>
  h.slack.calls(method).filter((c) => c.args.channel === channel);

describe("progress as a streamed plan", () => {
  it("streams one task per lens, completed in the order the cards land, and stops the stream once", async () => {
    const { record, statusTs, thread } = await run("C0STREAM");
    const [start] = callsIn("chat.startStream", "C0STREAM");
    expect(start?.args).toMatchObject({
      recipient_user_id: "U0ASKER",
      recipient_team_id: "T0TEST",
      task_display_mode: "plan",
    });
    expect(callsIn("chat.stopStream", "C0STREAM")).toHaveLength(1);
    expect(callsIn("chat.update", "C0STREAM").filter((c) => c.args.ts === statusTs)).toEqual([]);

    const stream = thread.find((m) => m.ts === statusTs);
    expect(stream?.stream?.state).toBe("stopped");
    const chunks = stream?.stream?.chunks ?? [];
    const completed = chunks
      .filter((c) => c.type === "task_update" && c.status === "complete")
      .map((c) => c.id);
    const lensIds = record.suggestion?.lenses.map((l) => l.id) ?? [];
    // Every lens, then the synthesis, each completed once, in the order their cards were posted.
    const cardOrder = h.slack
      .calls("chat.postMessage")
      .filter((c) => c.args.channel === "C0STREAM" && !c.error)
      .map(
        (c) =>
          (c.args.metadata as { event_payload?: { slot?: string } } | undefined)?.event_payload?.slot ?? "",
      )
      .filter((slot) => slot.startsWith("lens:"))
      .map((slot) => slot.replace(/#\d+$/, ""));
    expect(completed).toEqual([...cardOrder, "synthesis"]);
    expect(new Set(cardOrder)).toEqual(new Set(lensIds.map((id) => `lens:${id}`)));
    // It ends with the synthesis in a line and the final status.
    expect(stream?.text).toContain("Look first at");
    expect(messageText(stream as { text: string; blocks?: unknown[] })).toContain("✅ *Done*");
    // The cards are still their own messages.
    expect(
      thread.filter((m) => /"header"/.test(JSON.stringify(m.blocks ?? []))).length,
    ).toBeGreaterThanOrEqual(lensIds.length + 1);
  });

  it("refused by Slack: the edited status message, and the run still completes", async () => {
    h.slack.fail("chat.startStream", "not_allowed_token_type", { times: 1 });
    const { statusTs, thread } = await run("C0NOSTREAM");
    expect(callsIn("chat.startStream", "C0NOSTREAM").map((c) => c.error)).toEqual(["not_allowed_token_type"]);
    expect(callsIn("chat.appendStream", "C0NOSTREAM")).toEqual([]);
    const status = thread.find((m) => m.ts === statusTs);
    expect(status?.stream).toBeUndefined();
    expect(messageText(status as { text: string; blocks?: unknown[] })).toContain("✅ *Done*");
    expect(callsIn("chat.update", "C0NOSTREAM").some((c) => c.args.ts === statusTs)).toBe(true);
    // The workspace's refusal is remembered: its next run does not ask again.
    expect(await h.store.refused("T0TEST", "stream")).toBe(true);
    const next = await run("C0NOSTREAM2");
    expect(callsIn("chat.startStream", "C0NOSTREAM2")).toEqual([]);
    expect(messageText(next.thread.find((m) => m.ts === next.statusTs) as { text: string })).toContain(
      "✅ *Done*",
    );
    // Forgotten (as after its 12 hours), streaming is tried again.
    await h.redis.del(h.store.keys.refused("T0TEST", "stream"));
  });

  it("a busy Slack is not remembered as a refusal", async () => {
    h.slack.fail("chat.startStream", "ratelimited", { times: 1 });
    await run("C0BUSY");
    expect(callsIn("chat.startStream", "C0BUSY").map((c) => c.error)).toEqual(["ratelimited"]);
    expect(await h.store.refused("T0TEST", "stream")).toBe(false);
  });

  it("a stream that breaks mid-run is stopped with what it has, and the status goes on as an edited message", async () => {
    h.slack.fail("chat.appendStream", "message_not_in_streaming_state", { times: 1 });
    const { statusTs, thread } = await run("C0BROKEN");
    const stops = callsIn("chat.stopStream", "C0BROKEN");
    expect(stops).toHaveLength(1);
    expect(stops[0]?.args.ts).toBe(statusTs);
    const status = thread.find((m) => m.ts === statusTs);
    expect(status?.stream?.state).toBe("stopped");
    expect(messageText(status as { text: string; blocks?: unknown[] })).toContain("✅ *Done*");
    const firstUpdate = h.slack
      .calls()
      .findIndex((c) => c.method === "chat.update" && c.args.ts === statusTs);
    const stopAt = h.slack.calls().findIndex((c) => c.method === "chat.stopStream" && c.args.ts === statusTs);
    expect(stopAt).toBeGreaterThanOrEqual(0);
    expect(firstUpdate).toBeGreaterThan(stopAt);
  });
});

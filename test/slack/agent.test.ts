/**
 * The agent DM through Bolt's Assistant on the real receiver: suggested prompts when a thread
 * opens, an analysis in the thread with its status naming steps and lenses, and a reply in the
 * thread answered as a follow-up through the lenses already applied, not as a new run.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SUGGESTED_PROMPTS } from "../../src/slack/listeners/assistant.js";
import {
  eventCallback,
  type Harness,
  messageText,
  nextTriggerId,
  startHarness,
  waitFor,
  waitForDone,
} from "../support/harness.js";

const DM = "D0AGENT";
const USER = "U0ASKER";
let h: Harness;

beforeAll(async () => {
  h = await startHarness();
  h.slack.addUser({ id: USER, name: "asker", real_name: "Ada Asker" });
  h.slack.addChannel(DM, "dm", { members: [USER] });
});
afterAll(async () => {
  await h?.close();
});

/** Opens an agent thread (its root is the person's first message) and returns its ts. */
async function openThread(): Promise<string> {
  const { thread_ts } = h.slack.seedThread(DM, [{ user: USER, text: "(agent thread)" }]);
  await eventCallback(
    h.url,
    {
      type: "assistant_thread_started",
      assistant_thread: { user_id: USER, channel_id: DM, thread_ts, context: {} },
      event_ts: thread_ts,
    },
    `Ev${nextTriggerId()}`,
  );
  return thread_ts;
}

/** The person writes in the agent thread. */
async function write(threadTs: string, text: string): Promise<string> {
  const ts = `${Math.floor(Date.now() / 1000)}.${String(Math.floor(Math.random() * 1e6)).padStart(6, "0")}`;
  await eventCallback(
    h.url,
    {
      type: "message",
      channel: DM,
      channel_type: "im",
      user: USER,
      text,
      ts,
      thread_ts: threadTs,
      event_ts: ts,
    },
    `Ev${nextTriggerId()}`,
  );
  return ts;
}

const statuses = (threadTs: string) =>
  h.slack
    .calls("assistant.threads.setStatus")
    .filter((c) => c.args.thread_ts === threadTs && !c.error)
    .map((c) => String(c.args.status));

describe("agent DM", () => {
  it("a new thread gets a greeting and the four suggested prompts", async () => {
    const threadTs = await openThread();
    const prompts = await waitFor(
      () => h.slack.calls("assistant.threads.setSuggestedPrompts").find((c) => c.args.thread_ts === threadTs),
      5_000,
      "the suggested prompts",
    );
    expect((prompts.args.prompts as { title: string }[]).map((p) => p.title)).toEqual([
      "Apply lenses to a problem",
      "Give me a random lens",
      "Which lens fits…?",
      "What did we learn this week?",
    ]);
    expect(prompts.error).toBeUndefined();
    expect(
      h.slack.thread(DM, threadTs).some((m) => m.text.startsWith("Tell me what your team is stuck on")),
    ).toBe(true);
  });

  it("a problem: a title, status naming the steps and lenses, then the analysis in the thread; a reply is a follow-up", async () => {
    const threadTs = await openThread();
    await write(threadTs, "Our deploys fail every Friday although we added a freeze and a second reviewer.");
    await waitForDone(h, DM, threadTs);
    const run = await h.store.runForThread(DM, threadTs, "T0TEST");
    expect(run?.job.assistantThread).toBe(true);
    const title = h.slack.calls("assistant.threads.setTitle").find((c) => c.args.thread_ts === threadTs);
    expect(title?.args.title).toBe("Our deploys fail every Friday although we added a freeze…");
    const seen = statuses(threadTs);
    expect(seen).toContain("is choosing thinking modes and lenses…");
    const lensNames = run?.suggestion?.lenses.map((l) => l.name) ?? [];
    expect(
      seen.some((st) => lensNames.some((n) => st.startsWith("is looking through") && st.includes(n))),
    ).toBe(true);
    expect(seen).toContain("is writing the synthesis…");
    const loading = h.slack
      .calls("assistant.threads.setStatus")
      .filter((c) => c.args.thread_ts === threadTs)
      .flatMap((c) => (c.args.loading_messages as string[] | undefined) ?? []);
    expect(loading.some((m) => lensNames.some((n) => m === `Looking through ${n}…`))).toBe(true);
    expect(seen.at(-1)).toBe("");

    const before = h.slack.thread(DM, threadTs).length;
    const askedTs = await write(threadTs, "Which of these should we try first, with only two engineers?");
    const answer = await waitFor(
      () =>
        h.slack
          .thread(DM, threadTs)
          .find(
            (m) =>
              (m.metadata as { event_payload?: { slot?: string } } | undefined)?.event_payload?.slot ===
              `followup:${askedTs}#0`,
          ),
      10_000,
      "the follow-up answer",
    );
    const text = messageText(answer);
    expect(text).toContain("Follow-up");
    expect(text).toContain("Which of these should we try first");
    for (const n of lensNames) expect(text).toContain(n);
    // Not a new run: same run in the thread, one mode card, one more message.
    expect((await h.store.runForThread(DM, threadTs, "T0TEST"))?.runId).toBe(run?.runId);
    const thread = h.slack.thread(DM, threadTs);
    expect(
      thread.filter(
        (m) =>
          (m.metadata as { event_payload?: { slot?: string } } | undefined)?.event_payload?.slot === "mode#0",
      ),
    ).toHaveLength(1);
    expect(thread.length).toBe(before + 1);
    expect(statuses(threadTs)).toContain("is thinking it over through the lenses of this analysis…");
  });

  it("a thread status Slack refuses (an ordinary DM thread) does not stop the analysis", async () => {
    const { thread_ts } = h.slack.seedThread(DM, [{ user: USER, text: "(an ordinary DM)" }]);
    h.slack.fail("assistant.threads.setStatus", "invalid_thread", { times: 50 });
    h.slack.fail("assistant.threads.setTitle", "invalid_thread", { times: 5 });
    await write(thread_ts, "Our on-call pages are mostly noise and people have stopped reading them.");
    await waitForDone(h, DM, thread_ts);
    expect(h.slack.calls("assistant.threads.setStatus").some((c) => c.error === "invalid_thread")).toBe(true);
    h.slack.clearScripts();
  });

  it("answers the short prompts at once: a random lens, which lens fits, what we learned", async () => {
    const threadTs = await openThread();
    await write(threadTs, SUGGESTED_PROMPTS[1]?.message ?? "");
    await waitFor(
      () => h.slack.thread(DM, threadTs).some((m) => m.text.startsWith("A lens to try:")),
      5_000,
      "a random lens",
    );
    await write(threadTs, SUGGESTED_PROMPTS[2]?.message ?? "");
    await waitFor(
      () => h.slack.thread(DM, threadTs).some((m) => messageText(m).includes("These lenses fit best")),
      5_000,
      "which lens fits",
    );
    await write(threadTs, "What did we learn this week?");
    const learned = await waitFor(
      () => h.slack.thread(DM, threadTs).find((m) => m.text.startsWith("Retro digest")),
      5_000,
      "what we learned",
    );
    expect(messageText(learned)).toContain("Our deploys fail every Friday");
    expect(messageText(learned)).not.toContain("digest_feedback_up");
    // None of these started a run.
    expect(await h.store.runForThread(DM, threadTs, "T0TEST")).toBeUndefined();
  });
});

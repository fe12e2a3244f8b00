/**
 * Durable, safe runs, end to end on real Bolt, BullMQ and Redis with the loopback fakes:
 * checkpoints, serialised follow-ups, idempotent posting against Slack itself, model overload,
 * and authorisation of every interaction.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { OFFLINE_LABEL } from "../../src/pipeline/schemas.js";
import { dedupeKey } from "../../src/queue/jobs.js";
import { enqueueAnalysis, modelRateLimit } from "../../src/queue/queue.js";
import type { RecordedRequest, Reply } from "../fakes/anthropic.js";
import { answerFor } from "../fakes/json-schema-sample.js";
import {
  buttonClick,
  catalogue,
  type Harness,
  interaction,
  messageText,
  post,
  postsPerSlot,
  roots,
  sign,
  slashCommand,
  slotMessages,
  startHarness,
  statusOf,
  waitFor,
  waitForDone,
} from "../support/harness.js";

const PROBLEM =
  "Deploys to our payments service fail about once a week. We added a second reviewer and a Friday deploy freeze, but incidents keep happening and on-call alerts are mostly ignored.";

/** Valid answers for every request after `delayMs`. */
const answering =
  (delayMs = 0) =>
  (req: RecordedRequest): Reply => ({
    kind: "json",
    value: answerFor(req.body.output_config?.format?.schema ?? {}, "A specific, well-evidenced answer."),
    delayMs,
  });

/** Starts `/lens` with `text` and returns the root message of its thread and its run id. */
async function startLens(h: Harness, text: string, trigger: string) {
  await slashCommand(h.url, text, { trigger_id: trigger });
  const runId = dedupeKey("cmd", trigger);
  const record = await waitFor(() => h.store.getRun(runId), 5_000, "the run record");
  const root = await waitFor(() => roots(h, "C0LENS").find((m) => m.ts === record.threadTs), 5_000, "root");
  return { root, runId };
}

const modelCalls = (h: Harness, step: string) => h.anthropic.requestsFor(step).length;

describe("durable runs (Claude engine through the fake API)", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ engine: "claude", maxRetries: 0, attempts: 6, retryDelay: () => 300 });
  });
  afterAll(async () => {
    await h.close();
  });
  afterEach(() => {
    h.anthropic.reset();
  });

  it("serialises an Apply clicked while the run is analysing: one run with every lens, one card each", async () => {
    h.anthropic.respondWith(answering(400));
    const { root, runId } = await startLens(h, `${PROBLEM} (apply while running)`, "apply-running");
    // As soon as the lenses are chosen (saved), click Apply on a lens the run does not have.
    const record = await waitFor(async () => {
      const r = await h.store.getRun(runId);
      return r?.suggestion && r.status === "analysing" ? r : undefined;
    });
    const extra = catalogue.lenses.find((l) => !record.suggestion?.lenses.some((x) => x.id === l.id))!;
    await buttonClick(h.url, {
      actionId: `apply_lens:${extra.id}`,
      value: JSON.stringify({ runId, lensId: extra.id }),
      userId: "U0ASKER",
      channel: "C0LENS",
      messageTs: root.ts,
      threadTs: root.ts,
      triggerId: "apply-while-running",
    });
    const done = await waitFor(
      async () => {
        const r = await h.store.getRun(runId);
        return r?.status === "done" && r.analyses.some((a) => a.lens_id === extra.id) ? r : undefined;
      },
      20_000,
      "the run to include the applied lens",
    );
    const ids = done.suggestion?.lenses.map((l) => l.id) ?? [];
    expect(ids).toContain(extra.id);
    expect(done.analyses.map((a) => a.lens_id)).toEqual(ids);
    // The synthesis was made again over every lens.
    expect(new Set(done.synthesisOf)).toEqual(new Set(ids));
    // One card per lens in the thread, every slot posted once.
    const slots = slotMessages(h, "C0LENS", root.ts, runId);
    for (const id of ids) expect(slots.get(`lens:${id}#0`)).toBe(1);
    for (const [slot, n] of postsPerSlot(h, runId)) expect(n, slot).toBe(1);
    // The status line covers every lens, all done.
    const status = messageText(statusOf(h, "C0LENS", root.ts)!);
    expect(status).toContain("Done");
    for (const l of done.suggestion?.lenses ?? []) expect(status).toContain(`${l.name} ✓`);
    // The first suggestion was made once; the applied lens was analysed once.
    expect(modelCalls(h, "suggest")).toBe(1);
    expect(
      h.anthropic
        .requestsFor("analyze")
        .filter((r) => JSON.stringify(r.body.messages).includes(`(id: ${extra.id},`)),
    ).toHaveLength(1);
    // The model analysed every card, the applied lens included: none is labelled offline.
    for (const m of h.slack.thread("C0LENS", root.ts)) expect(messageText(m)).not.toContain(OFFLINE_LABEL);
  });

  it("runs a second job of the same run from its checkpoints: no model call, no new post", async () => {
    h.anthropic.respondWith(answering(0));
    const { root, runId } = await startLens(h, `${PROBLEM} (run twice)`, "run-twice");
    await waitForDone(h, "C0LENS", root.ts);
    const record = (await h.store.getRun(runId))!;
    const callsBefore = h.anthropic.requests.length;
    const postsBefore = h.slack.calls("chat.postMessage").length;
    // The same run handed to the queue again (as a stalled job re-run would be), twice at once.
    await Promise.all([
      enqueueAnalysis(h.queue, `${runId}-again-1`, { ...record.job, requestedAt: Date.now() }),
      enqueueAnalysis(h.queue, `${runId}-again-2`, { ...record.job, requestedAt: Date.now() }),
    ]);
    await waitFor(async () => {
      const [a, b] = await Promise.all([
        h.queue.getJob(`${runId}-again-1`),
        h.queue.getJob(`${runId}-again-2`),
      ]);
      return (await a?.isCompleted()) && (await b?.isCompleted());
    });
    expect(h.anthropic.requests.length).toBe(callsBefore);
    expect(h.slack.calls("chat.postMessage").length).toBe(postsBefore);
    for (const [slot, n] of postsPerSlot(h, runId)) expect(n, slot).toBe(1);
  });

  it("adopts a post that Slack applied but whose reply was lost: no duplicate in the thread", async () => {
    h.anthropic.respondWith(answering(0));
    // The next two posts take effect, but their answers never arrive.
    h.slack.dropReply("chat.postMessage", { times: 2 });
    const { root, runId } = await startLens(h, `${PROBLEM} (lost replies)`, "lost-replies");
    await waitForDone(h, "C0LENS", root.ts);
    const slots = slotMessages(h, "C0LENS", root.ts, runId);
    expect(slots.size).toBeGreaterThan(3);
    for (const [slot, n] of slots) expect(n, slot).toBe(1);
    expect(h.slack.calls("chat.postMessage").filter((c) => c.error === "reply_dropped").length).toBe(2);
  });

  it("rides out a model overload: every run started in it completes afterwards, nobody presses Retry", async () => {
    const until = performance.now() + 1_500;
    h.anthropic.respondWith((req) =>
      performance.now() < until ? { kind: "error", status: 529 } : answering(0)(req),
    );
    const runs = await Promise.all(
      [1, 2, 3].map((i) => startLens(h, `${PROBLEM} (overload ${i})`, `overload-${i}`)),
    );
    for (const { root } of runs) await waitForDone(h, "C0LENS", root.ts, 20_000);
    for (const { root, runId } of runs) {
      // The status message says Done just before the record is marked done.
      await waitFor(
        async () => (await h.store.getRun(runId))?.status === "done",
        5_000,
        "the record to be done",
      );
      expect(h.slack.thread("C0LENS", root.ts).some((m) => messageText(m).includes("retry_analysis"))).toBe(
        false,
      );
    }
    const busy = h.slack
      .calls("chat.update")
      .filter((c) => JSON.stringify(c.args.blocks).includes("The model service is busy; retrying in"));
    expect(busy.length).toBeGreaterThan(0);
  });
});

describe("long threads", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h.close();
  });

  it("reads a 5,000-message thread within its page cap, and keeps the question and the latest messages", async () => {
    const seeded = Array.from({ length: 5_000 }, (_, i) =>
      i % 10 === 5
        ? { bot_id: "B0PAGER", subtype: "bot_message", text: `[ALERT] checkout p99 ${900 + i} ms` }
        : {
            user: i % 2 ? "U0A" : "U0B",
            text:
              i === 0
                ? "Checkout latency doubled after the payments migration"
                : `update ${i}: still timing out`,
          },
    );
    const { thread_ts, tss } = h.slack.seedThread("C0HUGE", seeded);
    const questionTs = tss[4_990]!;
    await eventCallbackMention(h, "C0HUGE", thread_ts, questionTs, "Ev0HUGE");
    await waitForDone(h, "C0HUGE", thread_ts, 30_000);
    const record = await h.store.runForThread("C0HUGE", thread_ts, "T0TEST");
    const context = record?.problem?.context ?? "";
    expect(Math.ceil(context.length / 4)).toBeLessThanOrEqual(6_000);
    expect(context).toContain("Checkout latency doubled");
    expect(context).toContain("update 4990:");
    expect(context).toContain("update 4999:");
    expect(context).toMatch(/\[\d+ alerts from bot B0PAGER; the first: /);
    expect(context).toMatch(/messages in the middle of this thread were not read/);
    expect(
      h.slack.calls("conversations.replies").filter((c) => c.args.channel === "C0HUGE").length,
    ).toBeLessThanOrEqual(15);
  });
});

/** An @mention of lensbot posted at `ts` inside a thread. */
async function eventCallbackMention(
  h: Harness,
  channel: string,
  threadTs: string,
  ts: string,
  eventId: string,
) {
  const { eventCallback } = await import("../support/harness.js");
  await eventCallback(
    h.url,
    {
      type: "app_mention",
      channel,
      user: "U0A",
      text: "<@UBOT00001> what should we change?",
      ts,
      thread_ts: threadTs,
    },
    eventId,
  );
}

describe("every interaction is checked against the run it names", () => {
  let h: Harness;
  let runId: string;
  let threadTs: string;
  beforeAll(async () => {
    h = await startHarness();
    const started = await startLens(h, `${PROBLEM} (authorisation)`, "auth-run");
    runId = started.runId;
    threadTs = started.root.ts;
    await waitForDone(h, "C0LENS", threadTs);
    // The thread says Done a moment before the record and the job finish; the snapshots need both.
    await waitFor(
      async () => (await h.queue.getJobState(runId)) === "completed",
      10_000,
      "the job to complete",
    );
  });
  afterAll(async () => {
    await h.close();
  });

  /** Everything that could change: the run record, its votes, the jobs and the thread. */
  async function snapshot() {
    const record = await h.store.getRun(runId);
    return {
      record: JSON.stringify(record),
      votes: await h.store.votes(runId, record?.analyses[0]?.lens_id ?? ""),
      jobs: await h.queue.getJobCounts(),
      posts: h.slack.calls("chat.postMessage").length,
      updates: h.slack.calls("chat.update").length,
    };
  }

  it("refuses forged clicks (another channel, another team, a user of another team) and changes nothing", async () => {
    const before = await snapshot();
    const lensId = catalogue.lenses.find((l) => l.id !== "five-whys")!.id;
    const forged = [
      // Apply from another channel.
      {
        actionId: `apply_lens:five-whys`,
        value: JSON.stringify({ runId, lensId: "five-whys" }),
        channel: "C0OTHER",
        team: "T0TEST",
        trigger: "forged-1",
      },
      // Retry carrying this run's id, clicked in another workspace.
      { actionId: "retry_analysis", value: runId, channel: "C0LENS", team: "T0EVIL", trigger: "forged-2" },
      // A vote from a user of another team.
      {
        actionId: "feedback_up",
        value: JSON.stringify({ runId, lensId }),
        channel: "C0LENS",
        team: "T0EVIL",
        trigger: "forged-3",
      },
    ];
    for (const f of forged) {
      const res = await interaction(h.url, {
        type: "block_actions",
        trigger_id: f.trigger,
        user: { id: "U0MALLORY", name: "mallory", team_id: f.team },
        channel: { id: f.channel, name: "x" },
        team: { id: f.team, domain: "x" },
        message: { ts: threadTs, thread_ts: threadTs, text: "card" },
        actions: [{ type: "button", action_id: f.actionId, block_id: "b", value: f.value, action_ts: "1" }],
        token: "legacy",
        response_url: h.slack.responseUrl(f.trigger),
        api_app_id: "A0LENSBOT",
        container: { type: "message" },
      });
      expect(res.status).toBe(200);
      const refusal = await waitFor(
        () => h.slack.responses().find((r) => r.id === f.trigger),
        5_000,
        f.trigger,
      );
      expect(String(refusal.body.text)).toContain("did nothing");
    }
    expect(await snapshot()).toEqual(before);
  });

  it("answers a malformed signed action payload with 200 and does nothing", async () => {
    const before = await snapshot();
    for (const payload of [
      { type: "block_actions", actions: [{ type: "button", action_id: "retry_analysis", value: runId }] },
      {
        type: "block_actions",
        user: { id: "U0X" },
        actions: [{ type: "button", action_id: "apply_lens:x", value: "{" }],
      },
    ]) {
      const body = new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
      const res = await post(h.url, body, "application/x-www-form-urlencoded");
      expect(res.status).toBe(200);
    }
    expect(await snapshot()).toEqual(before);
    expect(sign("x", 1)).toMatch(/^v0=/);
  });
});

describe("a budget of model calls per minute", () => {
  it("maps the organisation's limit to analyses started per minute", () => {
    expect(modelRateLimit(4_000)).toEqual({ max: 500, duration: 60_000 });
    expect(modelRateLimit(5)).toEqual({ max: 1, duration: 60_000 }); // never zero
  });

  it("starts jobs within the limit, shared through Redis, and still runs every one", async () => {
    // Two analyses per 1.5 s (scaled down from a minute), four commands at once.
    const h = await startHarness({ limiter: { max: 2, duration: 1_500 } });
    try {
      const triggers = ["limit-1", "limit-2", "limit-3", "limit-4"];
      for (const t of triggers) await slashCommand(h.url, `${PROBLEM} (${t})`, { trigger_id: t });
      const jobs = await waitFor(
        async () => {
          const all = await Promise.all(triggers.map((t) => h.queue.getJob(dedupeKey("cmd", t))));
          return all.every((j) => j?.finishedOn) ? all : undefined;
        },
        15_000,
        "every job to finish",
      );
      const started = jobs.map((j) => j?.processedOn ?? 0).sort((a, b) => a - b);
      // The third job waited for the next window.
      expect((started[2] ?? 0) - (started[0] ?? 0)).toBeGreaterThanOrEqual(1_000);
      for (const j of jobs) expect(await j?.getState()).toBe("completed");
    } finally {
      await h.close();
    }
  });
});

/**
 * Retro digests end to end: `/lens digest` through the real Bolt receiver, job schedulers in a real
 * BullMQ queue on Redis, the digest worker posting to the fake Web API, and the records it reads
 * written through the real RecordStore.
 */
import { WebClient } from "@slack/web-api";
import type { Job, Queue } from "bullmq";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { digestId } from "../../src/app/digest.js";
import { createOfflineEngine } from "../../src/engines/offline/engine.js";
import { createDigestQueue, createDigestWorker } from "../../src/queue/digest.js";
import { createDigestProcessor } from "../../src/queue/digest-processor.js";
import { connectRedis } from "../../src/runtime.js";
import { checkBlockKitLimits } from "../../src/slack/blocks/limits.js";
import { SingleWorkspace } from "../../src/slack/workspaces.js";
import { RecordStore } from "../../src/store/records.js";
import {
  buttonClick,
  type Harness,
  messageText,
  nextTriggerId,
  opened,
  REDIS_URL,
  slashCommand,
  startHarness,
  waitFor,
} from "../support/harness.js";
import { seedBusyPeriod, seedRun } from "../support/records.js";

const RETRO = "C0RETRO";
const USER = "U0ASKER";
const DAY = 86_400_000;

let h: Harness;

beforeEach(async () => {
  h = await startHarness();
  h.slack.addUser({ id: USER, name: "asker", real_name: "Ada Asker", tz: "America/New_York" });
  h.slack.addChannel(RETRO, "eng-retro");
});
afterEach(async () => {
  await h?.close();
});

/** Runs `/lens <text>` in `channel` and returns what the person was told (ack or response URL). */
async function digestCommand(text: string, channel = RETRO): Promise<string> {
  const trigger = nextTriggerId();
  const res = await slashCommand(h.url, text, { channel_id: channel, trigger_id: trigger });
  expect(res.status).toBe(200);
  if (res.text) {
    const body = JSON.parse(res.text) as { text?: string };
    if (body.text) return body.text;
  }
  const answer = await waitFor(
    () => h.slack.responses().find((r) => r.id === `cmd-${trigger}`),
    5_000,
    `an answer to /lens ${text}`,
  );
  return String(answer.body.text);
}

/** A digest processor of another worker process, on this harness's Redis and fake Slack. */
const digestProcessor = (now?: () => number) =>
  createDigestProcessor({
    workspaces: new SingleWorkspace(
      new WebClient("xoxb-test-token", { slackApiUrl: h.slack.apiUrl, retryConfig: { retries: 0 } }),
    ),
    records: h.store,
    digests: h.digests,
    library: opened,
    engine: createOfflineEngine(opened),
    logger: { info() {}, warn() {}, error() {} },
    ...(now && { now }),
  });

/** Waits until a digest job has completed (everything it posts is then in the fake). */
const jobDone = (job: Job) =>
  waitFor(
    async () => (await h.digestQueue.getJobState(job.id as string)) === "completed",
    15_000,
    `digest job ${job.id} to complete`,
  );

const schedulers = () => h.digestQueue.getJobSchedulers();

/** The delayed job the channel's scheduler added for its next fire. */
async function nextScheduledJob(queue: Queue = h.digestQueue): Promise<Job> {
  const jobs = await queue.getDelayed();
  const job = jobs.find((j) => j.id?.startsWith(`repeat:digest-T0TEST-${RETRO}:`));
  if (!job) throw new Error(`no scheduled digest job; delayed: ${jobs.map((j) => j.id).join(", ")}`);
  return job;
}

/** The top-level digest messages of the retro channel. */
const digestPosts = () =>
  h.slack
    .messages(RETRO)
    .filter(
      (m) =>
        (m.metadata as { event_payload?: { slot?: string } } | undefined)?.event_payload?.slot === "digest#0",
    );

describe("/lens digest configuration", () => {
  it("schedules one job scheduler per channel in the person's time zone; reconfigure keeps one; off removes it; restarts keep it", async () => {
    const answer = await digestCommand("digest on weekly mon 09:30");
    expect(answer).toContain("weekly on Monday at 09:30 (America/New_York)");
    let list = await schedulers();
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({
      key: `digest-T0TEST-${RETRO}`,
      pattern: "30 9 * * 1",
      tz: "America/New_York",
    });
    // Everyone in the channel sees who turned it on.
    const notice = h.slack.messages(RETRO).find((m) => m.text.includes("turned on a retro digest"));
    expect(notice?.text).toContain(`<@${USER}>`);
    expect(await h.digests.get("T0TEST", RETRO)).toMatchObject({
      cadence: "weekly",
      weekday: 1,
      time: "09:30",
      sources: [RETRO],
    });
    // The next fire is next Monday 09:30 in New York.
    const first = await nextScheduledJob();
    const fire = new Date(first.opts.prevMillis ?? 0);
    expect(
      new Intl.DateTimeFormat("en-US", {
        timeZone: "America/New_York",
        weekday: "short",
        hour: "2-digit",
        minute: "2-digit",
        hour12: false,
      }).format(fire),
    ).toBe("Mon 09:30");

    await digestCommand("digest on daily 17:00");
    list = await schedulers();
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({ pattern: "0 17 * * *", tz: "America/New_York" });
    expect((await h.digestQueue.getDelayed()).filter((j) => j.id?.startsWith("repeat:"))).toHaveLength(1);

    // Restart: the app and the workers go away; new queue and worker instances find the schedule in Redis.
    await h.app.stop();
    await h.digestWorker?.close();
    const queue = createDigestQueue(h.redis, h.bullPrefix);
    const worker = createDigestWorker(connectRedis(REDIS_URL, "worker"), async () => ({}), {
      prefix: h.bullPrefix,
    });
    try {
      const again = await queue.getJobSchedulers();
      expect(again).toHaveLength(1);
      expect(again[0]).toMatchObject({ pattern: "0 17 * * *", tz: "America/New_York" });
      expect((await nextScheduledJob(queue)).opts.prevMillis).toBeGreaterThan(Date.now());
    } finally {
      await worker.close();
      await queue.close();
    }
  });

  it("turns off: no scheduler, no next job, no config, and the channel is told", async () => {
    await digestCommand("digest on weekly fri 16:00");
    expect(await schedulers()).toHaveLength(1);
    expect(await digestCommand("digest off")).toContain("the digest is off");
    expect(await schedulers()).toHaveLength(0);
    expect((await h.digestQueue.getDelayed()).filter((j) => j.id?.startsWith("repeat:"))).toHaveLength(0);
    expect(await h.digests.get("T0TEST", RETRO)).toBeUndefined();
    expect(h.slack.messages(RETRO).some((m) => m.text.includes(`<@${USER}> turned off`))).toBe(true);
    expect(await digestCommand("digest off")).toContain("No digest is on");
  });

  it("answers nonsense with what was expected, and stores nothing", async () => {
    const answer = await digestCommand("digest on weekly funday 25:00");
    expect(answer).toMatch(
      /I did not understand "funday": expected daily, weekly, biweekly or monthly, a weekday \(mon-sun\)/,
    );
    expect(await digestCommand("digest on weekly mon 25:00")).toContain("25:00 is not a time of day");
    expect(await digestCommand("digest sometimes")).toContain(
      "expected on, sources, quiet, now, status or off",
    );
    expect(await h.digests.get("T0TEST", RETRO)).toBeUndefined();
    expect(await schedulers()).toHaveLength(0);
    expect(h.slack.messages(RETRO)).toHaveLength(0);
  });

  it("refuses unknown and private source channels without changing anything", async () => {
    h.slack.addChannel("C0INC", "incidents", { botMember: false });
    h.slack.addChannel("C0SECRET", "secret", { botMember: true, isPrivate: true });
    await digestCommand("digest on weekly mon 09:30");
    expect(await digestCommand("digest sources <#C0NOPE|nope>")).toContain("I cannot find <#C0NOPE>");
    expect(await digestCommand("digest sources <#C0INC|incidents> <#C0SECRET|secret>")).toContain(
      "<#C0SECRET> is private",
    );
    expect((await h.digests.get("T0TEST", RETRO))?.sources).toEqual([RETRO]);
    // A public channel lensbot is not in can feed the digest: its records are lensbot's own.
    expect(await digestCommand("digest sources <#C0INC|incidents> <#C0RETRO|eng-retro>")).toContain(
      "<#C0INC>, <#C0RETRO>",
    );
    expect((await h.digests.get("T0TEST", RETRO))?.sources).toEqual(["C0INC", RETRO]);
  });

  it("in a channel lensbot is not in: tells the person to invite it (through the response URL), stores nothing", async () => {
    h.slack.addChannel("C0OUT", "outside", { botMember: false });
    const answer = await digestCommand("digest on weekly mon 09:30", "C0OUT");
    expect(answer).toContain("Invite me first");
    expect(await h.digests.get("T0TEST", "C0OUT")).toBeUndefined();
    expect(await schedulers()).toHaveLength(0);
  });

  it("status says the schedule, the sources and the next digest", async () => {
    expect(await digestCommand("digest status")).toContain("No digest is on");
    await digestCommand("digest on biweekly tue 10:00");
    await digestCommand("digest quiet on");
    const status = await digestCommand("digest status");
    expect(status).toContain("every other Tuesday at 10:00 (America/New_York)");
    expect(status).toContain("skipping empty periods");
    expect(status).toMatch(/Next: Tue \d+ \w+, 10:00/);
  });
});

describe("digest jobs", () => {
  /** A store that keeps records 40 days (the harness's keeps them 10 minutes, too short for past periods). */
  const longStore = () => new RecordStore(h.redis, { prefix: h.recordPrefix, ttlSeconds: 40 * 86_400 });

  it("builds the digest of exactly the records inside [start, end), with counts, links and recurring actions", async () => {
    for (const c of ["C0INC", "C0OPS", "C0OTHER"]) h.slack.addChannel(c, c.toLowerCase());
    await digestCommand("digest on weekly mon 09:30");
    await digestCommand("digest sources <#C0INC|incidents> <#C0OPS|ops>");
    const job = await nextScheduledJob();
    const end = job.opts.prevMillis as number;
    const start = end - 7 * DAY;
    const store = longStore();
    const thread = (channel: string) =>
      h.slack.seedThread(channel, [{ user: USER, text: "stuck" }]).thread_ts;
    const seed = (channel: string, at: number, lenses: string[], reframe: string, actions: string[] = []) =>
      seedRun(store, { channel, at, lenses, reframe, actions, threadTs: thread(channel) });

    // Inside: the first instant of the period, the middle, the last millisecond.
    const a = await seed("C0INC", start, ["theory-of-constraints", "five-whys"], "The queue is the product", [
      "Add a circuit breaker to the payment client",
    ]);
    const b = await seed(
      "C0OPS",
      start + 3 * DAY,
      ["theory-of-constraints"],
      "Capacity is set by one stage",
      ["Add circuit breakers on the payment client calls"],
    );
    const c = await seed("C0INC", end - 1, ["swiss-cheese-model"], "Every layer had a hole");
    // Outside: the previous period (edge), the fire time itself, another channel, a failed run.
    await seed("C0INC", start - 1, ["theory-of-constraints"], "Previous period");
    await seed("C0OPS", end, ["five-whys"], "Next period");
    await seed("C0OTHER", start + DAY, ["goodharts-law"], "Not a source");
    await seedRun(store, {
      channel: "C0INC",
      at: start + 2 * DAY,
      lenses: ["goodharts-law"],
      reframe: "Failed",
      status: "failed",
    });
    // Three weeks earlier: the same action, proposed and (apparently) never done.
    await seed("C0OPS", start - 14 * DAY, ["five-whys"], "Earlier", [
      "Add a circuit breaker to the payment client",
    ]);

    // A 👍 on a card of an analysis in the period; one on a run outside it does not count.
    await store.recordVote(a.runId, "theory-of-constraints", "U0VOTER", "up", "T0TEST");
    await job.promote();
    const id = digestId("T0TEST", RETRO, end);
    const posted = await waitFor(() => h.digests.getPosted(id), 10_000, "the digest to be posted");
    const digest = posted.digest;
    expect(digest.feedback).toEqual([
      { id: "theory-of-constraints", name: "Theory of Constraints", up: 1, down: 0 },
    ]);
    expect(digest.period).toEqual({ start, end });
    expect(digest.analyses.map((x) => x.runId)).toEqual([a.runId, b.runId, c.runId]);
    expect(digest.analyses.map((x) => x.ref)).toEqual(["A1", "A2", "A3"]);
    expect(digest.analyses[0]?.permalink).toBe(
      `https://fake-workspace.slack.com/archives/C0INC/p${a.threadTs.replace(".", "")}`,
    );
    expect(digest.lenses[0]).toMatchObject({ id: "theory-of-constraints", count: 2, previous: 1 });
    expect(digest.lenses.find((l) => l.id === "five-whys")).toMatchObject({ count: 1, previous: 0 });
    expect(digest.recurringActions).toEqual([
      { text: "Add a circuit breaker to the payment client", refs: ["A1", "A2"] },
    ]);
    expect(digest.returningActions).toEqual([
      { text: "Add a circuit breaker to the payment client", refs: ["A1", "A2"], earlier: 1 },
    ]);
    expect(digest.late).toBe(false);
    expect(digest.retro?.source).toBe("offline");
    expect(digest.retro?.questions.length).toBeGreaterThanOrEqual(3);
    expect(digest.lensOfPeriod?.contrastsWith.id).toBe("theory-of-constraints");
    expect(digest.analyses.some((x) => x.lenses.some((l) => l.id === digest.lensOfPeriod?.id))).toBe(false);

    const [message] = digestPosts();
    expect(message).toBeDefined();
    const text = messageText(message as { text: string; blocks?: unknown[] });
    expect(text).toContain(
      `<https://fake-workspace.slack.com/archives/C0INC/p${a.threadTs.replace(".", "")}|A1>`,
    );
    expect(text).toContain("Theory of Constraints: 2 (↑ from 1)");
    expect(text).toContain("Proposed before and back again");
    expect(text).toContain("*What people found useful:* Theory of Constraints 👍 1");
    expect(text).toContain("Offline engine: patterns, themes and questions come from the lens catalogue");
    expect(text).not.toContain("Not a source");
    expect(text).not.toContain("Next period");
  });

  it("two workers: one digest per fire, and each fire its own", async () => {
    await digestCommand("digest on daily 08:00");
    const second = createDigestWorker(connectRedis(REDIS_URL, "worker"), digestProcessor(), {
      prefix: h.bullPrefix,
    });
    try {
      const fires: number[] = [];
      for (let i = 0; i < 3; i++) {
        const job = await nextScheduledJob();
        fires.push(job.opts.prevMillis as number);
        await job.promote();
        await jobDone(job);
      }
      expect(new Set(fires).size).toBe(3);
      const ids = digestPosts().map(
        (m) => (m.metadata as { event_payload: { run_id: string } }).event_payload.run_id,
      );
      expect(ids.sort()).toEqual(fires.map((f) => digestId("T0TEST", RETRO, f)).sort());
      expect(
        h.slack
          .calls("chat.postMessage")
          .filter(
            (c) =>
              (c.args.metadata as { event_payload?: { slot?: string } } | undefined)?.event_payload?.slot ===
              "digest#0",
          ),
      ).toHaveLength(3);
    } finally {
      await second.close();
    }
  });

  it("a fire missed while everything was down is posted once when a worker comes back, marked late", async () => {
    await h.digestWorker?.close();
    await digestCommand("digest on daily 08:00");
    const job = await nextScheduledJob();
    const fire = job.opts.prevMillis as number;
    // The worker comes back three hours after the fire time.
    const processor = digestProcessor(() => fire + 3 * 3_600_000);
    const first = await processor(job, "token-1");
    expect(first).toMatchObject({ late: true, analyses: 0 });
    // Run again (a retry, a second worker): the same message is edited, never a second post.
    await processor(job, "token-2");
    const posts = digestPosts();
    expect(posts).toHaveLength(1);
    expect(messageText(posts[0] as { text: string })).toContain("Posted late");
    expect(messageText(posts[0] as { text: string })).toContain("No analyses from <#C0RETRO> in this period");
  });

  it("quiet mode posts nothing for an empty period; `now` always answers", async () => {
    await digestCommand("digest on daily 08:00");
    await digestCommand("digest quiet on");
    const job = await nextScheduledJob();
    await job.promote();
    await jobDone(job);
    expect(digestPosts()).toHaveLength(0);
    expect(h.logged.some((l) => l.msg === "quiet digest: no analyses in the period, nothing posted")).toBe(
      true,
    );

    expect(await digestCommand("digest now")).toMatch(/Posting the digest of .* here in a moment/);
    await waitFor(() => digestPosts().length === 1, 10_000, "the digest posted now");
  });

  it("60 analyses: the main message and the thread reply pass Slack's limits; buttons are authorised", async () => {
    await digestCommand("digest on weekly mon 09:30");
    const job = await nextScheduledJob();
    const end = job.opts.prevMillis as number;
    const store = longStore();
    await seedBusyPeriod(store, h.slack, RETRO, { from: end - 60 * 60_000, to: end, wordy: true });
    await job.promote();
    await jobDone(job);
    const id = digestId("T0TEST", RETRO, end);
    const posted = await waitFor(() => h.digests.getPosted(id), 15_000, "the digest to be posted");
    expect(posted.digest.analyses).toHaveLength(60);
    const main = h.slack.messages(RETRO).find((m) => m.ts === posted.ts) as {
      text: string;
      blocks: unknown[];
    };
    expect(checkBlockKitLimits(main)).toEqual([]);
    const replies = h.slack.thread(RETRO, posted.ts).slice(1);
    expect(replies.length).toBeGreaterThan(0);
    for (const r of replies)
      expect(checkBlockKitLimits(r as { text: string; blocks?: unknown[] })).toEqual([]);
    // Every analysis is linked somewhere: 8 in the message, the other 52 in the thread.
    const all = [main, ...replies].map((m) => messageText(m as { text: string })).join("\n");
    for (let i = 1; i <= 60; i++) expect(all).toContain(`|A${i}>`);
    expect(h.slack.calls("chat.postMessage").filter((c) => c.error)).toEqual([]);

    // 👍 from the digest's own message counts; the same button on another message is refused.
    const click = (messageTs: string, actionId: string, triggerId = nextTriggerId()) =>
      buttonClick(h.url, {
        actionId,
        value: id,
        userId: "U0VOTER",
        channel: RETRO,
        messageTs,
        threadTs: messageTs,
        triggerId,
      });
    await click(posted.ts, "digest_feedback_up");
    await waitFor(async () => (await h.digests.votes(id)).up === 1, 5_000, "the vote");
    const other = h.slack.seedThread(RETRO, [{ user: USER, text: "another message" }]).thread_ts;
    const refusedTrigger = nextTriggerId();
    await click(other, "digest_feedback_down", refusedTrigger);
    const refusal = await waitFor(
      () => h.slack.responses().find((r) => r.id === `action-${refusedTrigger}`),
      5_000,
      "the refusal",
    );
    expect(refusal.body.text).toContain("belongs to another digest");
    expect(await h.digests.votes(id)).toEqual({ up: 1, down: 0 });

    // Discuss in thread: the retro questions go into the digest's thread, once.
    await click(posted.ts, "digest_discuss");
    await waitFor(
      () => h.slack.thread(RETRO, posted.ts).some((m) => m.text === "Retro discussion opened"),
      5_000,
      "the discussion",
    );
    const againTrigger = nextTriggerId();
    await click(posted.ts, "digest_discuss", againTrigger);
    const again = await waitFor(
      () => h.slack.responses().find((r) => r.id === `action-${againTrigger}`),
      5_000,
      "the answer",
    );
    expect(again.body.text).toContain("already open");
    expect(h.slack.thread(RETRO, posted.ts).filter((m) => m.text === "Retro discussion opened")).toHaveLength(
      1,
    );
  });
});

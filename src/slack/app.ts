import { randomUUID } from "node:crypto";
import { App, type BlockAction, type ButtonAction, LogLevel, type MessageShortcut } from "@slack/bolt";
import type { WebClient } from "@slack/web-api";
import type { Queue } from "bullmq";
import type { Catalogue } from "../catalogue/catalogue.js";
import { type AnalysisJob, dedupeKey, type Trigger } from "../queue/jobs.js";
import { enqueueAnalysis } from "../queue/queue.js";
import type { RecordStore } from "../store/records.js";
import { type LensButtonValue, rootMessage } from "./blocks/cards.js";
import { ThreadPublisher } from "./publisher.js";

export interface SlackAppOptions {
  botToken: string;
  signingSecret?: string;
  /** Socket Mode when set. */
  appToken?: string;
  /** Web API base URL, e.g. `http://127.0.0.1:4000/api/` for a loopback fake. */
  apiUrl?: string;
  queue: Queue;
  store: RecordStore;
  catalogue: Catalogue;
  logger: {
    info(o: object, msg?: string): void;
    warn(o: object, msg?: string): void;
    error(o: object, msg?: string): void;
  };
  /** How long a listener waits for Redis before telling the user the queue is unavailable (ms). */
  enqueueTimeoutMs?: number;
  now?: () => number;
}

export const USAGE =
  "Tell me what your team is stuck on, for example: `/lens our dashboard API is stuck at 350 ms despite caching and new indexes`. " +
  "In a thread, @mention me (or use the message shortcut *Apply lenses to this thread*) and I will analyse the thread.";

const MENTION = /<@[UW][A-Z0-9]+(?:\|[^>]*)?>/g;

/** What to tell the person when a run could not even be started. */
function startFailureMessage(err: unknown, ref: string): string {
  const slackError = (err as { data?: { error?: string } }).data?.error;
  if (slackError === "not_in_channel" || slackError === "channel_not_found") {
    return "I cannot post in this conversation. Invite me first (`/invite @lensbot`) and try again.";
  }
  if (slackError)
    return `Sorry, Slack refused my message (${slackError}); please try again (reference ${ref}).`;
  return `Sorry, I could not start that analysis: my queue is not reachable right now. Please try again in a minute (reference ${ref}).`;
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * The Bolt app: `/lens`, @mentions, the message shortcut, DMs and the card buttons. Listeners
 * ack at once, validate, post a root or status message, enqueue a job and return; they never
 * call the model. Over HTTP, Bolt's receiver verifies Slack's request signature and timestamp.
 */
export function createSlackApp(options: SlackAppOptions): App {
  const { queue, store, catalogue, logger } = options;
  const now = options.now ?? Date.now;
  const enqueueTimeout = options.enqueueTimeoutMs ?? 2_000;
  const socketMode = Boolean(options.appToken);
  const app = new App({
    token: options.botToken,
    ...(socketMode
      ? { socketMode: true, appToken: options.appToken }
      : { signingSecret: options.signingSecret ?? "", processBeforeResponse: false }),
    ...(options.apiUrl && { clientOptions: { slackApiUrl: options.apiUrl } }),
    logLevel: LogLevel.WARN,
  });

  const publisherFor = (client: WebClient, runId: string, channel: string, threadTs: string) =>
    new ThreadPublisher({ client, store, catalogue }, { runId, channel, threadTs });

  const tellUser = async (
    client: WebClient,
    channel: string,
    user: string,
    text: string,
    threadTs?: string,
  ) => {
    try {
      await client.chat.postEphemeral({ channel, user, text, ...(threadTs && { thread_ts: threadTs }) });
    } catch (err) {
      logger.warn({ err, channel }, "could not send an ephemeral message");
    }
  };

  /**
   * Starts a run once per trigger: claims it in Redis, posts the root (for /lens) and the status
   * message, then enqueues the job. Returns false for a duplicate delivery.
   */
  async function startRun(
    client: WebClient,
    run: Omit<AnalysisJob, "runId" | "threadTs" | "requestedAt"> & { jobKey: string; threadTs?: string },
  ): Promise<void> {
    const runId = run.jobKey;
    let publisher: ThreadPublisher | undefined;
    try {
      if (!(await withTimeout(store.claimSlot(runId, "start"), enqueueTimeout, "Redis"))) return; // a duplicate delivery
      let threadTs = run.threadTs;
      if (!threadTs) {
        const [root] = rootMessage({ userId: run.userId, problem: run.question });
        if (!root) throw new Error("empty root message");
        const res = await client.chat.postMessage({
          channel: run.channel,
          text: root.text,
          blocks: root.blocks,
          unfurl_links: false,
          unfurl_media: false,
        });
        if (!res.ts) throw new Error("chat.postMessage returned no ts");
        threadTs = res.ts;
      }
      publisher = publisherFor(client, runId, run.channel, threadTs);
      await publisher.status(() => ({
        phase: "suggesting",
        lenses: [],
        note: "Queued: a worker will pick this up in a moment.",
      }));
      const { jobKey: _jobKey, ...rest } = run;
      await withTimeout(
        enqueueAnalysis(queue, runId, { ...rest, runId, threadTs, requestedAt: now() }),
        enqueueTimeout,
        "Enqueueing",
      );
    } catch (err) {
      logger.error({ err, runId }, "could not start an analysis");
      const message = startFailureMessage(err, runId.slice(-8));
      await publisher?.failed(message).catch(() => {});
      await tellUser(client, run.channel, run.userId, message, run.threadTs);
    }
  }

  app.command("/lens", async ({ command, ack, client }) => {
    const text = command.text.trim();
    if (!text || text === "help") {
      await ack({ response_type: "ephemeral", text: USAGE });
      return;
    }
    await ack({
      response_type: "ephemeral",
      text: "On it: I will post the analysis in a thread in this channel.",
    });
    await startRun(client, {
      jobKey: dedupeKey("cmd", command.trigger_id),
      trigger: "slash_command",
      teamId: command.team_id,
      channel: command.channel_id,
      userId: command.user_id,
      question: text,
      readThread: false,
    });
  });

  app.event("app_mention", async ({ event, body, client }) => {
    const question = (event.text ?? "").replace(MENTION, "").trim();
    const inThread = Boolean(event.thread_ts && event.thread_ts !== event.ts);
    if (!question && !inThread) {
      await tellUser(client, event.channel, event.user ?? "", USAGE);
      return;
    }
    await startRun(client, {
      jobKey: dedupeKey("evt", body.event_id),
      trigger: "app_mention",
      ...(body.team_id && { teamId: body.team_id }),
      channel: event.channel,
      threadTs: inThread ? (event.thread_ts as string) : event.ts,
      userId: event.user ?? "unknown",
      question,
      readThread: inThread,
    });
  });

  app.message(async ({ message, body, client }) => {
    if (message.channel_type !== "im" || message.subtype !== undefined) return;
    if ("bot_id" in message && message.bot_id) return;
    const text = (message.text ?? "").replace(MENTION, "").trim();
    if (!text) return;
    await startRun(client, {
      jobKey: dedupeKey("evt", (body as { event_id: string }).event_id),
      trigger: "direct_message",
      channel: message.channel,
      threadTs: message.ts,
      userId: message.user,
      question: text,
      readThread: false,
    });
  });

  app.shortcut<MessageShortcut>("apply_lenses", async ({ shortcut, ack, client }) => {
    await ack();
    await startRun(client, {
      jobKey: dedupeKey("sc", shortcut.trigger_id),
      trigger: "message_shortcut",
      ...(shortcut.team?.id && { teamId: shortcut.team.id }),
      channel: shortcut.channel.id,
      threadTs: (shortcut.message.thread_ts as string | undefined) ?? shortcut.message.ts,
      userId: shortcut.user.id,
      question: "",
      readThread: true,
    });
  });

  const buttonValue = (action: ButtonAction): LensButtonValue | undefined => {
    try {
      const v = JSON.parse(action.value ?? "") as Partial<LensButtonValue>;
      return typeof v.runId === "string" && typeof v.lensId === "string"
        ? { runId: v.runId, lensId: v.lensId }
        : undefined;
    } catch {
      return undefined;
    }
  };

  /** Enqueues a follow-up (apply a lens, retry) of an earlier run. */
  async function followUp(
    client: WebClient,
    body: BlockAction,
    runId: string,
    trigger: Trigger,
    jobId: string,
    change: Partial<AnalysisJob>,
  ): Promise<AnalysisJob | undefined> {
    const channel = body.channel?.id ?? "";
    const record = await store.getRun(runId);
    if (!record) {
      await tellUser(
        client,
        channel,
        body.user.id,
        "That analysis has expired, so I cannot build on it. Start a new one with `/lens`.",
      );
      return undefined;
    }
    const job: AnalysisJob = { ...record.job, ...change, trigger, requestedAt: now() };
    try {
      await withTimeout(enqueueAnalysis(queue, jobId, job), enqueueTimeout, "Enqueueing");
      return job;
    } catch (err) {
      logger.error({ err, runId }, "could not enqueue a follow-up");
      await tellUser(
        client,
        channel,
        body.user.id,
        `Sorry, my queue is not reachable right now (reference ${runId.slice(-8)}). Please try again in a minute.`,
      );
      return undefined;
    }
  }

  app.action<BlockAction<ButtonAction>>(/^apply_lens:/, async ({ ack, body, action, client }) => {
    await ack();
    const value = buttonValue(action);
    const lens = value && catalogue.get(value.lensId);
    if (!value || !lens) return;
    const job = await followUp(
      client,
      body,
      value.runId,
      "apply_lens",
      dedupeKey("apply", `${value.runId}:${lens.id}`),
      {
        lensIds: [lens.id],
      },
    );
    if (job) {
      await tellUser(
        client,
        job.channel,
        body.user.id,
        `Applying *${lens.name}* to this thread; the synthesis will be refreshed after it.`,
        job.threadTs,
      );
    }
  });

  app.action<BlockAction<ButtonAction>>(/^feedback_(up|down)$/, async ({ ack, body, action, client }) => {
    await ack();
    const value = buttonValue(action);
    if (!value) return;
    const vote = action.action_id === "feedback_up" ? "up" : "down";
    await store.recordVote(value.runId, value.lensId, body.user.id, vote);
    const name = catalogue.get(value.lensId)?.name ?? "this lens";
    await tellUser(
      client,
      body.channel?.id ?? "",
      body.user.id,
      vote === "up"
        ? `Thanks! Noted 👍 for ${name}.`
        : `Thanks, noted 👎 for ${name}. It helps us tune which lenses we suggest.`,
      body.message?.thread_ts as string | undefined,
    );
  });

  app.action<BlockAction<ButtonAction>>("retry_analysis", async ({ ack, body, action, client }) => {
    await ack();
    const runId = action.value ?? "";
    const job = await followUp(
      client,
      body,
      runId,
      "retry",
      dedupeKey("retry", `${runId}:${body.trigger_id ?? randomUUID()}`),
      {},
    );
    if (job) {
      await tellUser(client, job.channel, body.user.id, "Retrying the analysis now.", job.threadTs);
    }
  });

  app.error(async (err) => {
    logger.error(
      { err: { message: err.message, code: (err as { code?: string }).code } },
      "unhandled Slack listener error",
    );
  });

  return app;
}

import { randomUUID } from "node:crypto";
import {
  App,
  type BlockAction,
  type ButtonAction,
  type FeedbackButtonsAction,
  HTTPReceiver,
  type InstallationStore,
  LogLevel,
  type MessageShortcut,
  type RespondFn,
  type StateStore,
} from "@slack/bolt";
import type { WebClient } from "@slack/web-api";
import type { Queue } from "bullmq";
import type { HomeTab } from "../app/home.js";
import type { Catalogue } from "../catalogue/catalogue.js";
import type { Library } from "../catalogue/graph.js";
import { SlackError } from "../errors.js";
import type { LogSink } from "../logger.js";
import type { OpsRoute } from "../ops/health.js";
import type { Metrics } from "../ops/metrics.js";
import { truncateMiddle } from "../pipeline/input.js";
import { type AnalysisJob, dedupeKey, runFields, type Trigger } from "../queue/jobs.js";
import { enqueueAnalysis } from "../queue/queue.js";
import type { DigestStore } from "../store/digests.js";
import type { AnalysisRecord, RecordStore } from "../store/records.js";
import {
  FEEDBACK_ACTION,
  type FeedbackValue,
  type LensButtonValue,
  rootMessage,
  WIDEN_ACTION,
} from "./blocks/cards.js";
import { createAssistant } from "./listeners/assistant.js";
import { digestCommand, isDigestCommand, registerDigestActions } from "./listeners/digest.js";
import { registerHome } from "./listeners/home.js";
import { registerUninstall, type TeamRef } from "./listeners/install.js";
import { answerLibraryCommand, parseLibraryCommand, registerLibraryActions } from "./listeners/library.js";
import { ThreadPublisher } from "./publisher.js";
import { withRateLimit } from "./rate-limit.js";
import { decodeMrkdwn } from "./thread.js";
import { withTimeout } from "./timeout.js";

/**
 * OAuth installs in many workspaces (HTTP only): Bolt serves `/slack/install` and
 * `/slack/oauth_redirect`, keeps installations in `installationStore` and authorises every
 * request with the token of the workspace it came from.
 */
export interface OAuthOptions {
  clientId: string;
  clientSecret: string;
  installationStore: InstallationStore;
  /** Single-use, expiring states (see `RedisStateStore`). */
  stateStore: StateStore;
  /** Where Slack sends the installer back; default: the app config's redirect URL. */
  redirectUri?: string;
}

/** The bot scopes lensbot asks for; the same list as `manifest.yml` (a test checks they agree). */
export const BOT_SCOPES = [
  "commands",
  "app_mentions:read",
  "assistant:write",
  "chat:write",
  "chat:write.public",
  "channels:history",
  "channels:read",
  "groups:history",
  "im:history",
  "users:read",
];

export interface SlackAppOptions {
  /** One workspace: its bot token. Leave unset with `oauth`. */
  botToken?: string;
  /** Installs in many workspaces instead of one bot token (HTTP mode only). */
  oauth?: OAuthOptions;
  /** Forgets a team once lensbot is uninstalled there or its bot token is revoked (its installation and records). */
  forgetTeam?: (team: TeamRef) => Promise<void>;
  signingSecret?: string;
  /** Socket Mode when set. */
  appToken?: string;
  /** Web API base URL, e.g. `http://127.0.0.1:4000/api/` for a loopback fake. */
  apiUrl?: string;
  /** Web API HTTP timeout per call (ms). Default 10 s. */
  apiTimeoutMs?: number;
  /** The producer side of the queue (its Redis connection must not queue commands while offline). */
  queue: Queue;
  store: RecordStore;
  catalogue: Catalogue;
  logger: LogSink;
  /** Retro digests: their queue (job schedulers) and configs. */
  digest: { queue: Queue; store: DigestStore };
  /** The catalogue with its index and graph, for the lens library commands (`/lens show` …). */
  library: Library;
  /** Show progress as a streamed task plan where Slack allows it (else the edited status message). */
  streaming?: boolean;
  /** App Home (published on `app_home_opened` and when the person browses there). */
  home: HomeTab;
  /** Prometheus metrics: Web API calls (through the client's fetch) and requests by outcome. */
  metrics?: Metrics;
  /** Extra routes on the HTTP receiver (/healthz, /readyz, /metrics); unused in Socket Mode. */
  customRoutes?: OpsRoute[];
  /** Random numbers for `/lens random` (injected in tests); default Math.random. */
  random?: () => number;
  /** The longest problem text kept (characters); longer ones are cut in the middle, with a note. */
  maxProblemChars?: number;
  /** How long a listener waits for Redis before telling the user the queue is unavailable (ms). */
  enqueueTimeoutMs?: number;
  /** Repeated message shortcuts on one thread within this window (ms) start one run. Default 60 s. */
  shortcutWindowMs?: number;
  now?: () => number;
}

export const USAGE =
  "Tell me what your team is stuck on, for example: `/lens our dashboard API is stuck at 350 ms despite caching and new indexes`. " +
  "In a thread, @mention me (or use the message shortcut *Apply lenses to this thread*) and I will analyse the thread.";

const MENTION = /<@[UW][A-Z0-9]+(?:\|[^>]*)?>/g;

/** A feedback element's value, if it is one of ours: run id, card (lens id or "synthesis"), vote. */
function feedbackValue(raw: string | undefined): FeedbackValue | undefined {
  try {
    const v = JSON.parse(raw ?? "") as Partial<FeedbackValue>;
    return typeof v.runId === "string" &&
      typeof v.target === "string" &&
      (v.vote === "up" || v.vote === "down")
      ? { runId: v.runId, target: v.target, vote: v.vote }
      : undefined;
  } catch {
    return undefined;
  }
}

/** User text from Slack (entities escaped, links and mentions in angle brackets) as plain text, decoded once here. */
const decodeSlackText = (text: string) => decodeMrkdwn(text, new Map());
/** The `metadata.event_type` of the message that opens a `/lens` thread. */
export const ROOT_EVENT = "lensbot_root";

/** How long a delivery or click is remembered, to drop Slack's retries and double clicks (ms). */
const TRIGGER_TTL_MS = 24 * 3600_000;

/** What to tell the person when a run could not even be started (never raw error text). */
function startFailureMessage(err: unknown, ref: string): string {
  if (err instanceof SlackError) return `${err.message} (reference ${ref})`;
  return `Sorry, I could not start that analysis: my queue is not reachable right now. Please try again in a minute (reference ${ref}).`;
}

/** Where an interaction happened, as Slack reports it; undefined parts are unknown. */
interface Place {
  team?: string;
  channel?: string;
  threadTs?: string;
}

/** Whether an interaction in `place` may act on `record`: same team, channel and thread. */
function sameThread(record: AnalysisRecord, place: Place): boolean {
  return (
    (record.team ?? "") === (place.team ?? "") &&
    record.channel === place.channel &&
    place.threadTs !== undefined &&
    record.threadTs === place.threadTs
  );
}

/**
 * The Bolt app: `/lens`, @mentions, the message shortcut, DMs and the card buttons. Listeners
 * ack at once, validate, post a root or status message, enqueue a job and return; they never
 * call the model. Over HTTP, Bolt's receiver verifies Slack's request signature and timestamp.
 * Every button is checked against the run it names (team, channel, thread) before anything
 * happens; a malformed payload is acknowledged and ignored.
 */
export function createSlackApp(options: SlackAppOptions): App {
  const { queue, store, catalogue, logger } = options;
  const now = options.now ?? Date.now;
  const enqueueTimeout = options.enqueueTimeoutMs ?? 2_000;
  const maxChars = options.maxProblemChars ?? 16_000;
  const socketMode = Boolean(options.appToken);
  const oauth = options.oauth;
  const app = new App({
    ...(options.botToken && { token: options.botToken }),
    ...(socketMode
      ? {
          socketMode: true,
          appToken: options.appToken,
          // The Socket Mode client opens its connection through apps.connections.open on the same Web API.
          ...(options.apiUrl && { installerOptions: { clientOptions: { slackApiUrl: options.apiUrl } } }),
        }
      : {
          receiver: new HTTPReceiver({
            signingSecret: options.signingSecret ?? "",
            ...(options.customRoutes && { customRoutes: options.customRoutes }),
            ...(oauth && {
              clientId: oauth.clientId,
              clientSecret: oauth.clientSecret,
              installationStore: oauth.installationStore,
              scopes: BOT_SCOPES,
              ...(oauth.redirectUri && { redirectUri: oauth.redirectUri }),
              installerOptions: {
                stateStore: oauth.stateStore,
                // /slack/install goes straight to Slack's consent page.
                directInstall: true,
                ...(oauth.redirectUri && { redirectUriPath: new URL(oauth.redirectUri).pathname }),
                ...(options.apiUrl && { clientOptions: { slackApiUrl: options.apiUrl } }),
              },
            }),
            processBeforeResponse: false,
            // A signed request Bolt cannot process (a malformed payload) is acknowledged, logged
            // and dropped: Slack would only retry it, and nothing about it can be fixed later.
            processEventErrorHandler: async ({ error, response }) => {
              logger.warn(
                { err: { message: error.message, code: (error as { code?: string }).code } },
                "dropped a request Bolt could not process",
              );
              if (!response.headersSent) {
                response.writeHead(200);
                response.end();
              }
              return true;
            },
          }),
        }),
    // No retries inside the client: a post whose answer was lost is looked for before it is
    // sent again (the root message here, every other message in ThreadPublisher).
    clientOptions: {
      ...(options.apiUrl && { slackApiUrl: options.apiUrl }),
      timeout: options.apiTimeoutMs ?? 10_000,
      retryConfig: { retries: 0 },
      // Rate limits surface as errors, waited out per call (Retry-After) by `withRateLimit`.
      rejectRateLimitedCalls: true,
      ...(options.metrics && { fetch: options.metrics.slackFetch() }),
    },
    logLevel: LogLevel.WARN,
    // No listener reads Bolt's conversation store: skip its middleware on every request.
    convoStore: false,
  });

  // Every Slack request, by kind, and whether its listener finished (it acked first either way).
  if (options.metrics) {
    const metrics = options.metrics;
    app.use(async ({ body, next }) => {
      const b = body as { type?: string; command?: string; event?: { type?: string } };
      const kind = b.command ? "command" : b.event?.type ? `event:${b.event.type}` : (b.type ?? "other");
      try {
        await next();
        metrics.request(kind, "handled");
      } catch (err) {
        metrics.request(kind, "failed");
        throw err;
      }
    });
  }

  const publisherFor = (
    client: WebClient,
    run: { runId: string; channel: string; userId: string; teamId?: string },
    threadTs: string,
  ) =>
    new ThreadPublisher(
      {
        client,
        store,
        catalogue,
        owner: `listener:${run.runId}`,
        ...(options.streaming && {
          stream: { userId: run.userId, ...(run.teamId && { teamId: run.teamId }) },
        }),
      },
      { runId: run.runId, channel: run.channel, threadTs, ...(run.teamId && { teamId: run.teamId }) },
    );

  /**
   * Tells one person something only they see: through `respond` (the interaction's response_url,
   * which works even where lensbot is not a member) when there is one, else chat.postEphemeral.
   */
  const tell = async (
    to: { client: WebClient; respond?: RespondFn; channel?: string; user?: string; threadTs?: string },
    text: string,
  ) => {
    try {
      if (to.respond) await to.respond({ response_type: "ephemeral", replace_original: false, text });
      else if (to.channel && to.user) {
        await to.client.chat.postEphemeral({
          channel: to.channel,
          user: to.user,
          text,
          ...(to.threadTs && { thread_ts: to.threadTs }),
        });
      }
    } catch (err) {
      logger.warn(
        { err: (err as Error).message, channel: to.channel },
        "could not send an ephemeral message",
      );
    }
  };

  /** Caps the question at the problem limit, with a note for the thread. */
  const capped = (question: string): { question: string; notes?: string[] } => {
    const { text, note } = truncateMiddle(question, maxChars);
    return note ? { question: text, notes: [note] } : { question: text };
  };

  /**
   * Starts a run once per trigger: drops duplicate deliveries, posts the root (for /lens) and
   * the status message, then enqueues the job. Any failure reaches the person.
   */
  async function startRun(
    client: WebClient,
    respond: RespondFn | undefined,
    run: Omit<AnalysisJob, "runId" | "threadTs" | "requestedAt"> & { runId: string; threadTs?: string },
  ): Promise<void> {
    const { runId } = run;
    let publisher: ThreadPublisher | undefined;
    try {
      if (!(await withTimeout(store.claimTrigger(runId, TRIGGER_TTL_MS), enqueueTimeout, "Redis"))) return;
      const threadTs = run.threadTs ?? (await postRoot(client, run));
      publisher = publisherFor(client, run, threadTs);
      await publisher.status(() => ({
        phase: "suggesting",
        lenses: [],
        note: "Queued: a worker will pick this up in a moment.",
      }));
      await withTimeout(
        enqueueAnalysis(queue, runId, { ...run, runId, threadTs, requestedAt: now() }),
        enqueueTimeout,
        "Enqueueing",
      );
    } catch (err) {
      logger.error({ err, ...runFields({ ...run, runId }) }, "could not start an analysis");
      const message = startFailureMessage(err, runId.slice(-8));
      await publisher?.failed(message).catch(() => {});
      await tell(
        {
          client,
          ...(respond && { respond }),
          channel: run.channel,
          user: run.userId,
          ...(run.threadTs && { threadTs: run.threadTs }),
        },
        message,
      );
    }
  }

  /**
   * Posts the message that opens a `/lens` thread, tagged with the run id in its metadata. When
   * the answer is lost, the channel's latest messages are searched for it before anything else,
   * so the root is never posted twice.
   * @returns its ts (the thread's).
   * @throws SlackError when Slack refuses it.
   */
  async function postRoot(
    client: WebClient,
    run: { runId: string; channel: string; userId: string; question: string },
  ) {
    const [root] = rootMessage({ userId: run.userId, problem: run.question });
    if (!root) throw new Error("empty root message");
    const metadata = { event_type: ROOT_EVENT, event_payload: { run_id: run.runId } };
    try {
      const res = await withRateLimit(() =>
        client.chat.postMessage({
          channel: run.channel,
          text: root.text,
          blocks: root.blocks,
          unfurl_links: false,
          unfurl_media: false,
          metadata,
        }),
      );
      if (res.ts) return res.ts;
      throw new SlackError("chat.postMessage", "no_ts", "chat.postMessage returned no ts");
    } catch (err) {
      if (err instanceof SlackError) throw err;
      const slackError = (err as { data?: { error?: string } }).data?.error;
      if (slackError === undefined) {
        const recent = await client.conversations
          .history({ channel: run.channel, limit: 50, include_all_metadata: true })
          .catch(() => undefined);
        const found = recent?.messages?.find((m) => {
          const meta = (m as { metadata?: { event_type?: string; event_payload?: { run_id?: string } } })
            .metadata;
          return meta?.event_type === ROOT_EVENT && meta.event_payload?.run_id === run.runId;
        });
        if (found?.ts) return found.ts;
      }
      throw new SlackError("chat.postMessage", slackError, err);
    }
  }

  const digestDeps = {
    queue: options.digest.queue,
    digests: options.digest.store,
    records: store,
    logger,
    now,
    redisTimeoutMs: enqueueTimeout,
  };
  registerDigestActions(app, digestDeps);

  app.command("/lens", async ({ command, ack, client, respond }) => {
    if (isDigestCommand(command.text ?? "")) {
      await digestCommand(digestDeps, { command, ack, client, respond });
      return;
    }
    const text = decodeSlackText(command.text ?? "").trim();
    const library = text ? parseLibraryCommand(text, options.library) : { kind: "help" as const };
    if (library) {
      const [first, ...more] = answerLibraryCommand(library, options.library, options.random ?? Math.random);
      await ack({ response_type: "ephemeral", ...first });
      for (const m of more) await respond({ response_type: "ephemeral", replace_original: false, ...m });
      return;
    }
    await ack({
      response_type: "ephemeral",
      text: "On it: I will post the analysis in a thread in this channel.",
    });
    await startRun(client, respond, {
      runId: dedupeKey("cmd", command.trigger_id),
      trigger: "slash_command",
      responseUrl: command.response_url,
      teamId: command.team_id,
      channel: command.channel_id,
      userId: command.user_id,
      ...capped(text),
      readThread: false,
    });
  });

  registerHome(app, { home: options.home, logger });
  if (options.forgetTeam) registerUninstall(app, { forget: options.forgetTeam, logger });
  app.assistant(
    createAssistant({
      store,
      library: options.library,
      logger,
      random: options.random ?? Math.random,
      now,
      maxProblemChars: maxChars,
      startRun: (client, run) => startRun(client, undefined, run),
      followUp: (record, jobId, change) => followUp(record, "follow_up", jobId, change),
    }),
  );
  registerLibraryActions(app, {
    library: options.library,
    logger,
    maxProblemChars: maxChars,
    startRun: (client, { teamId, channel, userId, question, lensId, triggerId, threadTs }) =>
      startRun(client, undefined, {
        runId: dedupeKey("apply-modal", triggerId),
        trigger: threadTs ? "message_shortcut" : "slash_command",
        ...(teamId && { teamId }),
        channel,
        userId,
        ...capped(question),
        lensIds: [lensId],
        readThread: Boolean(threadTs),
        ...(threadTs && { threadTs }),
      }),
  });

  app.event("app_mention", async ({ event, body, client }) => {
    const question = decodeSlackText((event.text ?? "").replace(MENTION, "")).trim();
    const inThread = Boolean(event.thread_ts && event.thread_ts !== event.ts);
    if (!event.user || !event.channel) return;
    if (!question && !inThread) {
      await tell({ client, channel: event.channel, user: event.user }, USAGE);
      return;
    }
    await startRun(client, undefined, {
      runId: dedupeKey("evt", body.event_id),
      trigger: "app_mention",
      ...(body.team_id && { teamId: body.team_id }),
      channel: event.channel,
      threadTs: inThread ? (event.thread_ts as string) : event.ts,
      userId: event.user,
      ...capped(question),
      readThread: inThread,
      ...(inThread && { questionTs: event.ts }),
    });
  });

  app.message(async ({ message, body, client }) => {
    if (message.channel_type !== "im" || message.subtype !== undefined) return;
    if ("bot_id" in message && message.bot_id) return;
    // A reply inside a thread of the DM is conversation about an analysis, not a new problem.
    if (message.thread_ts && message.thread_ts !== message.ts) return;
    const text = decodeSlackText((message.text ?? "").replace(MENTION, "")).trim();
    if (!text) return;
    const teamId = (body as { team_id?: string }).team_id;
    await startRun(client, undefined, {
      runId: dedupeKey("evt", (body as { event_id: string }).event_id),
      trigger: "direct_message",
      ...(teamId && { teamId }),
      channel: message.channel,
      threadTs: message.ts,
      userId: message.user,
      ...capped(text),
      readThread: false,
    });
  });

  app.shortcut<MessageShortcut>("apply_lenses", async ({ shortcut, ack, client, respond }) => {
    await ack();
    const threadTs = (shortcut.message.thread_ts as string | undefined) ?? shortcut.message.ts;
    const channel = shortcut.channel?.id;
    if (!channel || !shortcut.user?.id) return;
    // Two clicks on one thread within the window start one run.
    const window = options.shortcutWindowMs ?? 60_000;
    if (
      !(await store
        .claimTrigger(`shortcut:${shortcut.team?.id ?? "-"}:${channel}:${threadTs}`, window)
        .catch(() => true))
    )
      return;
    await startRun(client, respond, {
      runId: dedupeKey("sc", shortcut.trigger_id),
      trigger: "message_shortcut",
      responseUrl: shortcut.response_url,
      ...(shortcut.team?.id && { teamId: shortcut.team.id }),
      channel,
      threadTs,
      userId: shortcut.user.id,
      question: "",
      readThread: true,
      questionTs: shortcut.message.ts,
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

  /** Where a button was clicked: team, channel and the thread of the message it sits on. */
  const placeOf = (body: BlockAction): Place => {
    const message = body.message as { ts?: string; thread_ts?: string } | undefined;
    const threadTs = message?.thread_ts ?? message?.ts;
    return {
      ...(body.team?.id && { team: body.team.id }),
      ...(body.channel?.id && { channel: body.channel.id }),
      ...(threadTs && { threadTs }),
    };
  };

  /**
   * The run a button names, if this click may act on it: the run exists and sits in the same
   * team, channel and thread as the clicked message. Otherwise the person is told and nothing
   * else happens.
   */
  async function authorised(
    body: BlockAction,
    runId: string,
    client: WebClient,
    respond: RespondFn,
  ): Promise<AnalysisRecord | undefined> {
    const record = await withTimeout(store.getRun(runId), enqueueTimeout, "Redis").catch(() => undefined);
    if (record && sameThread(record, placeOf(body))) return record;
    logger.warn(
      { runId, team: body.team?.id, channel: body.channel?.id, user: body.user?.id },
      "refused an action",
    );
    await tell(
      { client, respond },
      record
        ? "That button belongs to another analysis, so I did nothing."
        : "That analysis has expired or does not exist, so I did nothing. Start a new one with `/lens`.",
    );
    return undefined;
  }

  /** Enqueues a follow-up (apply a lens, retry) of a run; it waits behind any job on that run. */
  async function followUp(
    record: AnalysisRecord,
    trigger: Trigger,
    jobId: string,
    change: Partial<AnalysisJob>,
  ): Promise<boolean> {
    const job: AnalysisJob = { ...record.job, ...change, trigger, requestedAt: now() };
    try {
      await withTimeout(enqueueAnalysis(queue, jobId, job), enqueueTimeout, "Enqueueing");
      return true;
    } catch (err) {
      logger.error(
        { err, runId: record.runId, team: record.team, channel: record.channel },
        "could not enqueue a follow-up",
      );
      return false;
    }
  }

  const hasActor = (body: BlockAction) => Boolean(body.user?.id && body.channel?.id);

  app.action<BlockAction<ButtonAction>>(/^apply_lens:/, async ({ ack, body, action, client, respond }) => {
    await ack();
    if (!hasActor(body)) return;
    const value = buttonValue(action);
    const lens = value && catalogue.get(value.lensId);
    if (!value || !lens) return;
    const record = await authorised(body, value.runId, client, respond);
    if (!record) return;
    if (record.suggestion?.lenses.some((l) => l.id === lens.id)) {
      await tell({ client, respond }, `*${lens.name}* is already part of this analysis.`);
      return;
    }
    const queued = await followUp(record, "apply_lens", dedupeKey("apply", `${record.runId}:${lens.id}`), {
      lensIds: [lens.id],
      responseUrl: body.response_url,
    });
    await tell(
      { client, respond },
      queued
        ? `Applying *${lens.name}* to this thread; the synthesis will be refreshed after it.`
        : `Sorry, my queue is not reachable right now (reference ${record.runId.slice(-8)}). Please try again in a minute.`,
    );
  });

  // Widen the view: gap detection on the run's lenses, then the lens that widens it most is applied.
  app.action<BlockAction<ButtonAction>>(WIDEN_ACTION, async ({ ack, body, action, client, respond }) => {
    await ack();
    if (!hasActor(body)) return;
    const record = await authorised(body, action.value ?? "", client, respond);
    if (!record) return;
    const used = catalogue.keepKnown((record.suggestion?.lenses ?? []).map((l) => l.id));
    const text = [record.problem?.text ?? record.job.question, record.problem?.context ?? ""].join("\n");
    const fit = new Map(options.library.index.rank(text).lenses.map((r) => [r.lens.id, r.score]));
    const wider = used.length > 0 ? options.library.graph.widening(used, fit) : undefined;
    if (!wider) {
      await tell(
        { client, respond },
        "Every lens linked to this analysis is already in it: there is nothing wider to add.",
      );
      return;
    }
    const queued = await followUp(
      record,
      "apply_lens",
      dedupeKey("apply", `${record.runId}:${wider.lens.id}`),
      {
        lensIds: [wider.lens.id],
        responseUrl: body.response_url,
      },
    );
    await tell(
      { client, respond },
      queued
        ? `Widening the view with *${wider.lens.name}*: ${wider.because} Its card comes next, then a refreshed synthesis.`
        : `Sorry, my queue is not reachable right now (reference ${record.runId.slice(-8)}). Please try again in a minute.`,
    );
  });

  /** Records a 👍/👎 on a card of a run the click may act on, and thanks the person. */
  async function feedback(
    body: BlockAction,
    value: { runId: string; target: string; vote: "up" | "down" },
    client: WebClient,
    respond: RespondFn,
  ): Promise<void> {
    const record = await authorised(body, value.runId, client, respond);
    if (!record) return;
    try {
      await withTimeout(
        store.recordVote(record.runId, value.target, body.user.id, value.vote, record.team),
        enqueueTimeout,
        "Redis",
      );
    } catch (err) {
      logger.error(
        { err, runId: record.runId, team: record.team, channel: record.channel },
        "could not record feedback",
      );
      await tell(
        { client, respond },
        "Sorry, I could not record that just now. Please try again in a minute.",
      );
      return;
    }
    const name =
      value.target === "synthesis" ? "the synthesis" : (catalogue.get(value.target)?.name ?? "this lens");
    await tell(
      { client, respond },
      value.vote === "up"
        ? `Thanks! Noted 👍 for ${name}.`
        : `Thanks, noted 👎 for ${name}. It helps us tune which lenses we suggest.`,
    );
  }

  // Slack's native feedback element on lens cards and the synthesis.
  app.action<BlockAction<FeedbackButtonsAction>>(
    FEEDBACK_ACTION,
    async ({ ack, body, action, client, respond }) => {
      await ack();
      if (!hasActor(body)) return;
      const value = feedbackValue(action.value);
      if (value) await feedback(body, value, client, respond);
    },
  );

  // The 👍/👎 buttons of cards posted before the native element (still in older threads).
  app.action<BlockAction<ButtonAction>>(
    /^feedback_(up|down)$/,
    async ({ ack, body, action, client, respond }) => {
      await ack();
      if (!hasActor(body)) return;
      const value = buttonValue(action);
      if (!value) return;
      const vote = action.action_id === "feedback_up" ? "up" : "down";
      await feedback(body, { runId: value.runId, target: value.lensId, vote }, client, respond);
    },
  );

  app.action<BlockAction<ButtonAction>>("retry_analysis", async ({ ack, body, action, client, respond }) => {
    await ack();
    if (!hasActor(body)) return;
    const record = await authorised(body, action.value ?? "", client, respond);
    if (!record) return;
    const queued = await followUp(
      record,
      "retry",
      dedupeKey("retry", `${record.runId}:${body.trigger_id ?? randomUUID()}`),
      { responseUrl: body.response_url },
    );
    await tell(
      { client, respond },
      queued
        ? "Retrying the analysis now; it continues from where it stopped."
        : `Sorry, my queue is not reachable right now (reference ${record.runId.slice(-8)}). Please try again in a minute.`,
    );
  });

  app.error(async (err) => {
    logger.error(
      { err: { message: err.message, code: (err as { code?: string }).code } },
      "unhandled Slack listener error",
    );
  });

  return app;
}

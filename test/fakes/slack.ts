/**
 * A loopback fake of the Slack Web API (`POST /api/<method>`), reached by the real `@slack/web-api`
 * `WebClient` through its `slackApiUrl` option. It keeps a small in-memory workspace (channels with
 * messages and threads, users, the bot's own identity), records every call with its decoded
 * arguments, and can be scripted to answer rate limits (HTTP 429 + Retry-After) or platform errors.
 *
 * As strict as Slack where it matters: posting, editing, ephemerals and reading a conversation
 * need the bot to be a member (`not_in_channel` otherwise: see `addChannel`); message metadata is
 * served only with `include_all_metadata`; unknown methods are refused. It also serves response
 * URLs (`responseUrl()`), as Bolt's `respond()` uses them, and can drop the reply of a call it
 * has applied (`dropReply`), as a lost network answer looks.
 *
 * Deliberate simplifications, compared with real Slack:
 * - channels spring into existence, with the bot as a member, on the first `chat.postMessage` (or
 *   `seedThread`/`addChannel`);
 * - `conversations.replies` returns the thread root once, on the first page only;
 * - `chat.postMessage` with a `thread_ts` that matches no message answers `thread_not_found`.
 */

import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** One recorded Web API call. */
export interface SlackCall {
  /** The method name, e.g. `chat.postMessage`. */
  method: string;
  /** Decoded arguments: JSON-encoded form fields (blocks, view, …) are parsed back into values. */
  args: Record<string, unknown>;
  /** ms since the fake started (performance.now based). */
  at: number;
  /** The token the call carried (Authorization header, or a `token` field), if any. */
  token?: string;
  /** HTTP status the fake answered with (200 or 429). */
  status: number;
  /** The `error` of an `{ ok: false }` answer, if the call failed. */
  error?: string;
}

/** A message as the fake stores it and serves it back. */
export interface SlackMessage {
  type: "message";
  ts: string;
  text: string;
  thread_ts?: string;
  subtype?: string;
  user?: string;
  bot_id?: string;
  app_id?: string;
  team?: string;
  blocks?: unknown[];
  attachments?: unknown[];
  metadata?: unknown;
  parent_user_id?: string;
  reply_count?: number;
  reply_users?: string[];
  reply_users_count?: number;
  latest_reply?: string;
  edited?: { user: string; ts: string };
  /** A streamed message (chat.startStream): whether it is still open, and every chunk it got. */
  stream?: { state: "open" | "stopped"; chunks: StreamChunk[] };
}

/** One chunk of a streamed message, as sent (markdown text, plan and task updates, blocks). */
export type StreamChunk = { type: string; [key: string]: unknown };

/** A user profile as `users.info` serves it. */
export interface SlackUser {
  id: string;
  team_id: string;
  name: string;
  real_name: string;
  deleted: boolean;
  is_bot: boolean;
  tz: string;
  profile: {
    real_name: string;
    display_name: string;
    real_name_normalized: string;
    display_name_normalized: string;
    bot_id?: string;
  };
}

/** An ephemeral message recorded by `chat.postEphemeral`. */
export interface SlackEphemeral {
  channel: string;
  user: string;
  message_ts: string;
  text: string;
  thread_ts?: string;
  blocks?: unknown[];
}

/** A message to seed into a thread; the first one of a `seedThread` call becomes the root. */
export interface SeedMessage {
  user?: string;
  bot_id?: string;
  text: string;
  subtype?: string;
  blocks?: unknown[];
}

/** The bot's own identity, as `auth.test` reports it. */
export interface BotIdentity {
  user_id: string;
  bot_id: string;
  app_id: string;
  user: string;
  team_id: string;
  team: string;
  url: string;
}

export interface FakeSlackOptions {
  /** When set, only this exact token is accepted; otherwise any `xoxb-…` token is. */
  token?: string;
  /** Overrides parts of the bot identity. */
  bot?: Partial<BotIdentity>;
}

interface Channel {
  id: string;
  name: string;
  /** The workspace it belongs to: tokens of other workspaces cannot see it (`channel_not_found`). */
  team: string;
  /** Whether the bot is a member (it can post and read). */
  botMember: boolean;
  /** A private channel: invisible to `conversations.info` unless the bot is a member. */
  isPrivate: boolean;
  /** People in the channel (for `users.conversations`): those added, and anyone who posted. */
  members: Set<string>;
  /** Kept in ts order (ts values are handed out increasingly). */
  messages: SlackMessage[];
  /** ts → message, so look-ups stay O(1) in long benchmark runs. */
  byTs: Map<string, SlackMessage>;
  /** root ts → its replies, in ts order */
  replies: Map<string, SlackMessage[]>;
}

interface ScriptedFailure {
  times: number;
  error: string;
}

type Args = Record<string, unknown>;
type Answer = { ok: true; [key: string]: unknown } | { ok: false; error: string; [key: string]: unknown };

const DEFAULT_BOT: BotIdentity = {
  user_id: "UBOT00001",
  bot_id: "BBOT00001",
  app_id: "AAPP00001",
  user: "lensbot",
  team_id: "TFAKE0001",
  team: "Fake Workspace",
  url: "https://fake-workspace.slack.com/",
};

/** Form fields whose values are free text and must never be JSON-decoded. */
const PLAIN_TEXT_FIELDS = new Set(["text", "markdown_text", "fallback", "title", "name", "username"]);
const TS_BASE_SECONDS = 1_700_000_000;

/** Handlers for the implemented methods. */
type Handler = (args: Args) => Answer;

export class FakeSlack {
  /** The bot identity `auth.test` answers with; its user is also known to `users.info`. */
  readonly bot: BotIdentity;
  /**
   * Whether the workspace renders `table` blocks. False emulates one that does not: a message
   * carrying a table is refused with `invalid_blocks`, so the publisher's fallback can be tested.
   */
  tableBlocks = true;
  /** Base URL for `new WebClient(token, { slackApiUrl: fake.apiUrl })`; ends in `/api/`. */
  apiUrl = "";
  /** Where `apps.connections.open` sends a Socket Mode client (see `FakeSocketMode`); unset: refused. */
  socketModeUrl: (() => string) | undefined;

  #server: Server;
  #started = performance.now();
  #token: string | undefined;
  /** Who the current call speaks for: the default bot, or the bot of the workspace whose token it carries. */
  #caller: BotIdentity;
  /** Tokens handed out by `oauth.v2.access`, with their workspace's bot identity. */
  #installs = new Map<string, { bot: BotIdentity; revoked: boolean }>();
  /** The app's OAuth credentials once `enableOAuth` was called; then only installed tokens work. */
  #oauthApp: { clientId: string; clientSecret: string } | undefined;
  /** Codes from `authorizeInstall`, each good for one `oauth.v2.access`. */
  #codes = new Map<string, { bot: BotIdentity; redirectUri?: string; userId: string }>();
  #calls: SlackCall[] = [];
  #channels = new Map<string, Channel>();
  #users = new Map<string, SlackUser>();
  #ephemerals: SlackEphemeral[] = [];
  #views = new Map<string, Record<string, unknown>>();
  #modals: Record<string, unknown>[] = [];
  #rateLimits = new Map<string, { times: number; retryAfter: number }>();
  #failures = new Map<string, ScriptedFailure>();
  #dropped = new Map<string, number>();
  #responses: { id: string; body: Record<string, unknown> }[] = [];
  #tsSeq = 0;
  #viewSeq = 0;
  #handlers: Record<string, Handler> = {
    "auth.test": () => this.#authTest(),
    "apps.connections.open": () =>
      this.socketModeUrl ? { ok: true, url: this.socketModeUrl() } : { ok: false, error: "invalid_auth" },
    "chat.postMessage": (a) => this.#postMessage(a),
    "chat.update": (a) => this.#update(a),
    "chat.postEphemeral": (a) => this.#postEphemeral(a),
    "chat.getPermalink": (a) => this.#getPermalink(a),
    "chat.startStream": (a) => this.#startStream(a),
    "chat.appendStream": (a) => this.#appendStream(a),
    "chat.stopStream": (a) => this.#stopStream(a),
    "conversations.replies": (a) => this.#replies(a),
    "conversations.history": (a) => this.#history(a),
    "conversations.info": (a) => this.#conversationInfo(a),
    "users.info": (a) => this.#usersInfo(a),
    "users.conversations": (a) => this.#usersConversations(a),
    "conversations.members": (a) => this.#conversationMembers(a),
    "views.publish": (a) => this.#viewsPublish(a),
    "views.open": (a) => this.#viewsOpen(a),
    "assistant.threads.setStatus": (a) => this.#assistantThread(a, "status"),
    "assistant.threads.setSuggestedPrompts": (a) => this.#assistantThread(a, "prompts"),
    "assistant.threads.setTitle": (a) => this.#assistantThread(a, "title"),
  };

  private constructor(options: FakeSlackOptions) {
    this.#token = options.token;
    this.bot = { ...DEFAULT_BOT, ...options.bot };
    this.#caller = this.bot;
    this.#addBotUser();
    this.#server = createServer((req, res) => void this.#handle(req, res));
  }

  /** Starts a fake on a free loopback port. */
  static async start(options: FakeSlackOptions = {}): Promise<FakeSlack> {
    const fake = new FakeSlack(options);
    await new Promise<void>((resolve) => fake.#server.listen(0, "127.0.0.1", resolve));
    fake.apiUrl = `http://127.0.0.1:${(fake.#server.address() as AddressInfo).port}/api/`;
    return fake;
  }

  /** Stops the server, dropping open connections. */
  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  /** Forgets all calls, channels, messages, users (except the bot), views and scripted answers. */
  reset(): void {
    this.#calls = [];
    this.#channels.clear();
    this.#users.clear();
    this.#addBotUser();
    this.#ephemerals = [];
    this.#views.clear();
    this.#modals = [];
    this.#rateLimits.clear();
    this.#failures.clear();
    this.#dropped.clear();
    this.#responses = [];
    this.#tsSeq = 0;
    this.#viewSeq = 0;
  }

  /** Forgets scripted rate limits, failures and dropped replies (the workspace stays). */
  clearScripts(): void {
    this.#rateLimits.clear();
    this.#failures.clear();
    this.#dropped.clear();
  }

  // ---- inspection -------------------------------------------------------------------------------

  /** Recorded calls in arrival order, optionally only those of one method. */
  calls(method?: string): SlackCall[] {
    return method === undefined ? [...this.#calls] : this.#calls.filter((c) => c.method === method);
  }

  /** All messages of a channel (roots and replies) in ts order; copies. Empty for unknown channels. */
  messages(channel: string): SlackMessage[] {
    return structuredClone(this.#channels.get(channel)?.messages ?? []);
  }

  /** A thread's root followed by its replies, in ts order; copies. Empty when there is no such message. */
  thread(channel: string, thread_ts: string): SlackMessage[] {
    const ch = this.#channels.get(channel);
    const message = ch && this.#find(ch, thread_ts);
    if (!ch || !message) return [];
    return structuredClone(this.#threadOf(ch, message.thread_ts ?? message.ts));
  }

  /** Ephemeral messages posted so far, optionally only those for one user. */
  ephemerals(user?: string): SlackEphemeral[] {
    const all = structuredClone(this.#ephemerals);
    return user === undefined ? all : all.filter((e) => e.user === user);
  }

  /** Modals opened with `views.open`, in order (with the id the fake gave each). */
  modals(): Record<string, unknown>[] {
    return structuredClone(this.#modals);
  }

  /** The view last published to a user's App Home through `views.publish`, if any. */
  publishedView(userId: string): Record<string, unknown> | undefined {
    const view = this.#views.get(userId);
    return view && structuredClone(view);
  }

  // ---- seeding ----------------------------------------------------------------------------------

  /** Adds (or replaces) a workspace user; `display_name` defaults to `name`. */
  addUser(user: {
    id: string;
    name: string;
    real_name: string;
    display_name?: string;
    is_bot?: boolean;
    tz?: string;
    /** The workspace (default the fake's own). */
    team?: string;
  }): SlackUser {
    const stored: SlackUser = {
      id: user.id,
      team_id: user.team ?? this.bot.team_id,
      name: user.name,
      real_name: user.real_name,
      deleted: false,
      is_bot: user.is_bot ?? false,
      tz: user.tz ?? "Europe/London",
      profile: {
        real_name: user.real_name,
        display_name: user.display_name ?? user.name,
        real_name_normalized: user.real_name,
        display_name_normalized: user.display_name ?? user.name,
      },
    };
    this.#users.set(user.id, stored);
    return structuredClone(stored);
  }

  /**
   * Creates a channel ahead of time (channels are also created by their first message, with the
   * bot as a member). With `botMember: false` the bot is not in it: it cannot post, edit, send
   * ephemerals or read there (`not_in_channel`), as in a channel it was never invited to.
   */
  addChannel(
    id: string,
    name = id.toLowerCase(),
    {
      botMember = true,
      isPrivate = false,
      members = [],
      team = this.#caller.team_id,
    }: { botMember?: boolean; isPrivate?: boolean; members?: string[]; team?: string } = {},
  ): void {
    const existing = this.#channels.get(id);
    if (existing) {
      Object.assign(existing, { botMember, isPrivate });
      for (const m of members) existing.members.add(m);
    } else
      this.#channels.set(id, {
        id,
        name,
        team,
        botMember,
        isPrivate,
        members: new Set(members),
        messages: [],
        byTs: new Map(),
        replies: new Map(),
      });
  }

  /** A response URL served by this fake (what Slack puts in commands, shortcuts and actions). */
  responseUrl(id = "r"): string {
    return `${this.apiUrl.replace(/\/api\/$/, "")}/respond/${encodeURIComponent(id)}`;
  }

  /** What was posted to response URLs, in order: the id of the URL and the JSON body. */
  responses(): { id: string; body: Record<string, unknown> }[] {
    return structuredClone(this.#responses);
  }

  /**
   * Builds a thread in one go: the first message is the root, the rest are replies. Each message gets
   * a fresh increasing ts. Returns the root ts and every ts in order (root first).
   */
  seedThread(channel: string, messages: SeedMessage[]): { thread_ts: string; tss: string[] } {
    const [first, ...rest] = messages;
    if (!first) throw new Error("seedThread needs at least one message");
    const ch = this.#channel(channel);
    const root = this.#store(ch, this.#seeded(first, ch.team), undefined);
    const tss = [root.ts];
    for (const m of rest) tss.push(this.#store(ch, this.#seeded(m, ch.team), root).ts);
    return { thread_ts: root.ts, tss };
  }

  // ---- OAuth installs ---------------------------------------------------------------------------

  /**
   * Turns on OAuth installs for an app with these credentials. From then on only tokens handed
   * out by `oauth.v2.access` (and app-level tokens) are accepted, each acting in its own workspace.
   */
  enableOAuth(app: { clientId: string; clientSecret: string }): this {
    this.#oauthApp = app;
    return this;
  }

  /**
   * What Slack's consent page does when a person approves the install in `team`: returns the
   * one-time code that Slack appends to the redirect URL. `redirectUri`, when given, must match
   * the one `oauth.v2.access` is called with.
   */
  authorizeInstall(
    team: { id: string; name: string },
    { redirectUri, userId = `U${team.id}ADMIN` }: { redirectUri?: string; userId?: string } = {},
  ): string {
    const code = `code-${team.id}-${randomUUID()}`;
    const slug = team.name.toLowerCase().replace(/[^a-z0-9]+/g, "-");
    this.#codes.set(code, {
      bot: {
        user_id: `U${team.id}BOT`,
        bot_id: `B${team.id}BOT`,
        app_id: this.bot.app_id,
        user: "lensbot",
        team_id: team.id,
        team: team.name,
        url: `https://${slug}.slack.com/`,
      },
      ...(redirectUri && { redirectUri }),
      userId,
    });
    return code;
  }

  /** Uninstalls the app from a workspace: its tokens answer `token_revoked` from now on. */
  uninstall(teamId: string): void {
    for (const install of this.#installs.values()) if (install.bot.team_id === teamId) install.revoked = true;
  }

  /** The bot tokens handed out to a workspace, in order (the last is the live one). */
  tokensOf(teamId: string): string[] {
    return [...this.#installs].filter(([, i]) => i.bot.team_id === teamId).map(([token]) => token);
  }

  /** `oauth.v2.access`: the app's credentials (form fields or HTTP Basic) and a one-time code → a bot token. */
  #oauthAccess(a: Args, authorization: string | undefined): Answer {
    const basic = /^Basic\s+(\S+)$/i.exec(authorization ?? "")?.[1];
    const [basicId, basicSecret] = basic ? Buffer.from(basic, "base64").toString("utf8").split(":") : [];
    const clientId = str(a.client_id) ?? basicId;
    const clientSecret = str(a.client_secret) ?? basicSecret;
    if (!this.#oauthApp || clientId !== this.#oauthApp.clientId)
      return { ok: false, error: "invalid_client_id" };
    if (clientSecret !== this.#oauthApp.clientSecret) return { ok: false, error: "bad_client_secret" };
    const code = str(a.code) ?? "";
    const grant = this.#codes.get(code);
    if (!grant) return { ok: false, error: "invalid_code" };
    this.#codes.delete(code);
    if (grant.redirectUri && str(a.redirect_uri) !== grant.redirectUri) {
      return { ok: false, error: "bad_redirect_uri" };
    }
    const token = `xoxb-${grant.bot.team_id}-${randomUUID()}`;
    this.#installs.set(token, { bot: grant.bot, revoked: false });
    this.addUser({
      id: grant.bot.user_id,
      name: "lensbot",
      real_name: "Lens Bot",
      is_bot: true,
      team: grant.bot.team_id,
    });
    (this.#users.get(grant.bot.user_id) as SlackUser).profile.bot_id = grant.bot.bot_id;
    return {
      ok: true,
      access_token: token,
      token_type: "bot",
      scope: "commands,app_mentions:read,chat:write",
      bot_user_id: grant.bot.user_id,
      app_id: grant.bot.app_id,
      team: { id: grant.bot.team_id, name: grant.bot.team },
      enterprise: null,
      authed_user: { id: grant.userId },
      is_enterprise_install: false,
    };
  }

  // ---- scripting --------------------------------------------------------------------------------

  /**
   * Makes the next `times` calls of `method` answer HTTP 429 with `Retry-After: retryAfter` and
   * `{ ok: false, error: "ratelimited" }`, changing nothing. Replaces an earlier rate limit of that method.
   */
  rateLimit(
    method: string,
    { times = 1, retryAfter = 1 }: { times?: number; retryAfter?: number } = {},
  ): this {
    this.#rateLimits.set(method, { times, retryAfter });
    return this;
  }

  /**
   * Makes the next `times` calls of `method` take effect and then lose their reply: the socket is
   * destroyed instead of answering, as when the network drops after Slack applied the call.
   */
  dropReply(method: string, { times = 1 }: { times?: number } = {}): this {
    this.#dropped.set(method, times);
    return this;
  }

  /** Makes the next `times` calls of `method` answer `{ ok: false, error }` (HTTP 200), changing nothing. */
  fail(method: string, error: string, { times = 1 }: { times?: number } = {}): this {
    this.#failures.set(method, { times, error });
    return this;
  }

  // ---- HTTP -------------------------------------------------------------------------------------

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const url = new URL(req.url ?? "/", "http://fake.invalid");
    if (url.pathname.startsWith("/respond/") && req.method === "POST") {
      let body: Record<string, unknown> = {};
      try {
        body = JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}") as Record<string, unknown>;
      } catch {
        this.#send(res, 400, { ok: false, error: "invalid_payload" });
        return;
      }
      this.#responses.push({ id: decodeURIComponent(url.pathname.slice("/respond/".length)), body });
      this.#send(res, 200, { ok: true });
      return;
    }
    if (!url.pathname.startsWith("/api/")) {
      this.#send(res, 404, { ok: false, error: "not_found" });
      return;
    }
    const method = decodeURIComponent(url.pathname.slice("/api/".length));
    const call: SlackCall = { method, args: {}, at: performance.now() - this.#started, status: 200 };
    this.#calls.push(call);

    let args: Args;
    try {
      args = {
        ...decodeForm(url.searchParams),
        ...parseBody(req.headers["content-type"], Buffer.concat(chunks)),
      };
    } catch (e) {
      this.#answer(res, call, { ok: false, error: (e as Error).message });
      return;
    }
    const headerToken = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? "")?.[1];
    const token = headerToken ?? (typeof args.token === "string" ? args.token : undefined);
    delete args.token;
    call.args = args;
    if (token !== undefined) call.token = token;

    // Called with the app's client credentials, not a token.
    if (method === "oauth.v2.access") {
      this.#answer(res, call, this.#oauthAccess(args, req.headers.authorization));
      return;
    }
    const handler = this.#handlers[method];
    if (!handler) {
      this.#answer(res, call, { ok: false, error: "unknown_method", req_method: method });
      return;
    }
    const limit = this.#rateLimits.get(method);
    if (limit && limit.times > 0) {
      if (--limit.times === 0) this.#rateLimits.delete(method);
      call.status = 429;
      call.error = "ratelimited";
      this.#send(res, 429, { ok: false, error: "ratelimited" }, { "retry-after": String(limit.retryAfter) });
      return;
    }
    if (token === undefined || token === "") {
      this.#answer(res, call, { ok: false, error: "not_authed" });
      return;
    }
    const installed = this.#installs.get(token);
    if (installed?.revoked) {
      this.#answer(res, call, { ok: false, error: "token_revoked" });
      return;
    }
    if (this.#oauthApp && !installed && !token.startsWith("xapp-")) {
      this.#answer(res, call, { ok: false, error: "invalid_auth" });
      return;
    }
    const caller = installed?.bot ?? this.bot;
    // A workspace's token sees only its own channels and people, as in Slack.
    const named = this.#channels.get(str(args.channel) ?? "");
    if (named && named.team !== caller.team_id) {
      this.#answer(res, call, { ok: false, error: "channel_not_found" });
      return;
    }
    const person = this.#users.get(str(args.user) ?? "");
    if (method === "users.info" && person && person.team_id !== caller.team_id) {
      this.#answer(res, call, { ok: false, error: "user_not_found" });
      return;
    }
    // apps.connections.open takes an app-level token (xapp-) and nothing else does, as in Slack.
    const appLevel = method === "apps.connections.open";
    if (
      appLevel
        ? !token.startsWith("xapp-")
        : installed === undefined &&
          (this.#token !== undefined ? token !== this.#token : !token.startsWith("xoxb-"))
    ) {
      this.#answer(res, call, { ok: false, error: appLevel ? "not_allowed_token_type" : "invalid_auth" });
      return;
    }
    const failure = this.#failures.get(method);
    if (failure && failure.times > 0) {
      if (--failure.times === 0) this.#failures.delete(method);
      this.#answer(res, call, { ok: false, error: failure.error });
      return;
    }
    let answer: Answer;
    this.#caller = caller;
    try {
      answer = handler(args);
    } catch (e) {
      answer = { ok: false, error: "internal_error", detail: (e as Error).message };
    } finally {
      this.#caller = this.bot;
    }
    const drop = this.#dropped.get(method);
    if (drop && drop > 0) {
      if (drop === 1) this.#dropped.delete(method);
      else this.#dropped.set(method, drop - 1);
      call.status = 0;
      call.error = "reply_dropped";
      req.socket.destroy();
      return;
    }
    this.#answer(res, call, answer);
  }

  #answer(res: ServerResponse, call: SlackCall, answer: Answer): void {
    if (!answer.ok) call.error = answer.error;
    this.#send(res, 200, answer);
  }

  #send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    if (res.destroyed) return;
    res.writeHead(status, { "content-type": "application/json; charset=utf-8", ...headers });
    res.end(JSON.stringify(body));
  }

  // ---- methods ----------------------------------------------------------------------------------

  #authTest(): Answer {
    const { url, team, user, team_id, user_id, bot_id, app_id } = this.bot;
    return { ok: true, url, team, user, team_id, user_id, bot_id, app_id, is_enterprise_install: false };
  }

  #postMessage(a: Args): Answer {
    const channel = str(a.channel);
    if (!channel) return { ok: false, error: "channel_not_found" };
    const blocks = Array.isArray(a.blocks) ? a.blocks : undefined;
    const attachments = Array.isArray(a.attachments) ? a.attachments : undefined;
    const text = str(a.text);
    if (text === undefined && !blocks?.length && !attachments?.length) return { ok: false, error: "no_text" };
    const tooBig = sizeError(text, blocks) ?? tableError(blocks, attachments, this.tableBlocks);
    if (tooBig) return { ok: false, error: tooBig };
    const ch = this.#channel(channel);
    if (!ch.botMember) return { ok: false, error: "not_in_channel" };
    const threadTs = str(a.thread_ts);
    let root: SlackMessage | undefined;
    if (threadTs) {
      const parent = ch.byTs.get(threadTs);
      if (!parent) return { ok: false, error: "thread_not_found" };
      root = parent.thread_ts && parent.thread_ts !== parent.ts ? this.#find(ch, parent.thread_ts) : parent;
    }
    const message: SlackMessage = {
      type: "message",
      ts: "",
      text: text ?? "",
      user: this.#caller.user_id,
      bot_id: this.#caller.bot_id,
      app_id: this.#caller.app_id,
      team: this.#caller.team_id,
    };
    if (blocks) message.blocks = blocks;
    if (attachments) message.attachments = attachments;
    if (a.metadata !== undefined) message.metadata = a.metadata;
    if (root && truthy(a.reply_broadcast)) message.subtype = "thread_broadcast";
    const stored = this.#store(ch, message, root);
    return { ok: true, channel, ts: stored.ts, message: structuredClone(stored) };
  }

  #update(a: Args): Answer {
    const ch = this.#channels.get(str(a.channel) ?? "");
    if (!ch) return { ok: false, error: "channel_not_found" };
    if (!ch.botMember) return { ok: false, error: "not_in_channel" };
    const message = this.#find(ch, str(a.ts) ?? "");
    if (!message) return { ok: false, error: "message_not_found" };
    if (message.bot_id !== this.#caller.bot_id && message.user !== this.#caller.user_id) {
      return { ok: false, error: "cant_update_message" };
    }
    // A stream is finished with chat.stopStream before it can be edited.
    if (message.stream?.state === "open") return { ok: false, error: "cant_update_message" };
    const text = str(a.text);
    const tooBig =
      sizeError(text, Array.isArray(a.blocks) ? a.blocks : undefined) ??
      tableError(
        Array.isArray(a.blocks) ? a.blocks : undefined,
        Array.isArray(a.attachments) ? a.attachments : undefined,
        this.tableBlocks,
      );
    if (tooBig) return { ok: false, error: tooBig };
    if (text !== undefined) message.text = text;
    if (Array.isArray(a.blocks)) message.blocks = a.blocks;
    if (Array.isArray(a.attachments)) message.attachments = a.attachments;
    message.edited = { user: this.#caller.user_id, ts: this.#nextTs() };
    return {
      ok: true,
      channel: ch.id,
      ts: message.ts,
      text: message.text,
      message: structuredClone(message),
    };
  }

  #postEphemeral(a: Args): Answer {
    const channel = str(a.channel);
    const user = str(a.user);
    if (!channel) return { ok: false, error: "channel_not_found" };
    if (!user) return { ok: false, error: "user_not_found" };
    if (this.#channels.get(channel)?.botMember === false) return { ok: false, error: "not_in_channel" };
    const blocks = Array.isArray(a.blocks) ? a.blocks : undefined;
    const text = str(a.text);
    if (text === undefined && !blocks?.length) return { ok: false, error: "no_text" };
    const e: SlackEphemeral = { channel, user, message_ts: this.#nextTs(), text: text ?? "" };
    const threadTs = str(a.thread_ts);
    if (threadTs) e.thread_ts = threadTs;
    if (blocks) e.blocks = blocks;
    this.#ephemerals.push(e);
    return { ok: true, message_ts: e.message_ts };
  }

  /**
   * Starts a streamed reply. As in Slack: the bot must be in the conversation; outside a DM the
   * recipient's user and team are required; chunks must be of a known type.
   */
  #startStream(a: Args): Answer {
    const channel = str(a.channel);
    if (!channel) return { ok: false, error: "channel_not_found" };
    const ch = this.#channels.get(channel);
    if (!ch) return { ok: false, error: "channel_not_found" };
    if (!ch.botMember) return { ok: false, error: "not_in_channel" };
    if (!channel.startsWith("D") && (!str(a.recipient_user_id) || !str(a.recipient_team_id))) {
      return { ok: false, error: "invalid_arguments" };
    }
    const chunks = streamChunks(a);
    if (!chunks) return { ok: false, error: "invalid_chunks" };
    const threadTs = str(a.thread_ts);
    let root: SlackMessage | undefined;
    if (threadTs) {
      root = ch.byTs.get(threadTs);
      if (!root) return { ok: false, error: "thread_not_found" };
    }
    const message: SlackMessage = {
      type: "message",
      ts: "",
      text: markdownOf(chunks),
      user: this.#caller.user_id,
      bot_id: this.#caller.bot_id,
      app_id: this.#caller.app_id,
      team: this.#caller.team_id,
      stream: { state: "open", chunks },
    };
    const stored = this.#store(ch, message, root);
    return { ok: true, channel, ts: stored.ts };
  }

  /** The open stream a call names, or the error Slack would give. */
  #openStream(a: Args): SlackMessage | { error: string } {
    const ch = this.#channels.get(str(a.channel) ?? "");
    if (!ch) return { error: "channel_not_found" };
    const message = this.#find(ch, str(a.ts) ?? "");
    if (!message) return { error: "message_not_found" };
    if (message.stream?.state !== "open") return { error: "message_not_in_streaming_state" };
    return message;
  }

  #appendStream(a: Args): Answer {
    const message = this.#openStream(a);
    if ("error" in message) return { ok: false, error: message.error };
    const chunks = streamChunks(a);
    if (!chunks || chunks.length === 0) return { ok: false, error: "invalid_chunks" };
    message.stream?.chunks.push(...chunks);
    message.text += markdownOf(chunks);
    return { ok: true, channel: str(a.channel), ts: message.ts };
  }

  #stopStream(a: Args): Answer {
    const message = this.#openStream(a);
    if ("error" in message) return { ok: false, error: message.error };
    const chunks = streamChunks(a) ?? [];
    if (message.stream) {
      message.stream.chunks.push(...chunks);
      message.stream.state = "stopped";
    }
    message.text += markdownOf(chunks);
    if (Array.isArray(a.blocks)) message.blocks = a.blocks;
    if (a.metadata !== undefined) message.metadata = a.metadata;
    return { ok: true, channel: str(a.channel), ts: message.ts, message: structuredClone(message) };
  }

  #getPermalink(a: Args): Answer {
    const ch = this.#channels.get(str(a.channel) ?? "");
    if (!ch) return { ok: false, error: "channel_not_found" };
    const message = this.#find(ch, str(a.message_ts) ?? "");
    if (!message) return { ok: false, error: "message_not_found" };
    let permalink = `${this.#caller.url}archives/${ch.id}/p${message.ts.replace(".", "")}`;
    if (message.thread_ts && message.thread_ts !== message.ts) {
      permalink += `?thread_ts=${message.thread_ts}&cid=${ch.id}`;
    }
    return { ok: true, channel: ch.id, permalink };
  }

  #replies(a: Args): Answer {
    const ch = this.#channels.get(str(a.channel) ?? "");
    if (!ch) return { ok: false, error: "channel_not_found" };
    if (!ch.botMember) return { ok: false, error: "not_in_channel" };
    const ts = str(a.ts);
    const message = ts ? this.#find(ch, ts) : undefined;
    if (!message) return { ok: false, error: "thread_not_found" };
    const rootTs = message.thread_ts ?? message.ts;
    const all = this.#threadOf(ch, rootTs).filter(inWindow(a));
    return this.#page(all, a, truthy(a.include_all_metadata));
  }

  #history(a: Args): Answer {
    const ch = this.#channels.get(str(a.channel) ?? "");
    if (!ch) return { ok: false, error: "channel_not_found" };
    if (!ch.botMember) return { ok: false, error: "not_in_channel" };
    const visible = ch.messages.filter(
      (m) => !m.thread_ts || m.thread_ts === m.ts || m.subtype === "thread_broadcast",
    );
    const newestFirst = visible.filter(inWindow(a)).reverse();
    return { ...this.#page(newestFirst, a, truthy(a.include_all_metadata)), pin_count: 0 };
  }

  /** Public channels are visible to any bot with channels:read; private ones only to members. */
  #conversationInfo(a: Args): Answer {
    const ch = this.#channels.get(str(a.channel) ?? "");
    if (!ch || (ch.isPrivate && !ch.botMember)) return { ok: false, error: "channel_not_found" };
    return {
      ok: true,
      channel: {
        id: ch.id,
        name: ch.name,
        is_channel: !ch.isPrivate,
        is_group: false,
        is_im: false,
        is_mpim: false,
        is_private: ch.isPrivate,
        is_archived: false,
        is_member: ch.botMember,
      },
    };
  }

  /** The people in a conversation lensbot is in (one page: the fake's channels are small). */
  #conversationMembers(a: Args): Answer {
    const ch = this.#channels.get(str(a.channel) ?? "");
    if (!ch || (ch.isPrivate && !ch.botMember)) return { ok: false, error: "channel_not_found" };
    if (!ch.botMember) return { ok: false, error: "not_in_channel" };
    return { ok: true, members: [...ch.members], response_metadata: { next_cursor: "" } };
  }

  /** The channels a person is in, of the asked types (default public), that the bot can see. */
  #usersConversations(a: Args): Answer {
    const user = str(a.user);
    const types = (str(a.types) ?? "public_channel").split(",");
    const channels = [...this.#channels.values()]
      .filter((ch) => user !== undefined && ch.members.has(user))
      .filter((ch) =>
        ch.isPrivate ? types.includes("private_channel") && ch.botMember : types.includes("public_channel"),
      )
      .map((ch) => ({ id: ch.id, name: ch.name, is_private: ch.isPrivate, is_channel: !ch.isPrivate }));
    return { ok: true, channels, response_metadata: { next_cursor: "" } };
  }

  #usersInfo(a: Args): Answer {
    const user = this.#users.get(str(a.user) ?? "");
    if (!user) return { ok: false, error: "user_not_found" };
    return { ok: true, user: structuredClone(user) };
  }

  /**
   * The agent-thread methods: the thread must be in a DM the bot has, and each takes its field
   * (`status` may be empty, which clears it; 1-4 suggested prompts of `{title, message}`; a title).
   */
  #assistantThread(a: Args, field: "status" | "prompts" | "title"): Answer {
    const channel = str(a.channel_id);
    const threadTs = str(a.thread_ts);
    if (!channel?.startsWith("D") || !threadTs) return { ok: false, error: "invalid_arguments" };
    if (!this.#channels.get(channel)) return { ok: false, error: "channel_not_found" };
    if (field === "status" && typeof a.status !== "string") return { ok: false, error: "invalid_arguments" };
    if (field === "title" && !str(a.title)) return { ok: false, error: "invalid_arguments" };
    if (field === "prompts") {
      const prompts = a.prompts;
      const valid =
        Array.isArray(prompts) &&
        prompts.length >= 1 &&
        prompts.length <= 4 &&
        prompts.every((p) => isRecord(p) && typeof p.title === "string" && typeof p.message === "string");
      if (!valid) return { ok: false, error: "invalid_arguments" };
    }
    return { ok: true };
  }

  /**
   * Opens a modal: needs a `trigger_id` (Slack's expire after 3 s; the fake accepts any non-empty
   * one) and a modal view whose title fits 24 characters, with at most 100 blocks.
   */
  #viewsOpen(a: Args): Answer {
    if (!str(a.trigger_id)) return { ok: false, error: "invalid_trigger_id" };
    const view = a.view;
    if (!isRecord(view) || view.type !== "modal") return { ok: false, error: "invalid_arguments" };
    const title = isRecord(view.title) ? str(view.title.text) : undefined;
    if (!title || title.length > 24 || !Array.isArray(view.blocks) || view.blocks.length > 100) {
      return { ok: false, error: "invalid_arguments" };
    }
    const stored = { id: `VFAKE${String(++this.#viewSeq).padStart(5, "0")}`, ...structuredClone(view) };
    this.#modals.push(stored);
    return { ok: true, view: structuredClone(stored) };
  }

  #viewsPublish(a: Args): Answer {
    const userId = str(a.user_id);
    if (!userId) return { ok: false, error: "invalid_arguments" };
    const view = a.view;
    if (!isRecord(view) || view.type !== "home") return { ok: false, error: "invalid_arguments" };
    const stored = {
      id: `VFAKE${String(++this.#viewSeq).padStart(5, "0")}`,
      team_id: this.#caller.team_id,
      app_id: this.#caller.app_id,
      bot_id: this.#caller.bot_id,
      hash: `hash.${this.#viewSeq}`,
      ...structuredClone(view),
    };
    this.#views.set(userId, stored);
    return { ok: true, view: structuredClone(stored) };
  }

  // ---- model ------------------------------------------------------------------------------------

  /**
   * One page of `items` for cursor pagination (`limit` default 100, capped at 1000). Message
   * metadata is left out unless asked for, as Slack does.
   */
  #page(items: SlackMessage[], a: Args, withMetadata = false): Answer {
    let start = 0;
    const cursor = str(a.cursor);
    if (cursor) {
      const decoded = Buffer.from(cursor, "base64").toString("utf8");
      const m = /^next_ts:(\d+\.\d+)$/.exec(decoded);
      if (!m) return { ok: false, error: "invalid_cursor" };
      // The page starts at the first item at or after the cursor ts in the listing's direction.
      const idx = items.findIndex((it) => it.ts === m[1]);
      if (idx < 0) return { ok: false, error: "invalid_cursor" };
      start = idx;
    }
    const requested = num(a.limit);
    const limit = requested === undefined || requested < 1 ? 100 : Math.min(Math.floor(requested), 1000);
    const page = structuredClone(items.slice(start, start + limit));
    if (!withMetadata) for (const m of page) delete m.metadata;
    const next = items[start + limit];
    return {
      ok: true,
      messages: page,
      has_more: next !== undefined,
      response_metadata: { next_cursor: next ? Buffer.from(`next_ts:${next.ts}`).toString("base64") : "" },
    };
  }

  /** The channel, created (with the bot as a member) if it does not exist yet. */
  #channel(id: string): Channel {
    if (!this.#channels.has(id)) this.addChannel(id);
    return this.#channels.get(id) as Channel;
  }

  #find(ch: Channel, ts: string): SlackMessage | undefined {
    return ch.byTs.get(ts);
  }

  #threadOf(ch: Channel, rootTs: string): SlackMessage[] {
    const root = this.#find(ch, rootTs);
    if (!root) return [];
    return [root, ...(ch.replies.get(rootTs) ?? [])];
  }

  /** Stores a message with a fresh ts; as a reply of `root` when given (updating the root's reply stats). */
  #store(ch: Channel, message: SlackMessage, root: SlackMessage | undefined): SlackMessage {
    message.ts = this.#nextTs();
    if (message.user && message.user !== this.#caller.user_id) ch.members.add(message.user);
    if (root) {
      message.thread_ts = root.ts;
      if (root.user) message.parent_user_id = root.user;
      root.thread_ts = root.ts;
      root.reply_count = (root.reply_count ?? 0) + 1;
      const author = message.user ?? message.bot_id;
      const users = root.reply_users ?? [];
      if (author && !users.includes(author)) users.push(author);
      root.reply_users = users;
      root.reply_users_count = users.length;
      root.latest_reply = message.ts;
    }
    ch.messages.push(message);
    ch.byTs.set(message.ts, message);
    if (root) {
      const list = ch.replies.get(root.ts);
      if (list) list.push(message);
      else ch.replies.set(root.ts, [message]);
    }
    return message;
  }

  #seeded(m: SeedMessage, team: string): SlackMessage {
    const message: SlackMessage = { type: "message", ts: "", text: m.text, team };
    if (m.user !== undefined) message.user = m.user;
    if (m.bot_id !== undefined) message.bot_id = m.bot_id;
    if (m.subtype !== undefined) message.subtype = m.subtype;
    if (m.blocks !== undefined) message.blocks = structuredClone(m.blocks);
    return message;
  }

  /** Increasing unique timestamps: 1700000000.000100, 1700000000.000200, … */
  #nextTs(): string {
    const micros = ++this.#tsSeq * 100;
    const seconds = TS_BASE_SECONDS + Math.floor(micros / 1_000_000);
    return `${seconds}.${String(micros % 1_000_000).padStart(6, "0")}`;
  }

  #addBotUser(): void {
    const bot = this.addUser({
      id: this.bot.user_id,
      name: this.bot.user,
      real_name: "Lens Bot",
      is_bot: true,
    });
    const stored = this.#users.get(bot.id) as SlackUser;
    stored.profile.bot_id = this.bot.bot_id;
  }
}

// ---- helpers ------------------------------------------------------------------------------------

function parseBody(contentType: string | undefined, raw: Buffer): Args {
  const text = raw.toString("utf8");
  const type = (contentType ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
  if (type === "application/json") {
    if (text.trim() === "") return {};
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new Error("invalid_json");
    }
    if (!isRecord(parsed)) throw new Error("invalid_json");
    return parsed;
  }
  if (type === "multipart/form-data") throw new Error("invalid_form_data");
  if (type === "application/x-www-form-urlencoded" || text !== "")
    return decodeForm(new URLSearchParams(text));
  return {};
}

/** Form fields to args; values that are JSON objects or arrays (how WebClient sends blocks, view, …) are decoded. */
function decodeForm(params: URLSearchParams): Args {
  const args: Args = {};
  for (const [key, value] of params) {
    args[key] = PLAIN_TEXT_FIELDS.has(key) ? value : maybeJson(value);
  }
  return args;
}

function maybeJson(value: string): unknown {
  const t = value.trimStart();
  if (!t.startsWith("{") && !t.startsWith("[")) return value;
  try {
    return JSON.parse(value) as unknown;
  } catch {
    return value;
  }
}

/** Filter for `oldest` / `latest` / `inclusive`. */
function inWindow(a: Args): (m: SlackMessage) => boolean {
  const oldest = str(a.oldest);
  const latest = str(a.latest);
  const inclusive = truthy(a.inclusive);
  return (m) => {
    if (oldest !== undefined) {
      const c = compareTs(m.ts, oldest);
      if (c < 0 || (c === 0 && !inclusive)) return false;
    }
    if (latest !== undefined) {
      const c = compareTs(m.ts, latest);
      if (c > 0 || (c === 0 && !inclusive)) return false;
    }
    return true;
  };
}

/** Compares Slack timestamps exactly (no float rounding). */
export function compareTs(a: string, b: string): number {
  const [as, af] = tsParts(a);
  const [bs, bf] = tsParts(b);
  if (as !== bs) return as < bs ? -1 : 1;
  return af === bf ? 0 : af < bf ? -1 : 1;
}

/** Seconds and microseconds of a ts as bigints; anything unparsable counts as 0. */
function tsParts(ts: string): [bigint, bigint] {
  const m = /^(\d+)(?:\.(\d{0,6}))?/.exec(ts.trim());
  if (!m) return [0n, 0n];
  return [BigInt(m[1] ?? "0"), BigInt((m[2] ?? "").padEnd(6, "0"))];
}

function str(v: unknown): string | undefined {
  if (typeof v === "string") return v;
  if (typeof v === "number") return String(v);
  return undefined;
}

function num(v: unknown): number | undefined {
  const n = typeof v === "number" ? v : typeof v === "string" && v.trim() !== "" ? Number(v) : Number.NaN;
  return Number.isFinite(n) ? n : undefined;
}

function truthy(v: unknown): boolean {
  return v === true || v === "true" || v === "1" || v === 1;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * Slack's own size limits on a message, checked here independently of lensbot's checker (so a
 * builder that breaks them fails in the fake as it would in Slack): `msg_too_long` past 40,000
 * characters of `text`; `invalid_blocks` for more than 50 blocks, a section text over 3,000 or a
 * header over 150 characters; `msg_blocks_too_long` past about 12,000 characters of block text
 * in total (the threshold measured in slackapi/bolt-js#2509; Slack documents none).
 */
function sizeError(text: string | undefined, blocks: unknown[] | undefined): string | undefined {
  if (text !== undefined && text.length > 40_000) return "msg_too_long";
  if (!blocks) return undefined;
  if (blocks.length > 50) return "invalid_blocks";
  let total = 0;
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (isRecord(v))
      for (const [k, x] of Object.entries(v)) {
        if (k === "text" && typeof x === "string") total += x.length;
        else walk(x);
      }
  };
  for (const block of blocks) {
    if (!isRecord(block)) return "invalid_blocks";
    const t = isRecord(block.text) ? block.text.text : undefined;
    if (block.type === "section" && typeof t === "string" && t.length > 3000) return "invalid_blocks";
    if (block.type === "header" && typeof t === "string" && t.length > 150) return "invalid_blocks";
  }
  walk(blocks);
  return total > 12_000 ? "msg_blocks_too_long" : undefined;
}

/**
 * Slack's rules for `table` blocks in a message, checked independently of lensbot's checker
 * (docs.slack.dev/reference/block-kit/blocks/table-block, and what apps posting tables report):
 * a table belongs in an attachment's `blocks` (`invalid_blocks` among the message's own); one
 * table per message (`invalid_attachments` for a second); at most 100 rows of at most 20 cells,
 * each `raw_text` (non-empty text), `rich_text` or `raw_number`; at most 20 `column_settings` with
 * `align` left, center or right and a boolean `is_wrapped` (`invalid_attachments` otherwise).
 * Stricter than the documentation in one point: rows of unequal length are refused. With
 * `supported` false (a workspace without tables) any table is `invalid_blocks`.
 */
function tableError(
  blocks: unknown[] | undefined,
  attachments: unknown[] | undefined,
  supported: boolean,
): string | undefined {
  if (blocks?.some((b) => isRecord(b) && b.type === "table")) return "invalid_blocks";
  const tables = (attachments ?? []).flatMap((a) =>
    isRecord(a) && Array.isArray(a.blocks) ? a.blocks.filter((b) => isRecord(b) && b.type === "table") : [],
  );
  if (tables.length === 0) return undefined;
  if (!supported) return "invalid_blocks";
  if (tables.length > 1) return "invalid_attachments";
  const table = tables[0] as Record<string, unknown>;
  const rows = table.rows;
  if (!Array.isArray(rows) || rows.length === 0 || rows.length > 100) return "invalid_attachments";
  const width = Array.isArray(rows[0]) ? rows[0].length : -1;
  for (const row of rows) {
    if (!Array.isArray(row) || row.length === 0 || row.length > 20 || row.length !== width)
      return "invalid_attachments";
    for (const cell of row) {
      if (!isRecord(cell)) return "invalid_attachments";
      if (cell.type === "raw_text" && (typeof cell.text !== "string" || cell.text.length === 0))
        return "invalid_attachments";
      if (cell.type !== "raw_text" && cell.type !== "rich_text" && cell.type !== "raw_number")
        return "invalid_attachments";
    }
  }
  const settings = table.column_settings;
  if (settings !== undefined) {
    if (!Array.isArray(settings) || settings.length > 20) return "invalid_attachments";
    for (const cs of settings) {
      if (!isRecord(cs)) return "invalid_attachments";
      if (cs.align !== undefined && !["left", "center", "right"].includes(String(cs.align)))
        return "invalid_attachments";
      if (cs.is_wrapped !== undefined && typeof cs.is_wrapped !== "boolean") return "invalid_attachments";
    }
  }
  return undefined;
}

const CHUNK_TYPES = new Set(["markdown_text", "plan_update", "task_update", "blocks"]);
const TASK_STATUSES = new Set(["pending", "in_progress", "complete", "error"]);

/** The chunks of a stream call (`chunks`, or `markdown_text` as one chunk); undefined when malformed. */
function streamChunks(a: Args): StreamChunk[] | undefined {
  const out: StreamChunk[] = [];
  if (typeof a.markdown_text === "string") out.push({ type: "markdown_text", text: a.markdown_text });
  if (a.chunks === undefined) return out;
  if (!Array.isArray(a.chunks)) return undefined;
  for (const c of a.chunks) {
    if (!isRecord(c) || typeof c.type !== "string" || !CHUNK_TYPES.has(c.type)) return undefined;
    if (c.type === "task_update" && (typeof c.id !== "string" || !TASK_STATUSES.has(String(c.status))))
      return undefined;
    out.push(c as StreamChunk);
  }
  return out;
}

const markdownOf = (chunks: readonly StreamChunk[]) =>
  chunks.map((c) => (c.type === "markdown_text" ? String(c.text ?? "") : "")).join("");

import type { WebClient } from "@slack/web-api";

/** One message of a thread as lensbot needs it. */
export interface ThreadMessage {
  ts: string;
  user?: string;
  botId?: string;
  subtype?: string;
  text: string;
}

/** What `readThread` read: the messages (oldest first) and how many in the middle it did not read. */
export interface ThreadRead {
  messages: ThreadMessage[];
  /** Messages between the first part and the tail that were never read (0 when all were). */
  unread: number;
}

export interface ReadThreadOptions {
  /** Messages per page (Slack allows up to 1000; 200 is gentle on rate limits). Default 200. */
  pageSize?: number;
  /** Most messages read from the start of the thread. Default 2,000. */
  maxMessages?: number;
  /** Most pages read in all (start and tail together). Default 15. */
  maxPages?: number;
  /**
   * The message the question sits on (an @mention, a shortcut): the tail read ends there. By
   * default the thread's latest reply.
   */
  questionTs?: string;
}

type RepliesPage = Awaited<ReturnType<WebClient["conversations"]["replies"]>>;

function toMessage(
  m: NonNullable<RepliesPage["messages"]>[number] & { subtype?: string },
): ThreadMessage | undefined {
  if (!m.ts) return undefined;
  return {
    ts: m.ts,
    ...(m.user && { user: m.user }),
    ...(m.bot_id && { botId: m.bot_id }),
    ...(m.subtype && { subtype: m.subtype }),
    text: m.text ?? "",
  };
}

/**
 * Reads a thread (root first) with conversations.replies, within caps: at most `maxMessages`
 * from the start and `maxPages` pages in all. When the thread is longer, a second read bounded by
 * `oldest` fetches the messages from just before the question to the latest reply, so the latest
 * part of the discussion is never lost: its window is sized from the pace of the messages read
 * first and halved until one page holds it. How many were skipped in between is counted from
 * the root's `reply_count`.
 * @throws the Web API error when a page fails.
 */
export async function readThread(
  client: WebClient,
  channel: string,
  threadTs: string,
  options: ReadThreadOptions = {},
): Promise<ThreadRead> {
  const pageSize = options.pageSize ?? 200;
  const maxMessages = options.maxMessages ?? 2_000;
  let pages = options.maxPages ?? 15;
  const byTs = new Map<string, ThreadMessage>();
  let replyCount = 0;
  let latestReply: string | undefined;

  const add = (raw: NonNullable<RepliesPage["messages"]>[number]) => {
    const m = toMessage(raw as Parameters<typeof toMessage>[0]);
    if (!m) return false;
    if (m.ts === threadTs) {
      replyCount = (raw as { reply_count?: number }).reply_count ?? replyCount;
      latestReply = (raw as { latest_reply?: string }).latest_reply ?? latestReply;
    }
    const fresh = !byTs.has(m.ts);
    byTs.set(m.ts, m); // Slack repeats the root on every page
    return fresh;
  };
  const replies = (args: { oldest?: string; latest?: string; cursor?: string }) => {
    pages--;
    return client.conversations.replies({
      channel,
      ts: threadTs,
      limit: pageSize,
      ...args,
      ...(args.oldest && { inclusive: true }),
    });
  };

  // From the start, up to the caps.
  let cursor: string | undefined;
  let read = 0;
  do {
    const page = await replies(cursor ? { cursor } : {});
    for (const raw of page.messages ?? []) if (add(raw)) read++;
    cursor = page.response_metadata?.next_cursor || undefined;
  } while (cursor && read < maxMessages && pages > 1);

  // The tail, just before the question (unless the question is the root itself).
  const anchor = options.questionTs && options.questionTs !== threadTs ? options.questionTs : latestReply;
  if (cursor && anchor) {
    const seen = [...byTs.keys()].sort(compareTs);
    const span = Math.max(1e-3, Number(seen.at(-1)) - Number(seen[0]));
    let window = Math.max(1e-3, (pageSize * 0.8 * span) / Math.max(1, seen.length));
    while (pages > 0) {
      const oldest = Math.max(0, Number(anchor) - window).toFixed(6);
      const page = await replies({ oldest, latest: latestReply ?? anchor });
      if (page.has_more && window > 1e-3) {
        window /= 2; // more than a page before the question: look closer
        continue;
      }
      for (const raw of page.messages ?? []) add(raw);
      break;
    }
  }
  const messages = [...byTs.values()].sort((a, b) => compareTs(a.ts, b.ts));
  const unread = Math.max(0, replyCount + 1 - messages.length);
  return { messages, unread };
}

/** Compares Slack timestamps exactly (no float rounding). */
function compareTs(a: string, b: string): number {
  const [as = "0", af = ""] = a.split(".");
  const [bs = "0", bf = ""] = b.split(".");
  if (as.length !== bs.length) return as.length - bs.length;
  if (as !== bs) return as < bs ? -1 : 1;
  const x = af.padEnd(6, "0");
  const y = bf.padEnd(6, "0");
  return x === y ? 0 : x < y ? -1 : 1;
}

/** Resolves user ids to display names with users.info, caching each answer for the process. */
export class UserNames {
  readonly #client: WebClient;
  readonly #cache = new Map<string, string>();
  readonly #max: number;

  constructor(client: WebClient, maxEntries = 5000) {
    this.#client = client;
    this.#max = maxEntries;
  }

  /** Display name, real name or the id itself when Slack does not know the user. */
  async name(userId: string): Promise<string> {
    const cached = this.#cache.get(userId);
    if (cached) return cached;
    let name: string | undefined;
    try {
      const res = await this.#client.users.info({ user: userId });
      name = res.user?.profile?.display_name || res.user?.real_name || res.user?.name || undefined;
    } catch {
      // An unknown user keeps their id (not cached, so a later lookup can succeed).
    }
    if (!name) return userId;
    if (this.#cache.size >= this.#max) this.#cache.delete(this.#cache.keys().next().value as string);
    this.#cache.set(userId, name);
    return name;
  }
}

/**
 * Turns Slack mrkdwn into plain text for the model: user and channel mentions become names,
 * links become "label (url)", broadcasts become words, and HTML entities are decoded.
 */
export function decodeMrkdwn(text: string, names: ReadonlyMap<string, string>): string {
  return text
    .replace(
      /<@([UW][A-Z0-9]+)(?:\|([^>]*))?>/g,
      (_, id: string, label?: string) => `@${names.get(id) ?? label ?? id}`,
    )
    .replace(/<#C[A-Z0-9]+\|([^>]*)>/g, (_, name: string) => `#${name}`)
    .replace(/<#(C[A-Z0-9]+)>/g, (_, id: string) => `#${id}`)
    .replace(/<!(channel|here|everyone)(?:\|[^>]*)?>/g, (_, w: string) => `@${w}`)
    .replace(/<!subteam\^[A-Z0-9]+(?:\|([^>]*))?>/g, (_, label?: string) => label ?? "@group")
    .replace(/<(https?:\/\/[^|>]+)\|([^>]+)>/g, (_, url: string, label: string) => `${label} (${url})`)
    .replace(/<(https?:\/\/[^>]+)>/g, (_, url: string) => url)
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&amp;/g, "&");
}

/** Estimated tokens for `text` (4 characters per token, the usual rule of thumb for English). */
export const estimateTokens = (text: string) => Math.ceil(text.length / 4);

export interface TranscriptOptions {
  /** Token budget for the whole transcript, everything counted (markers and summaries too). */
  budgetTokens: number;
  /** The bot's own bot_id: its earlier cards are summarised in one line each, not repeated. */
  ownBotId?: string;
  /** Messages longer than this many characters are shortened. Default 2,000. */
  maxMessageChars?: number;
  /** The message the question sits on: always kept. */
  questionTs?: string;
  /** Messages in the middle of the thread that were never read (see `readThread`), stated in the transcript. */
  unread?: number;
}

const gapLine = (n: number) => `[… ${n} message${n === 1 ? "" : "s"} left out to fit the budget …]`;
const clip = (text: string, max: number) => (text.length <= max ? text : `${text.slice(0, max)} […]`);

/**
 * Builds a transcript that fits the token budget, counting everything it contains:
 * - always the first message and the question's message;
 * - when the whole thread does not fit: bot alerts summarised per source (count, first and last),
 *   right after the first message, instead of kept one by one;
 * - then as many of the latest messages as fit;
 * - the middle cut with a line saying how many messages were left out (and, when the thread was
 *   too long to read whole, how many were never read).
 * Returns the text (oldest first), notes for the user, and the messages kept and left out.
 */
export function buildTranscript(
  messages: readonly ThreadMessage[],
  names: ReadonlyMap<string, string>,
  options: TranscriptOptions,
): { text: string; notes: string[]; kept: number; omitted: number } {
  const maxChars = options.maxMessageChars ?? 2000;
  const alertsBySource = new Map<string, number[]>();
  const lines = messages.map((m, i) => {
    const isOwn = options.ownBotId !== undefined && m.botId === options.ownBotId;
    const isAlert = !isOwn && (m.botId !== undefined || m.subtype === "bot_message");
    const who = m.user ? (names.get(m.user) ?? m.user) : m.botId ? `bot ${m.botId}` : "unknown";
    let body = decodeMrkdwn(m.text, names).trim();
    if (isOwn) body = `[lensbot posted earlier: ${body.split("\n")[0]?.slice(0, 160) ?? ""}]`;
    body = clip(body, maxChars);
    if (isAlert) alertsBySource.set(who, [...(alertsBySource.get(who) ?? []), i]);
    const tag = isAlert ? " [bot alert]" : "";
    return { i, who, body, text: `${who}${tag}: ${body}`, alert: isAlert };
  });

  // When the whole thread does not fit, each alert source becomes one summary line and its
  // alerts are not kept one by one.
  const whole = lines.reduce((sum, l) => sum + estimateTokens(l.text), 0);
  const fits = whole <= options.budgetTokens && !options.unread;
  const summarised = new Set<number>();
  const summaries: string[] = [];
  for (const [who, idx] of fits ? [] : alertsBySource) {
    for (const i of idx) summarised.add(i);
    const first = lines[idx[0] as number];
    const last = lines[idx[idx.length - 1] as number];
    summaries.push(
      idx.length === 1
        ? `[1 alert from ${who}: "${clip(first?.body ?? "", 240)}"]`
        : `[${idx.length} alerts from ${who}; the first: "${clip(first?.body ?? "", 160)}"; the last: "${clip(last?.body ?? "", 160)}"]`,
    );
  }

  const firstIndex = 0;
  const questionIndex = options.questionTs
    ? lines.findIndex((l) => messages[l.i]?.ts === options.questionTs)
    : -1;
  const keep = new Set<number>();
  let budget = options.budgetTokens;
  const take = (cost: number) => {
    if (cost > budget) return false;
    budget -= cost;
    return true;
  };
  // Room for up to two gap lines and the unread line, which are written only when needed.
  take(2 * estimateTokens(gapLine(99_999)) + (options.unread ? 20 : 0));
  for (const i of [firstIndex, questionIndex]) {
    const l = lines[i];
    if (l && !keep.has(i) && take(estimateTokens(l.text))) keep.add(i);
  }
  const summaryText = summaries.filter((t) => take(estimateTokens(t)));
  for (let i = lines.length - 1; i >= 0; i--) {
    const l = lines[i];
    if (!l || keep.has(i) || summarised.has(i)) continue;
    if (!take(estimateTokens(l.text))) break;
    keep.add(i);
  }

  const out: string[] = [];
  let gap = 0;
  for (const l of lines) {
    if (keep.has(l.i)) {
      if (gap > 0) out.push(gapLine(gap));
      gap = 0;
      out.push(l.text);
      if (l.i === firstIndex) {
        out.push(...summaryText);
        if (options.unread)
          out.push(`[… ${options.unread} messages in the middle of this thread were not read …]`);
      }
    } else if (!summarised.has(l.i)) gap++;
  }
  if (gap > 0) out.push(gapLine(gap));
  const total = lines.length + (options.unread ?? 0);
  const omitted = total - keep.size;
  const notes =
    omitted > 0
      ? [
          `The thread has ${total} messages; ${omitted} from the middle were left out to fit the context budget${summarised.size > 0 ? ", and its bot alerts are summarised" : ""}.`,
        ]
      : [];
  return { text: out.join("\n"), notes, kept: keep.size, omitted };
}

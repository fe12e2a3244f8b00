import type { WebClient } from "@slack/web-api";

/** One message of a thread as lensbot needs it. */
export interface ThreadMessage {
  ts: string;
  user?: string;
  botId?: string;
  subtype?: string;
  text: string;
}

/**
 * Reads a whole thread (root first) with conversations.replies, following cursors.
 * @param pageSize messages per page (Slack allows up to 1000; 200 is gentle on rate limits).
 * @throws the Web API error when a page fails.
 */
export async function readThread(
  client: WebClient,
  channel: string,
  threadTs: string,
  pageSize = 200,
): Promise<ThreadMessage[]> {
  const out: ThreadMessage[] = [];
  const seen = new Set<string>();
  let cursor: string | undefined;
  do {
    const page = await client.conversations.replies({
      channel,
      ts: threadTs,
      limit: pageSize,
      ...(cursor && { cursor }),
    });
    for (const m of (page.messages ?? []) as (NonNullable<typeof page.messages>[number] & {
      subtype?: string;
    })[]) {
      if (!m.ts || seen.has(m.ts)) continue; // Slack repeats the root on every page
      seen.add(m.ts);
      out.push({
        ts: m.ts,
        ...(m.user && { user: m.user }),
        ...(m.bot_id && { botId: m.bot_id }),
        ...(m.subtype && { subtype: m.subtype }),
        text: m.text ?? "",
      });
    }
    cursor = page.response_metadata?.next_cursor || undefined;
  } while (cursor);
  return out;
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
  /** Token budget for the whole transcript. */
  budgetTokens: number;
  /** The bot's own bot_id: its earlier cards are summarised in one line each, not repeated. */
  ownBotId?: string;
  /** Messages longer than this many characters are shortened. Default 2,000. */
  maxMessageChars?: number;
}

/**
 * Builds a transcript that fits the token budget: always the first message and every bot alert,
 * then as many of the latest messages as fit; the middle is cut with a line saying how many
 * messages were left out. Returns the text (oldest first) and notes for the user.
 */
export function buildTranscript(
  messages: readonly ThreadMessage[],
  names: ReadonlyMap<string, string>,
  options: TranscriptOptions,
): { text: string; notes: string[]; kept: number; omitted: number } {
  const maxChars = options.maxMessageChars ?? 2000;
  const lines = messages.map((m, i) => {
    const isOwn = options.ownBotId !== undefined && m.botId === options.ownBotId;
    const isAlert = !isOwn && (m.botId !== undefined || m.subtype === "bot_message");
    const who = m.user ? (names.get(m.user) ?? m.user) : m.botId ? `bot ${m.botId}` : "unknown";
    let body = decodeMrkdwn(m.text, names).trim();
    if (isOwn) body = `[lensbot posted earlier: ${body.split("\n")[0]?.slice(0, 160) ?? ""}]`;
    if (body.length > maxChars) body = `${body.slice(0, maxChars)} […]`;
    const tag = isAlert ? " [bot alert]" : "";
    return { i, text: `${who}${tag}: ${body}`, pinned: i === 0 || isAlert };
  });

  let budget = options.budgetTokens;
  const keep = new Set<number>();
  for (const l of lines) {
    if (l.pinned && estimateTokens(l.text) <= budget) {
      keep.add(l.i);
      budget -= estimateTokens(l.text);
    }
  }
  for (let i = lines.length - 1; i >= 0; i--) {
    const l = lines[i];
    if (!l || keep.has(i)) continue;
    const cost = estimateTokens(l.text);
    if (cost > budget) break;
    keep.add(i);
    budget -= cost;
  }

  const out: string[] = [];
  let gap = 0;
  for (const l of lines) {
    if (keep.has(l.i)) {
      if (gap > 0) out.push(`[… ${gap} message${gap === 1 ? "" : "s"} left out to fit the budget …]`);
      gap = 0;
      out.push(l.text);
    } else gap++;
  }
  if (gap > 0) out.push(`[… ${gap} message${gap === 1 ? "" : "s"} left out to fit the budget …]`);
  const omitted = lines.length - keep.size;
  const notes =
    omitted > 0
      ? [
          `The thread has ${lines.length} messages; ${omitted} from the middle were left out to fit the context budget.`,
        ]
      : [];
  return { text: out.join("\n"), notes, kept: keep.size, omitted };
}

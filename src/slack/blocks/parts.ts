/**
 * The small pieces every Block Kit builder of lensbot shares: sanitised text helpers, header,
 * section, context and button blocks cut to Slack's limits, and `paginate`, which lays a card out
 * over as many messages as the limits need (see ./limits.ts). Pure: no I/O.
 */
import type { Button, ContextBlock, HeaderBlock, KnownBlock, SectionBlock, TableBlock } from "@slack/types";
import { sanitiseModelText, splitText, truncate } from "../mrkdwn.js";
import {
  blocksTextLength,
  MAX_BLOCKS_PER_MESSAGE,
  MAX_BUTTON_TEXT,
  MAX_CONTEXT_ELEMENTS,
  MAX_HEADER_TEXT,
  MAX_MESSAGE_TEXT,
  MAX_SECTION_TEXT,
  MAX_TEXT_OBJECT,
} from "./limits.js";

/**
 * One Slack message: fallback `text` (notifications, screen readers), its blocks and, when it
 * carries a `table` block, that table in an attachment (where Slack takes tables; one per message).
 */
export interface SlackMessage {
  text: string;
  blocks: KnownBlock[];
  attachments?: { blocks: TableBlock[] }[];
}

/**
 * A body group whose table goes with it: its `blocks` (a heading) end a message, and `table`
 * goes in that message's attachment, so it shows right under them; the card goes on in the next
 * message.
 */
export interface TableGroup {
  blocks: KnownBlock[];
  table: TableBlock;
}

const isTableGroup = (g: KnownBlock[] | TableGroup): g is TableGroup => !Array.isArray(g);

export const s = sanitiseModelText;
export const pct = (n: number) => `${Math.round(n * 100)}%`;
export const bullets = (items: readonly string[], mark = "•") =>
  items.map((i) => `${mark} ${s(i)}`).join("\n");
/** One line of sanitised text (for bold spans, which a line break would end). */
export const oneLine = (text: string) => s(text.replace(/\s*\n\s*/g, " ").trim());
/** Fallback texts stay short: they are a notification preview, not the content. */
export const FALLBACK_CHARS = 300;
export const fallback = (text: string) => truncate(text, FALLBACK_CHARS);

/** Header block; `text` must already be sanitised. */
export function header(text: string): HeaderBlock {
  return { type: "header", text: { type: "plain_text", text: truncate(text, MAX_HEADER_TEXT), emoji: true } };
}

/** Section blocks for (already sanitised) mrkdwn, as many as its length needs. */
export function sections(mrkdwn: string): SectionBlock[] {
  return splitText(mrkdwn, MAX_SECTION_TEXT).map((text) => ({
    type: "section",
    text: { type: "mrkdwn", text },
  }));
}

/** Context block of (already sanitised) mrkdwn lines; beyond 10, the rest share the last element. */
export function context(lines: readonly string[]): ContextBlock {
  const head = lines.slice(0, MAX_CONTEXT_ELEMENTS - 1);
  const rest = lines.slice(MAX_CONTEXT_ELEMENTS - 1);
  const all = rest.length ? [...head, rest.join("\n")] : head;
  return {
    type: "context",
    elements: all.map((text) => ({ type: "mrkdwn", text: truncate(text, MAX_TEXT_OBJECT) })),
  };
}

export function button(label: string, actionId: string, value: string, style?: "primary" | "danger"): Button {
  return {
    type: "button",
    text: { type: "plain_text", text: truncate(label, MAX_BUTTON_TEXT), emoji: true },
    action_id: actionId,
    value,
    ...(style ? { style } : {}),
  };
}

// ---------- pagination ----------

/** The parts of a card; `paginate` lays them out over as many messages as the limits need. */
export interface CardParts {
  /** Sanitised short title, used in continuation markers and continuation fallbacks. */
  title: string;
  /** Sanitised fallback text of the first message. */
  fallback: string;
  /** Blocks that open the first message (header, summary context). */
  head: KnownBlock[];
  /**
   * Content, in groups kept within one message whenever a group fits in one. A {@link TableGroup}
   * ends its message (its table is that message's attachment); put it before the last group, so
   * the tail's buttons stay under everything.
   */
  body: (KnownBlock[] | TableGroup)[];
  /** Blocks that close every message (e.g. the offline label, so no part is mistaken for model output). */
  everyPage?: KnownBlock[];
  /** Blocks that close the last message only (buttons). */
  tail?: KnownBlock[];
}

/** Room kept on every message for the "continued" marker (a context block). */
const MARKER_CHARS = MAX_HEADER_TEXT + 60;

export function paginate(card: CardParts): SlackMessage[] {
  const everyPage = card.everyPage ?? [];
  const tail = card.tail ?? [];
  const maxBlocks = MAX_BLOCKS_PER_MESSAGE - everyPage.length - 1;
  const maxChars = MAX_MESSAGE_TEXT - blocksTextLength(everyPage) - MARKER_CHARS;

  const pages: { blocks: KnownBlock[]; table?: TableBlock }[] = [];
  let page: KnownBlock[] = [...card.head];
  let table: TableBlock | undefined;
  let chars = blocksTextLength(page);
  let hasBody = false;
  const fits = (n: number, c: number) => page.length + n <= maxBlocks && chars + c <= maxChars;
  const newPage = () => {
    if (page.length === 0) return;
    pages.push({ blocks: page, ...(table && { table }) });
    page = [];
    table = undefined;
    chars = 0;
    hasBody = false;
  };
  const add = (blocks: readonly KnownBlock[], c: number) => {
    page.push(...blocks);
    chars += c;
    hasBody = true;
  };

  for (const item of card.body) {
    if (isTableGroup(item)) {
      // The heading and the table (counted as one more block, its cells as text) share a message.
      const c = blocksTextLength(item.blocks) + blocksTextLength([item.table]);
      if (!fits(item.blocks.length + 1, c)) newPage();
      add(item.blocks, c);
      table = item.table;
      newPage();
      continue;
    }
    const group = item;
    if (group.length === 0) continue;
    const c = blocksTextLength(group);
    if (fits(group.length, c)) {
      add(group, c);
    } else if (hasBody && group.length <= maxBlocks && c <= maxChars) {
      newPage();
      add(group, c);
    } else {
      for (const block of group) {
        const bc = blocksTextLength([block]);
        if (!fits(1, bc)) newPage();
        add([block], bc);
      }
    }
  }
  const tailChars = blocksTextLength(tail);
  if (tail.length && !fits(tail.length, tailChars)) newPage();
  if (page.length > 0 || pages.length === 0 || tail.length > 0) pages.push({ blocks: page });

  const n = pages.length;
  return pages.map(({ blocks, table: attached }, i) => {
    const last = i === n - 1;
    const part = `part ${i + 1} of ${n}`;
    const marker: KnownBlock[] =
      i === 0 ? [] : [context([`_${truncate(card.title, MAX_HEADER_TEXT)}_ · continued, ${part}`])];
    return {
      text:
        i === 0
          ? n > 1
            ? `${card.fallback} (${part})`
            : card.fallback
          : fallback(`${card.title} (continued, ${part})`),
      blocks: [...marker, ...blocks, ...everyPage, ...(last ? tail : [])],
      ...(attached && { attachments: [{ blocks: [attached] }] }),
    };
  });
}

/**
 * A permalink from Slack (`chat.getPermalink`) as the target of a mrkdwn link `<url|label>`, or
 * undefined when it is not an https URL on slack.com: only Slack's own links are ever linked.
 */
export function slackPermalink(url: string | undefined): string | undefined {
  if (!url) return undefined;
  try {
    const u = new URL(url);
    if (u.protocol !== "https:" || !(u.hostname === "slack.com" || u.hostname.endsWith(".slack.com")))
      return undefined;
    return u
      .toString()
      .replace(/&/g, "&amp;")
      .replace(/</g, "%3C")
      .replace(/>/g, "%3E")
      .replace(/\|/g, "%7C");
  } catch {
    return undefined;
  }
}

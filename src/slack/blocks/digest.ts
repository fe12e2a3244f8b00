/**
 * Block Kit for retro digests. Pure: a `Digest` in, messages out.
 *
 * A digest is one channel message plus, when a busy period does not fit, one thread reply (split
 * over as many messages as Slack's limits need) with everything the main message had to leave
 * out. The main message is built to fit on its own: each section has a character budget, lists
 * show their top items, and the sum stays under the cumulative text budget of ./limits.ts, so
 * a period of any size is never rejected by Slack.
 *
 * Analysis headlines, actions and retro text came from people's problems and the model, so they
 * go through `sanitiseModelText` (no pings, no links). Permalinks come from Slack's own
 * `chat.getPermalink`, and only https links on a slack.com host are used.
 */
import type { KnownBlock } from "@slack/types";
import {
  type Count,
  type Digest,
  type DigestAnalysis,
  periodLabel,
  type RecurringAction,
  refList,
  trend,
  usedIn,
} from "../../digest/build.js";
import { OFFLINE_RETRO_LABEL } from "../../pipeline/schemas.js";
import { truncate } from "../mrkdwn.js";
import {
  button,
  context,
  fallback,
  header,
  oneLine,
  paginate,
  type SlackMessage,
  sections,
  slackPermalink,
} from "./parts.js";

/** How many of each list the main message shows; the thread reply has all of them. */
export const DIGEST_TOP = { analyses: 8, lenses: 6, modes: 4, actions: 4, questions: 5 } as const;

/** Character budgets per section of the main message (sum plus headers stays under 10,000). */
const BUDGET = { analyses: 2600, counts: 1200, actions: 1600, retro: 2000, questions: 1500, lens: 600 };

/** Button ids of a digest message; the value of each is the digest's id. */
export const DIGEST_ACTIONS = {
  up: "digest_feedback_up",
  down: "digest_feedback_down",
  discuss: "digest_discuss",
} as const;

const CHANNEL_ID = /^[CG][A-Z0-9]+$/;

/** `<#C123>` for a valid channel id (Slack renders the name), else nothing. */
const channelRef = (id: string) => (CHANNEL_ID.test(id) ? `<#${id}>` : "a channel");

/** "A1" linked to its thread when the permalink is known. */
function refLink(a: DigestAnalysis): string {
  const url = slackPermalink(a.permalink);
  return url ? `<${url}|${a.ref}>` : a.ref;
}

function analysisLine(a: DigestAnalysis): string {
  const lenses = a.lenses.map((l) => oneLine(l.name)).join(", ");
  return `• ${refLink(a)} ${truncate(oneLine(a.headline), 200)}${lenses ? ` _(${lenses})_` : ""}`;
}

function actionLine(a: RecurringAction): string {
  const earlier = a.earlier ? `; proposed ${a.earlier}× in earlier periods` : "";
  return `• ${truncate(oneLine(a.text), 240)} _(${refList(a.refs)}${earlier})_`;
}

/** "• 🔄 Systems thinking: 3 (↑ from 1)"; lenses have no emoji. */
const countLine = (c: Count & { emoji?: string }) =>
  `• ${c.emoji ? `${c.emoji} ` : ""}${oneLine(c.name)}: ${c.count} (${trend(c)})`;

const cites = (refs: readonly string[]) => `_(${refList(refs)})_`;

/** "1 more analysis", "3 more analyses". */
const more = (n: number, one: string, many: string) => `${n} more ${n === 1 ? one : many}`;

/** Lines under a bold title, cut to `budget` chars with a visible `…`; "" when there are none. */
function titled(title: string, lines: readonly string[], budget: number): string {
  if (lines.length === 0) return "";
  return truncate(`*${title}*\n${lines.join("\n")}`, budget);
}

/** How many items of a list the main message leaves for the thread. */
const beyond = (n: number, top: number) => Math.max(0, n - top);

/**
 * The digest as Slack messages: `main` for the channel, `more` for a thread reply under it (empty
 * when the main message already shows everything). `id` is the digest's id, carried by its buttons.
 */
export function digestMessages(digest: Digest, id: string): { main: SlackMessage; more: SlackMessage[] } {
  const title = `🔁 Retro digest · ${periodLabel(digest)}`;
  const sources = digest.sources.length > 0 ? digest.sources.map(channelRef).join(", ") : "your threads";
  const n = digest.analyses.length;
  const meta = [
    `${n} ${n === 1 ? "analysis" : "analyses"} from ${sources}`,
    ...(digest.late ? ["⏰ Posted late: lensbot was not running when this digest was due."] : []),
  ];
  if (n === 0) {
    return {
      main: {
        text: fallback(`Retro digest: no analyses in ${periodLabel(digest)}`),
        blocks: [
          header(title),
          context(meta),
          ...sections(
            `No analyses from ${sources} in this period. Type \`/lens\` with a problem, or @mention lensbot in a thread, and the next digest will have something to say.`,
          ),
        ],
      },
      more: [],
    };
  }

  const top = DIGEST_TOP;
  const lensCounts = digest.lenses.slice(0, top.lenses).map(countLine);
  const modeCounts = digest.modes.slice(0, top.modes).map(countLine);
  const retro = digest.retro;
  const blocks: KnownBlock[] = [
    header(title),
    context(meta),
    ...sections(
      titled("What was analysed", digest.analyses.slice(0, top.analyses).map(analysisLine), BUDGET.analyses),
    ),
    ...sections(
      truncate(
        [
          titled("Lenses used", lensCounts, BUDGET.counts),
          titled("Thinking modes", modeCounts, BUDGET.counts),
        ]
          .filter(Boolean)
          .join("\n\n"),
        BUDGET.counts,
      ),
    ),
  ];
  if (digest.feedback.length > 0) {
    const votes = digest.feedback
      .slice(0, top.lenses)
      .map((t) => `${oneLine(t.name)}${t.up ? ` 👍 ${t.up}` : ""}${t.down ? ` 👎 ${t.down}` : ""}`);
    blocks.push(context([truncate(`*What people found useful:* ${votes.join(" · ")}`, 600)]));
  }
  const actions = [
    titled(
      "Proposed in more than one analysis",
      digest.recurringActions.slice(0, top.actions).map(actionLine),
      BUDGET.actions / 2,
    ),
    titled(
      "Proposed before and back again (never done?)",
      digest.returningActions.slice(0, top.actions).map(actionLine),
      BUDGET.actions / 2,
    ),
  ].filter(Boolean);
  if (actions.length) blocks.push(...sections(actions.join("\n\n")));
  if (retro) {
    const body = [
      titled(
        "Patterns",
        retro.patterns.map((p) => `• ${oneLine(p.text)} ${cites(p.analyses)}`),
        BUDGET.retro / 2,
      ),
      titled(
        "Systemic themes",
        retro.themes.map((t) => `• ${oneLine(t.text)} ${cites(t.analyses)}`),
        BUDGET.retro / 2,
      ),
    ].filter(Boolean);
    blocks.push(...sections(body.join("\n\n")));
    blocks.push(
      ...sections(
        titled(
          "Questions for the retro",
          retro.questions
            .slice(0, top.questions)
            .map((q, i) => `${i + 1}. ${oneLine(q.text)} ${cites(q.analyses)}`),
          BUDGET.questions,
        ),
      ),
    );
    if (retro.source === "offline") blocks.push(context([`_${OFFLINE_RETRO_LABEL}_`]));
  }
  const lop = digest.lensOfPeriod;
  if (lop) {
    blocks.push(
      ...sections(
        truncate(
          `🔭 *Lens of the period: ${oneLine(lop.name)}*\nNobody used it, and it pulls against ${oneLine(lop.contrastsWith.name)} (${usedIn(lop.contrastsWith.count, n)}): ${oneLine(lop.why)}`,
          BUDGET.lens,
        ),
      ),
    );
  }
  const moreActions =
    beyond(digest.recurringActions.length, top.actions) + beyond(digest.returningActions.length, top.actions);
  const left = [
    beyond(n, top.analyses) && more(beyond(n, top.analyses), "analysis", "analyses"),
    beyond(digest.lenses.length, top.lenses) &&
      more(beyond(digest.lenses.length, top.lenses), "lens", "lenses"),
    beyond(digest.modes.length, top.modes) && more(beyond(digest.modes.length, top.modes), "mode", "modes"),
    moreActions && more(moreActions, "recurring action", "recurring actions"),
  ].filter((x): x is string => Boolean(x));
  if (left.length) blocks.push(context([`🧵 In the thread: ${left.join(", ")}.`]));
  blocks.push({
    type: "actions",
    block_id: "digest_actions",
    elements: [
      button("👍 Useful", DIGEST_ACTIONS.up, id),
      button("👎 Not useful", DIGEST_ACTIONS.down, id),
      button("💬 Discuss in thread", DIGEST_ACTIONS.discuss, id, "primary"),
    ],
  });
  const main = {
    text: fallback(`Retro digest: ${n} ${n === 1 ? "analysis" : "analyses"}, ${periodLabel(digest)}`),
    blocks,
  };
  return { main, more: left.length ? everything(digest) : [] };
}

/** The thread reply: every analysis, lens, mode and recurring action, over as many messages as needed. */
function everything(digest: Digest): SlackMessage[] {
  const group = (title: string, lines: string[]): KnownBlock[][] =>
    lines.length === 0
      ? []
      : [sections(`*${title}*`), ...chunk(lines, 10).map((c) => sections(c.join("\n")))];
  return paginate({
    title: "Everything in this digest",
    fallback: fallback(`Everything in the retro digest of ${periodLabel(digest)}`),
    head: [header("Everything in this digest")],
    body: [
      ...group("Analyses", digest.analyses.map(analysisLine)),
      ...group("Lenses used", digest.lenses.map(countLine)),
      ...group("Thinking modes", digest.modes.map(countLine)),
      ...group("Proposed in more than one analysis", digest.recurringActions.map(actionLine)),
      ...group("Proposed before and back again", digest.returningActions.map(actionLine)),
    ],
  });
}

function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * The message "Discuss in thread" posts under a digest: who opened the discussion and the retro's
 * questions, numbered, to answer in the thread.
 * @throws RangeError for an invalid user id (the mention is ours, never model text).
 */
export function discussionMessage(digest: Digest, userId: string): SlackMessage {
  if (!/^[UW][A-Z0-9]+$/.test(userId)) throw new RangeError(`not a Slack user id: ${JSON.stringify(userId)}`);
  const questions = digest.retro?.questions ?? [];
  const body = questions.length
    ? questions.map((q, i) => `${i + 1}. ${oneLine(q.text)} ${cites(q.analyses)}`).join("\n")
    : "What from this period do we want to change before the next one?";
  return {
    text: fallback("Retro discussion opened"),
    blocks: sections(
      `💬 <@${userId}> opened the retro discussion. Reply in this thread, one question at a time:\n${body}`,
    ),
  };
}

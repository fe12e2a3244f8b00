/**
 * Block Kit messages for lensbot's Slack thread. Pure builders: results in, message payloads out
 * (`{ text, blocks }`, ready for chat.postMessage / chat.update), no I/O and no SDK clients.
 *
 * Every builder returns an ARRAY of messages. Content is never dropped silently: long text is
 * spread over several section blocks and, when one message would break Slack's limits (50 blocks,
 * or the cumulative text budget in ./limits.ts), over several messages, each later one marked
 * "continued, part i of n". The only cuts are visible ones ending in `…` (headers, button labels,
 * the quoted problem in the root message, with a note).
 *
 * All model and user text goes through `sanitiseModelText` exactly once, including the `text`
 * fallbacks; the content mirrors the terminal rendering in src/cli/render.ts.
 */
import type { ActionsBlock, Button, KnownBlock, TableBlock } from "@slack/types";
import {
  CONSTRAINT_MARK,
  type FollowUp,
  isFullSynthesis,
  type LensAnalysis,
  type ModelSynthesis,
  type ModeSuggestion,
  OFFLINE_LABEL,
  OFFLINE_SYNTHESIS_NEEDS_MODEL,
  RUBRIC_CRITERIA,
  type Synthesis,
} from "../../pipeline/schemas.js";
import { truncate } from "../mrkdwn.js";
import {
  blocksTextLength,
  MAX_ACTION_ID,
  MAX_BUTTON_VALUE,
  MAX_MESSAGE_TEXT,
  MAX_SECTION_FIELD_TEXT,
  MAX_SECTION_TEXT,
  MAX_TABLE_CELL_TEXT,
  MAX_TABLE_ROWS,
} from "./limits.js";
import {
  bullets,
  button,
  context,
  fallback,
  header,
  oneLine,
  paginate,
  pct,
  type SlackMessage,
  s,
  sections,
  type TableGroup,
} from "./parts.js";

export type { SlackMessage } from "./parts.js";

// ---------- status ----------

export type StatusPhase = "suggesting" | "analysing" | "synthesising" | "done" | "failed";
export type LensStatus = "pending" | "running" | "done" | "failed";

/** Progress of one run, shown in a single status message that is updated in place. */
export interface StatusState {
  phase: StatusPhase;
  /** The chosen lenses, in order (empty while suggesting). */
  lenses: { id: string; name: string; status: LensStatus }[];
  /** Optional extra line, e.g. "System Boundaries failed: timed out; continuing with the rest". */
  note?: string;
}

const PHASE_LABEL: Record<StatusPhase, string> = {
  suggesting: "🧭 *Choosing thinking modes and lenses…* (step 1 of 3)",
  analysing: "🔍 *Analysing through each lens…* (step 2 of 3)",
  synthesising: "🧩 *Synthesising…* (step 3 of 3)",
  done: "✅ *Done*",
  failed: "⚠️ *Failed*",
};

/** done ✓, running …, waiting ○, failed ✗. */
const LENS_MARK: Record<LensStatus, string> = { done: "✓", running: "…", pending: "○", failed: "✗" };

/**
 * The run's status line, e.g. `Pace Layering ✓ · System Boundaries … · Leverage Points ○` under
 * the current step. Always exactly one message (it is meant for chat.update).
 */
export function statusMessage(state: StatusState): SlackMessage[] {
  const line = state.lenses.map((l) => `${oneLine(l.name)} ${LENS_MARK[l.status]}`).join(" · ");
  const body = [PHASE_LABEL[state.phase], line].filter(Boolean).join("\n");
  const blocks: KnownBlock[] = [
    { type: "section", text: { type: "mrkdwn", text: truncate(body, MAX_SECTION_TEXT) } },
  ];
  if (state.note) blocks.push(context([s(state.note)]));
  const done = state.lenses.filter((l) => l.status === "done").length;
  const progress = state.lenses.length ? `, ${done} of ${state.lenses.length} lenses done` : "";
  return [{ text: fallback(`lensbot: ${state.phase}${progress}`), blocks }];
}

// ---------- step 1: modes and lenses ----------

/**
 * The suggested thinking modes (emoji, name, match %, reason) and lenses (name, match %, reason).
 * `notes` (e.g. what was cut from the input) go in a context block; offline suggestions carry
 * {@link OFFLINE_LABEL} on every message.
 */
export function modeCard(suggestion: ModeSuggestion, notes: string[]): SlackMessage[] {
  const modes = suggestion.modes.map(
    (m) => `${s(m.emoji)} *${oneLine(m.name)}* · ${pct(m.match_score)} match\n${s(m.reason)}`,
  );
  const lenses = suggestion.lenses.map(
    (l) => `• *${oneLine(l.name)}* · ${pct(l.match_score)}: ${s(l.reason)}`,
  );
  const body: KnownBlock[][] = [
    sections(`*Thinking mode${modes.length === 1 ? "" : "s"}*\n${modes.join("\n\n")}`),
    sections(`*Lenses${suggestion.source === "chosen" ? " (chosen by you)" : ""}*\n${lenses.join("\n")}`),
  ];
  if (suggestion.note) body.unshift([context([`ℹ️ ${s(suggestion.note)}`])]);
  if (notes.length) body.push([context(notes.map((n) => `ℹ️ ${s(n)}`))]);
  const offline = suggestion.source === "offline";
  return paginate({
    title: "Thinking modes and lenses",
    fallback: fallback(
      `Suggested ${suggestion.modes.map((m) => oneLine(m.name)).join(", ")}; lenses: ${suggestion.lenses
        .map((l) => oneLine(l.name))
        .join(", ")}${offline ? " (offline)" : ""}`,
    ),
    head: [header("Thinking modes and lenses")],
    body,
    everyPage: offline ? [context([`_${OFFLINE_LABEL}_`])] : [],
  });
}

// ---------- step 2: one lens ----------

const LENS_ID = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;

/** At most this many "Apply <lens>" buttons per lens card. */
export const MAX_APPLY_BUTTONS = 3;

export interface LensCardOptions {
  /** Related lenses offered as "Apply <name>" buttons (first 3 valid, distinct, other than this lens). */
  related: { id: string; name: string }[];
  /** The run the buttons belong to; goes into each button's value. */
  runId: string;
  /** Names for lens ids in lateral connections; falls back to `related`, then to the id. */
  lensName?: (id: string) => string;
}

/** Value of the apply/feedback buttons, parsed back by the action handlers. */
export interface LensButtonValue {
  runId: string;
  lensId: string;
}

/** `action_id` of the synthesis's "Widen the view" button (value: the run id). */
export const WIDEN_ACTION = "widen_view";

/** `action_id` of the native 👍/👎 on lens cards and the synthesis. */
export const FEEDBACK_ACTION = "lens_feedback";

/** What a 👍/👎 of a card carries: the run, the card (a lens id, or "synthesis") and the vote. */
export interface FeedbackValue {
  runId: string;
  target: string;
  vote: "up" | "down";
}

/**
 * Slack's native feedback element (`feedback_buttons` in a `context_actions` block) for one card:
 * `target` is the lens id of a lens card, or "synthesis".
 */
export function feedbackBlock(runId: string, target: string): KnownBlock {
  const value = (vote: "up" | "down") => {
    const v = JSON.stringify({ runId, target, vote } satisfies FeedbackValue);
    if (v.length > MAX_BUTTON_VALUE) throw new RangeError(`feedback value too long (${v.length} chars)`);
    return v;
  };
  return {
    type: "context_actions",
    elements: [
      {
        type: "feedback_buttons",
        action_id: FEEDBACK_ACTION,
        positive_button: {
          text: { type: "plain_text", text: "👍" },
          accessibility_label: "This was useful",
          value: value("up"),
        },
        negative_button: {
          text: { type: "plain_text", text: "👎" },
          accessibility_label: "This was not useful",
          value: value("down"),
        },
      },
    ],
  };
}

/**
 * One lens's analysis. Model source: each belief (confidence %, reasoning, evidence, implications,
 * lateral connections) and the judge's quality scores in a context block. Offline source: summary,
 * the sentences of the problem that point at the lens, its best-fitting questions, pitfalls and
 * the contrasting lens, with {@link OFFLINE_LABEL} on every message. The last message ends with
 * an actions block of up to 3 `apply_lens:<lensId>` buttons (value JSON {@link LensButtonValue})
 * and the native 👍/👎 ({@link feedbackBlock}).
 */
export function lensCard(analysis: LensAnalysis, opts: LensCardOptions): SlackMessage[] {
  const name = oneLine(analysis.lens_name);
  const value = (lensId: string) => {
    const v = JSON.stringify({ runId: opts.runId, lensId } satisfies LensButtonValue);
    if (v.length > MAX_BUTTON_VALUE) throw new RangeError(`button value too long (${v.length} chars)`);
    return v;
  };

  const seen = new Set([analysis.lens_id]);
  const apply: Button[] = [];
  for (const r of opts.related) {
    if (apply.length >= MAX_APPLY_BUTTONS) break;
    const actionId = `apply_lens:${r.id}`;
    if (seen.has(r.id) || !LENS_ID.test(r.id) || actionId.length > MAX_ACTION_ID) continue;
    seen.add(r.id);
    apply.push(button(`Apply ${oneLine(r.name)}`, actionId, value(r.id)));
  }
  const actions: KnownBlock[] = [
    ...(apply.length > 0 ? [{ type: "actions", elements: apply } satisfies ActionsBlock] : []),
    feedbackBlock(opts.runId, analysis.lens_id),
  ];

  if (analysis.source === "offline") {
    const evidence =
      analysis.evidence.length > 0
        ? `*Why this lens: you wrote*\n${analysis.evidence.map((e) => `> ${oneLine(s(e.quote))}`).join("\n")}`
        : "*Why this lens:* no sentence of your text points at it directly.";
    return paginate({
      title: name,
      fallback: fallback(`${name}: your words and its questions (offline)`),
      head: [header(name)],
      body: [
        sections(`${s(analysis.summary)}\n\n${evidence}`),
        sections(`*Questions to work through*\n${bullets(analysis.questions)}`),
        sections(
          `*Watch out for*\n${bullets(analysis.pitfalls)}${
            analysis.other_side
              ? `\n\n*The other side:* _${oneLine(analysis.other_side.lens_name)}_. ${s(analysis.other_side.tension)}`
              : ""
          }`,
        ),
      ],
      everyPage: [context([`_${OFFLINE_LABEL}_`])],
      tail: actions,
    });
  }

  const nameOf = (id: string) => opts.lensName?.(id) ?? opts.related.find((r) => r.id === id)?.name ?? id;
  const q = analysis.quality;
  const quality = `Quality ${pct(q.overall)} · specificity ${pct(q.specificity)} · novelty ${pct(q.novelty)} · actionability ${pct(q.actionability)} · coherence ${pct(q.coherence)}${analysis.refined ? " · refined once" : ""}`;
  const beliefs = analysis.beliefs.map((b, i) => {
    const parts = [
      `*${i + 1}. ${oneLine(b.belief)}* · confidence ${pct(b.confidence)}`,
      `*Why:* ${s(b.reasoning)}`,
    ];
    if (b.evidence.length) parts.push(`*Evidence:*\n${bullets(b.evidence)}`);
    if (b.implications.length) parts.push(`*Implications:*\n${bullets(b.implications)}`);
    if (b.lateral_connections.length) {
      parts.push(
        `*Connects to:*\n${b.lateral_connections.map((c) => `• _${oneLine(nameOf(c.lens_id))}_: ${s(c.connection)}`).join("\n")}`,
      );
    }
    return sections(parts.join("\n"));
  });
  const n = analysis.beliefs.length;
  return paginate({
    title: name,
    fallback: fallback(`${name}: ${n} belief${n === 1 ? "" : "s"}, quality ${pct(q.overall)}`),
    head: [header(name), context([quality])],
    body: beliefs,
    tail: actions,
  });
}

// ---------- step 3: synthesis ----------

const LEVEL_MARK: Record<"high" | "medium" | "low", string> = { high: "🟢", medium: "🟡", low: "🔴" };
const IMPACT_MARK: Record<"high" | "medium" | "low", string> = { high: "🔴", medium: "🟠", low: "🟡" };
const capital = (w: string) => `${w.charAt(0).toUpperCase()}${w.slice(1)}`;

/** Names of the rubric's criteria as shown. */
const RUBRIC_LABEL: Record<(typeof RUBRIC_CRITERIA)[number], string> = {
  originality: "Originality",
  lens_relevance: "Lens relevance",
  explanation: "Explanation",
  actionability: "Actionability",
  novelty: "Novelty",
};

/** Options of the synthesis card. */
export interface SynthesisCardOptions {
  /**
   * The risks as a `table` block (in an attachment, Slack's place for tables) rather than aligned
   * sections. Default true; the publisher posts again without it where a workspace refuses tables.
   */
  tables?: boolean;
}

/** Plain text for a table cell: sanitised like all model text, on one line, within the cell cap. */
const cell = (text: string): { type: "raw_text"; text: string } => ({
  type: "raw_text",
  text: truncate(oneLine(text) || "–", MAX_TABLE_CELL_TEXT),
});

/**
 * The risks of a model synthesis: a `table` (risk, impact, mitigation) under a heading, or the
 * same content as aligned sections (one per risk: the risk with its impact, and the mitigation,
 * side by side in two fields) where tables are off.
 */
function risksPart(risks: ModelSynthesis["risks"], tables: boolean): KnownBlock[] | TableGroup {
  const title = "*Risks and mitigations*";
  if (risks.length === 0) return sections(`${title}\n_None named._`);
  if (tables && risks.length < MAX_TABLE_ROWS) {
    const table: TableBlock = {
      type: "table",
      column_settings: [{ is_wrapped: true }, { align: "left" }, { is_wrapped: true }],
      rows: [
        [cell("Risk"), cell("Impact"), cell("Mitigation")],
        ...risks.map((r) => [
          cell(r.risk),
          cell(`${IMPACT_MARK[r.impact]} ${capital(r.impact)}`),
          cell(r.mitigation),
        ]),
      ],
    };
    // A table shares its message's text budget; one too big for it becomes sections, which split.
    if (blocksTextLength([table]) <= MAX_MESSAGE_TEXT / 2)
      return { blocks: sections(`${title} (${risks.length})`), table };
  }
  const field = (text: string) => ({ type: "mrkdwn" as const, text: truncate(text, MAX_SECTION_FIELD_TEXT) });
  return [
    ...sections(title),
    ...risks.map(
      (r): KnownBlock => ({
        type: "section",
        fields: [
          field(`${IMPACT_MARK[r.impact]} *${capital(r.impact)} impact*\n${s(r.risk)}`),
          field(`*Mitigation*\n${s(r.mitigation)}`),
        ],
      }),
    ),
  ];
}

/**
 * The synthesis. A model synthesis opens with the recommendation and the confidence (level,
 * justification, what is near certain and what is uncertain), then the rationale, the reframe and
 * root cause, why each earlier attempt fell short (one line each), the options with their chance
 * of reaching the target, the breakthrough path beside the feasibility check (✅/⚠️/❌/❔ per
 * constraint), the risks (a `table` in an attachment, or aligned sections with `tables: false`),
 * actions by horizon, insights by lens, trade-offs, validation and the judge's rubric (0-10 each,
 * with its reasoning). A synthesis stored before those parts existed shows what it has. Offline
 * source: the lenses in the order to look at them, the modes left out, the lens that widens the
 * view, the question to settle first, each attempt with the lens questions that probe it, and a
 * note that a recommendation, confidence, risks, chances and scores need the model, with
 * {@link OFFLINE_LABEL} on every message. `lensName` maps lens ids to display names. With `runId`,
 * the last message ends with a "Widen the view" button ({@link WIDEN_ACTION}, value the run id)
 * and the native 👍/👎 for the synthesis.
 */
export function synthesisCard(
  synthesis: Synthesis,
  lensName: (id: string) => string,
  runId?: string,
  options: SynthesisCardOptions = {},
): SlackMessage[] {
  const tail: KnownBlock[] = runId
    ? [
        { type: "actions", elements: [button("🔭 Widen the view", WIDEN_ACTION, runId)] },
        feedbackBlock(runId, "synthesis"),
      ]
    : [];
  if (synthesis.source === "offline") {
    const order = synthesis.look_first.map((l, i) => `${i + 1}. *${oneLine(l.lens_name)}*: ${s(l.because)}`);
    const more: string[] = [];
    if (synthesis.missing_modes.length > 0) {
      more.push(`*Not yet looked at:* ${synthesis.missing_modes.map((m) => oneLine(m.name)).join(", ")}`);
    }
    if (synthesis.widen) {
      more.push(
        `*To widen the view:* _${oneLine(synthesis.widen.lens_name)}_, because ${s(synthesis.widen.because)}`,
      );
    }
    const attempts = (synthesis.attempts ?? []).map((a) =>
      sections(
        `• *${oneLine(a.attempt)}*${a.effect ? ` (${oneLine(a.effect)})` : ""}\n${a.probes
          .map(
            (p) => `    _${oneLine(p.lens_name)}_ ${p.kind === "pitfall" ? "warns" : "asks"}: ${s(p.text)}`,
          )
          .join("\n")}`,
      ),
    );
    return paginate({
      title: "Where to start",
      fallback: fallback(
        `Where to start (offline): ${synthesis.look_first.map((l) => oneLine(l.lens_name)).join(", ")}`,
      ),
      head: [header("Where to start")],
      body: [
        sections(`*Look first at*\n${order.join("\n")}`),
        ...(more.length > 0 ? [sections(more.join("\n"))] : []),
        sections(`*Settle this first:* ${s(synthesis.settle_first)}`),
        ...(attempts.length > 0
          ? [
              sections(
                "*What was tried, and what the lenses would ask about it* (questions from the catalogue, not answers):",
              ),
              ...attempts,
            ]
          : []),
        [context([`ℹ️ ${s(OFFLINE_SYNTHESIS_NEEDS_MODEL)}`])],
      ],
      everyPage: [context([`_${OFFLINE_LABEL}_`])],
      tail,
    });
  }

  const name = (id: string) => oneLine(lensName(id));
  const full = isFullSynthesis(synthesis) ? synthesis : undefined;
  const body: (KnownBlock[] | TableGroup)[] = [];
  if (full) {
    const c = full.confidence;
    body.push(
      sections(
        `💡 *Recommendation*\n${s(full.recommendation.summary)}\n\n${LEVEL_MARK[c.level]} *Confidence: ${c.level}*. ${s(c.justification)}`,
      ),
    );
    const known: string[] = [];
    if (c.near_certain.length) known.push(`_Near certain_\n${bullets(c.near_certain)}`);
    if (c.uncertain.length)
      known.push(`_Uncertain_\n${c.uncertain.map((u) => `• ${s(u.point)}: ${s(u.why)}`).join("\n")}`);
    body.push(sections(`*Why this first*\n${bullets(full.recommendation.rationale)}`));
    if (known.length) body.push(sections(known.join("\n")));
  }
  body.push(
    sections(`*Reframe*\n${s(synthesis.reframe)}`),
    sections(
      `*Root cause* (through _${name(synthesis.root_cause.lens_id)}_)\n${s(synthesis.root_cause.statement)}`,
    ),
  );
  if (full) {
    body.push(
      sections(
        full.attempts.length > 0
          ? `*Why each earlier attempt fell short*\n${full.attempts
              .map((a) => `• *${oneLine(a.attempt)}*: ${s(a.fell_short_because)} (_${name(a.lens_id)}_)`)
              .join("\n")}`
          : "*Why earlier attempts fell short*\n_The problem names no earlier attempts._",
      ),
      sections(
        `*Options and their chance of reaching the target*\n${full.options
          .map((o) => `• *${oneLine(o.option)}*: ${pct(o.chance_of_target)}. ${s(o.reasoning)}`)
          .join("\n")}`,
      ),
    );
    const path = full.breakthrough_path;
    body.push(
      sections(
        `*Breakthrough path*\n${path.steps
          .map((st, i) => `${i + 1}. ${s(st.step)} · _${oneLine(st.duration)}_ → ${s(st.outcome)}`)
          .join("\n")}\n*Expected outcome:* ${s(path.expected_outcome)}`,
      ),
    );
  } else {
    body.push(sections(`*Why earlier attempts fell short*\n${s(synthesis.why_earlier_attempts_fell_short)}`));
  }
  if (synthesis.constraint_check.length) {
    const rows = synthesis.constraint_check.map(
      (c) =>
        `${CONSTRAINT_MARK[c.status]} *${oneLine(c.constraint)}* (${c.status.replace("_", " ")}): ${s(c.note)}`,
    );
    body.push(sections(`*${full ? "Feasibility check" : "Constraint check"}*\n${rows.join("\n")}`));
  }
  if (full) body.push(risksPart(full.risks, options.tables ?? true));

  const horizons = [
    ["Immediate", synthesis.actions.immediate],
    ["Short term", synthesis.actions.short_term],
    ["Long term", synthesis.actions.long_term],
  ] as const;
  const withActions = horizons.filter(([, items]) => items.length > 0);
  if (withActions.length === 0) body.push(sections("*Actions*\n_No actions proposed._"));
  withActions.forEach(([label, items], i) => {
    const numbered = items.map((a, j) => `${j + 1}. ${s(a)}`).join("\n");
    body.push(sections(`${i === 0 ? "*Actions*\n" : ""}_${label}_\n${numbered}`));
  });

  const byLens = new Map<string, string[]>();
  for (const i of synthesis.insights) byLens.set(i.lens_id, [...(byLens.get(i.lens_id) ?? []), i.insight]);
  const insightGroups = [...byLens].map(([id, items]) => `_${name(id)}_\n${bullets(items)}`);
  body.push(sections(`*Insights by lens*\n${insightGroups.join("\n")}`));

  if (synthesis.trade_offs.length) body.push(sections(`*Trade-offs*\n${bullets(synthesis.trade_offs)}`));
  if (synthesis.validation.length) body.push(sections(`*How to validate*\n${bullets(synthesis.validation)}`));
  const q = full?.quality;
  if (q) {
    const lines = RUBRIC_CRITERIA.map(
      (k) => `• ${RUBRIC_LABEL[k]} ${q.rubric[k].score}/10: ${s(q.rubric[k].reasoning)}`,
    );
    body.push(
      sections(
        `*Quality of this synthesis* · ${pct(q.overall)} overall${q.refined ? " · refined once" : ""}\n${lines.join("\n")}`,
      ),
    );
  }

  const headline = full
    ? `Synthesis: ${oneLine(full.recommendation.summary)} (confidence ${full.confidence.level})`
    : `Synthesis: ${oneLine(synthesis.reframe)}`;
  return paginate({
    title: "Synthesis",
    fallback: fallback(headline),
    head: [header("Synthesis")],
    body,
    tail,
  });
}

// ---------- follow-up ----------

/**
 * The answer to a follow-up question asked in a thread after its analysis. Model source: the
 * answer, then what each lens of the run says about it. Offline source: for each lens of the run,
 * its questions that bear on the follow-up, with {@link OFFLINE_LABEL}.
 */
export function followUpCard(
  answer: FollowUp,
  question: string,
  lensName: (id: string) => string,
): SlackMessage[] {
  const asked = `_You asked:_ ${truncate(oneLine(question), 300)}`;
  if (answer.source === "offline") {
    return paginate({
      title: "Follow-up",
      fallback: fallback(
        `Follow-up: questions from ${answer.through.map((t) => oneLine(t.lens_name)).join(", ")}`,
      ),
      head: [header("Follow-up"), context([asked])],
      body: answer.through.map((t) =>
        sections(`*${oneLine(t.lens_name)}* would ask:\n${bullets(t.questions)}`),
      ),
      everyPage: [context([`_${OFFLINE_LABEL}_`])],
    });
  }
  return paginate({
    title: "Follow-up",
    fallback: fallback(`Follow-up: ${oneLine(answer.answer)}`),
    head: [header("Follow-up"), context([asked])],
    body: [
      sections(s(answer.answer)),
      sections(
        `*Through the lenses*\n${answer.through.map((t) => `• _${oneLine(lensName(t.lens_id))}_: ${s(t.point)}`).join("\n")}`,
      ),
    ],
  });
}

// ---------- errors ----------

/**
 * A failed run: a plain explanation, the reference id to quote when reporting it, and a Retry
 * button (action_id `retry_analysis`, value = the reference id, unsanitised because it is not shown).
 */
export function errorCard(err: { referenceId: string; message: string }): SlackMessage[] {
  if (!err.referenceId || err.referenceId.length > MAX_BUTTON_VALUE) {
    throw new RangeError("referenceId must be 1-2000 characters");
  }
  const ref = s(err.referenceId);
  return [
    {
      text: fallback(`lensbot could not finish this analysis (reference ${ref})`),
      blocks: [
        ...sections(`⚠️ *lensbot could not finish this analysis.*\n${s(err.message)}`),
        context([`Reference: \`${ref}\` (quote it if you report this)`]),
        { type: "actions", elements: [button("Retry", "retry_analysis", err.referenceId, "primary")] },
      ],
    },
  ];
}

// ---------- the thread's root message ----------

const SLACK_USER_ID = /^[UW][A-Z0-9]+$/;
/** Sanitised characters of the problem quoted in the root message before it is cut with `…`. */
export const ROOT_PROBLEM_CHARS = 2500;

/**
 * The message that opens a `/lens` thread: who asked (`<@USERID>`, a real mention because the id is
 * ours and validated, never model text) and the problem as a block quote, shortened with `…` and a
 * note when longer than {@link ROOT_PROBLEM_CHARS}. Throws RangeError for an invalid user id.
 */
export function rootMessage(input: { userId: string; problem: string }): SlackMessage[] {
  if (!SLACK_USER_ID.test(input.userId))
    throw new RangeError(`not a Slack user id: ${JSON.stringify(input.userId)}`);
  const mention = `<@${input.userId}>`;
  const full = s(input.problem.trim());
  const shown = truncate(full || "(no text)", ROOT_PROBLEM_CHARS);
  const quoted = shown
    .split("\n")
    .map((l) => (l.trim() ? `> ${l}` : ">"))
    .join("\n");
  const blocks: KnownBlock[] = [
    ...sections(`🔎 ${mention} asked lensbot to look at this:`),
    ...sections(quoted),
  ];
  if (shown.length < full.length) {
    blocks.push(
      context([
        `_Shortened for display: about the first ${shown.length - 1} of ${full.length} characters are quoted._`,
      ]),
    );
  }
  return [{ text: fallback(`${mention} asked lensbot: ${oneLine(input.problem)}`), blocks }];
}

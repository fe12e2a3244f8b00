import type { KnownBlock } from "@slack/types";
import { describe, expect, it } from "vitest";
import type {
  Belief,
  LegacyModelSynthesis,
  LensAnalysis,
  ModeSuggestion,
  Synthesis,
} from "../../src/pipeline/schemas.js";
import { OFFLINE_LABEL, OFFLINE_SYNTHESIS_NEEDS_MODEL } from "../../src/pipeline/schemas.js";
import {
  errorCard,
  lensCard,
  modeCard,
  ROOT_PROBLEM_CHARS,
  rootMessage,
  type SlackMessage,
  statusMessage,
  synthesisCard,
} from "../../src/slack/blocks/cards.js";
import {
  blocksTextLength,
  checkBlockKitLimits,
  MAX_BLOCKS_PER_MESSAGE,
  MAX_MESSAGE_TEXT,
} from "../../src/slack/blocks/limits.js";
import { fullName, fullSynthesis } from "../support/synthesis.js";

// ---------- helpers ----------

type Obj = Record<string, unknown>;

/** Every `text` string in a message's blocks, in order. */
function texts(blocks: readonly unknown[]): string[] {
  const out: string[] = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === "object") {
      for (const [k, val] of Object.entries(v)) {
        if (k === "text" && typeof val === "string") out.push(val);
        else walk(val);
      }
    }
  };
  walk(blocks);
  return out;
}

/** All visible text of a set of messages, fallbacks included. */
const allText = (messages: readonly SlackMessage[]) =>
  messages.flatMap((m) => [m.text, ...texts(m.blocks)]).join("\n");

/** Blocks' text joined with spaces, so words split over sections or messages can be searched. */
const flatText = (messages: readonly SlackMessage[]) =>
  messages
    .flatMap((m) => texts(m.blocks))
    .join(" ")
    .replace(/\s+/g, " ");

function buttons(message: SlackMessage): Obj[] {
  return message.blocks
    .filter((b): b is Extract<KnownBlock, { type: "actions" }> => b.type === "actions")
    .flatMap((b) => b.elements as unknown as Obj[]);
}

/** The native feedback element of a message (in its context_actions block), if any. */
function feedbackOf(message: SlackMessage): Obj | undefined {
  const block = message.blocks.find((b) => b.type === "context_actions") as { elements?: Obj[] } | undefined;
  return block?.elements?.find((e) => e.type === "feedback_buttons");
}

/** Every message is within Slack's limits and carries a non-empty, safe fallback. */
function expectValid(messages: readonly SlackMessage[], allowedMention?: string) {
  expect(messages.length).toBeGreaterThan(0);
  for (const m of messages) {
    expect(checkBlockKitLimits(m)).toEqual([]);
    expect(m.text.trim()).not.toBe("");
    let visible = [m.text, ...texts(m.blocks)].join("\n");
    if (allowedMention) visible = visible.replaceAll(allowedMention, "");
    expect(visible).not.toMatch(/<[!@#]|<https?:/);
    expect(visible).not.toMatch(/@(here|channel|everyone)\b/i);
  }
}

const section = (text: string): KnownBlock => ({ type: "section", text: { type: "mrkdwn", text } });
const btn = (text: string, action_id: string) => ({
  type: "button",
  text: { type: "plain_text", text },
  action_id,
  value: "v",
});

/** Text that tries every trick: mentions, broadcasts, a disguised link and a bare URL. */
const HOSTILE =
  "<!channel> <!here|here> <@U123> <#C1|x> <https://evil.example|click> @here see https://phish.example/login";

const words = (n: number, seed: string) =>
  Array.from({ length: n }, (_, i) => `${seed}${i % 10}`)
    .join(" ")
    .slice(0, n);

// ---------- checkBlockKitLimits ----------

describe("checkBlockKitLimits", () => {
  it("accepts a valid message", () => {
    expect(
      checkBlockKitLimits({
        text: "fallback",
        blocks: [
          { type: "header", text: { type: "plain_text", text: "Title" } },
          section("hello"),
          { type: "divider" },
          { type: "context", elements: [{ type: "mrkdwn", text: "note" }] },
          { type: "actions", elements: [btn("Go", "go"), btn("Stop", "stop")] },
        ],
      }),
    ).toEqual([]);
  });

  it("catches 51 blocks", () => {
    const blocks = Array.from({ length: 51 }, () => ({ type: "divider" }));
    expect(checkBlockKitLimits({ text: "t", blocks })).toEqual([
      expect.stringContaining("51 blocks; max 50"),
    ]);
    expect(checkBlockKitLimits({ text: "t", blocks: blocks.slice(1) })).toEqual([]);
  });

  it("catches a 3,001-char section", () => {
    expect(checkBlockKitLimits({ text: "t", blocks: [section("x".repeat(3001))] })).toEqual([
      "blocks[0] (section): text is 3001 chars; max 3000",
    ]);
    expect(checkBlockKitLimits({ text: "t", blocks: [section("x".repeat(3000))] })).toEqual([]);
  });

  it("catches a 151-char header, and a header that is not plain_text", () => {
    const header = (text: string, type = "plain_text") => ({ type: "header", text: { type, text } });
    expect(checkBlockKitLimits({ text: "t", blocks: [header("h".repeat(151))] })).toEqual([
      "blocks[0] (header): text is 151 chars; max 150",
    ]);
    expect(checkBlockKitLimits({ text: "t", blocks: [header("h".repeat(150))] })).toEqual([]);
    expect(checkBlockKitLimits({ text: "t", blocks: [header("h", "mrkdwn")] })).toEqual([
      "blocks[0] (header): text type must be plain_text",
    ]);
  });

  it("catches 11 context elements", () => {
    const context = (n: number) => ({
      type: "context",
      elements: Array.from({ length: n }, (_, i) => ({ type: "mrkdwn", text: `e${i}` })),
    });
    expect(checkBlockKitLimits({ text: "t", blocks: [context(11)] })).toEqual([
      "blocks[0] (context): 11 elements; max 10",
    ]);
    expect(checkBlockKitLimits({ text: "t", blocks: [context(10)] })).toEqual([]);
  });

  it("catches a 76-char button label, in actions and as a section accessory", () => {
    expect(
      checkBlockKitLimits({ text: "t", blocks: [{ type: "actions", elements: [btn("b".repeat(76), "a")] }] }),
    ).toEqual(["blocks[0] (actions) elements[0] (button): text is 76 chars; max 75"]);
    expect(
      checkBlockKitLimits({ text: "t", blocks: [{ ...section("s"), accessory: btn("b".repeat(76), "a") }] }),
    ).toEqual(["blocks[0] (section) accessory (button): text is 76 chars; max 75"]);
    expect(
      checkBlockKitLimits({ text: "t", blocks: [{ type: "actions", elements: [btn("b".repeat(75), "a")] }] }),
    ).toEqual([]);
  });

  it("catches long and duplicate action_ids and block_ids", () => {
    const problems = checkBlockKitLimits({
      text: "t",
      blocks: [
        {
          type: "actions",
          block_id: "k".repeat(256),
          elements: [btn("a", "x".repeat(256)), btn("b", "dup")],
        },
        { type: "actions", block_id: "same", elements: [btn("c", "dup")] },
        { type: "divider", block_id: "same" },
      ],
    });
    expect(problems).toEqual([
      "blocks[0] (actions): block_id is 256 chars; max 255",
      "blocks[0] (actions) elements[0]: action_id is 256 chars; max 255",
      "blocks[1] (actions) elements[0]: duplicate action_id dup",
      "blocks[2] (divider): duplicate block_id same",
    ]);
  });

  it("catches a missing fallback text, empty sections and over-long button values", () => {
    expect(checkBlockKitLimits({ blocks: [section("x")] })).toEqual([
      expect.stringContaining("text: missing fallback text"),
    ]);
    expect(checkBlockKitLimits({ text: "t", blocks: [section("")] })).toEqual([
      "blocks[0] (section): text is empty",
    ]);
    expect(checkBlockKitLimits({ text: "t", blocks: [{ type: "section" }] })).toEqual([
      "blocks[0] (section): needs text or fields",
    ]);
    const long = { ...btn("ok", "a"), value: "v".repeat(2001) };
    expect(checkBlockKitLimits({ text: "t", blocks: [{ type: "actions", elements: [long] }] })).toEqual([
      expect.stringContaining("value must be a string of at most 2000"),
    ]);
    expect(checkBlockKitLimits({ text: "x".repeat(4001) })).toEqual([expect.stringContaining("4001 chars")]);
    expect(checkBlockKitLimits({})).toEqual(["message: has neither text nor blocks"]);
  });

  it("catches blocks whose text adds up past the per-message budget", () => {
    const blocks = Array.from({ length: 4 }, () => section("y".repeat(2600)));
    expect(blocksTextLength(blocks)).toBe(10_400);
    expect(checkBlockKitLimits({ text: "t", blocks })).toEqual([
      expect.stringContaining("msg_blocks_too_long"),
    ]);
  });

  it("reports every violation at once", () => {
    const blocks: unknown[] = [
      { type: "header", text: { type: "plain_text", text: "h".repeat(151) } },
      section("x".repeat(3001)),
      { type: "context", elements: Array.from({ length: 11 }, () => ({ type: "mrkdwn", text: "c" })) },
      { type: "actions", elements: [btn("b".repeat(76), "a")] },
      ...Array.from({ length: 47 }, () => ({ type: "divider" })),
    ];
    const problems = checkBlockKitLimits({ text: "t", blocks });
    expect(problems).toHaveLength(5);
    expect(problems.join("\n")).toMatch(/51 blocks/);
    expect(problems.join("\n")).toMatch(/3001 chars/);
    expect(problems.join("\n")).toMatch(/151 chars/);
    expect(problems.join("\n")).toMatch(/11 elements/);
    expect(problems.join("\n")).toMatch(/76 chars/);
  });
});

// ---------- statusMessage ----------

describe("statusMessage", () => {
  it("shows the step and each lens's status on one line", () => {
    const messages = statusMessage({
      phase: "analysing",
      lenses: [
        { id: "pace-layering", name: "Pace Layering", status: "done" },
        { id: "system-boundaries", name: "System Boundaries", status: "running" },
        { id: "leverage-points", name: "Leverage Points", status: "pending" },
        { id: "feedback-loops", name: "Feedback Loops", status: "failed" },
      ],
      note: "Feedback Loops failed: timed out <!here>",
    });
    expect(messages).toHaveLength(1);
    expectValid(messages);
    const text = allText(messages);
    expect(text).toContain("Pace Layering ✓ · System Boundaries … · Leverage Points ○ · Feedback Loops ✗");
    expect(text).toContain("Analysing");
    expect(text).toContain("step 2 of 3");
    expect(text).toContain("&lt;!here&gt;");
    expect(messages[0]?.text).toBe("lensbot: analysing, 1 of 4 lenses done");
    expect(messages[0]?.blocks.map((b) => b.type)).toEqual(["section", "context"]);
  });

  it.each(["suggesting", "analysing", "synthesising", "done", "failed"] as const)(
    "renders phase %s",
    (phase) => {
      const messages = statusMessage({ phase, lenses: [] });
      expectValid(messages);
      expect(messages[0]?.text).toContain(phase);
      expect(messages[0]?.blocks).toHaveLength(1);
    },
  );
});

// ---------- modeCard ----------

const suggestion = (source: "model" | "offline"): ModeSuggestion => ({
  source,
  modes: [
    {
      id: "systems",
      name: "Systems",
      emoji: "🕸️",
      match_score: 0.82,
      reason: `Several parts interact. ${HOSTILE}`,
    },
    {
      id: "decisions",
      name: "Decisions",
      emoji: "⚖️",
      match_score: 0.4,
      reason: "There is a choice to make.",
    },
  ],
  lenses: [
    {
      id: "pace-layering",
      name: "Pace Layering",
      match_score: 0.91,
      reason: "Layers change at different speeds.",
    },
    {
      id: "leverage-points",
      name: "Leverage Points",
      match_score: 0.655,
      reason: "Small changes, big effects.",
    },
  ],
});

describe("modeCard", () => {
  it("lists modes with emoji and match %, and lenses with score and reason", () => {
    const messages = modeCard(suggestion("model"), ["Problem shortened to 4,000 characters."]);
    expectValid(messages);
    expect(messages).toHaveLength(1);
    const [first] = messages;
    expect(first?.blocks[0]).toMatchObject({ type: "header", text: { type: "plain_text" } });
    const text = allText(messages);
    expect(text).toContain("🕸️ *Systems* · 82% match");
    expect(text).toContain("⚖️ *Decisions* · 40% match");
    expect(text).toContain("*Pace Layering* · 91%: Layers change at different speeds.");
    expect(text).toContain("*Leverage Points* · 66%");
    expect(text).toContain("Problem shortened to 4,000 characters.");
    expect(text).not.toContain(OFFLINE_LABEL);
    expect(first?.text).toContain("Systems");
    expect(first?.text).toContain("Pace Layering");
  });

  it("labels offline suggestions in a context block", () => {
    const messages = modeCard(suggestion("offline"), []);
    expectValid(messages);
    const contexts = messages[0]?.blocks.filter((b) => b.type === "context") ?? [];
    expect(texts(contexts).join("\n")).toContain(OFFLINE_LABEL);
    expect(messages[0]?.text).toContain("offline");
  });
});

// ---------- lensCard ----------

const BELIEF_OPENINGS = [
  "Caching hides the slow layer",
  "Deploy cadence outpaces schema change",
  "Ownership stops at the service boundary",
  "Alert fatigue masks the real signal",
  "Quarterly planning freezes fast layers",
];

function belief(i: number, reasoningChars: number): Belief {
  return {
    belief: `${BELIEF_OPENINGS[i]} in this system`,
    confidence: 0.6 + i * 0.05,
    reasoning: `${words(reasoningChars - 12, `r${i}w`)} endmark${i}`,
    evidence: [`Evidence ${i}a quoted from the thread`, `Evidence ${i}b`],
    lateral_connections: [{ lens_id: "feedback-loops", connection: `Connection ${i} to loops` }],
    implications: [`Implication ${i} for the team`],
  };
}

const modelAnalysis = (beliefs: Belief[]): LensAnalysis => ({
  source: "model",
  lens_id: "pace-layering",
  lens_name: "Pace Layering",
  beliefs,
  quality: { specificity: 0.8, novelty: 0.7, actionability: 0.9, coherence: 0.85, overall: 0.82 },
  refined: true,
});

const related = [
  { id: "pace-layering", name: "Pace Layering" },
  { id: "system-boundaries", name: "System Boundaries" },
  { id: "system-boundaries", name: "System Boundaries (duplicate)" },
  { id: "Not A Slug", name: "Broken" },
  { id: "leverage-points", name: "Leverage Points" },
  { id: "feedback-loops", name: "Feedback Loops" },
  { id: "second-order-effects", name: "Second-Order Effects" },
];

describe("lensCard (model)", () => {
  it("shows each belief with confidence, reasoning, evidence, implications and connections, plus quality", () => {
    const messages = lensCard(modelAnalysis([belief(0, 200), belief(1, 200)]), { related, runId: "run-1" });
    expectValid(messages);
    expect(messages).toHaveLength(1);
    const [m] = messages;
    expect(m?.blocks[0]).toEqual({
      type: "header",
      text: { type: "plain_text", text: "Pace Layering", emoji: true },
    });
    expect(m?.blocks[1]?.type).toBe("context");
    expect(texts([m?.blocks[1]])[0]).toBe(
      "Quality 82% · specificity 80% · novelty 70% · actionability 90% · coherence 85% · refined once",
    );
    const text = allText(messages);
    expect(text).toContain("*1. Caching hides the slow layer in this system* · confidence 60%");
    expect(text).toContain("*2. Deploy cadence outpaces schema change in this system* · confidence 65%");
    expect(text).toContain("*Why:* r0w0");
    expect(text).toContain("• Evidence 0a quoted from the thread");
    expect(text).toContain("• Implication 1 for the team");
    expect(text).toContain("• _Feedback Loops_: Connection 0 to loops");
    expect(m?.text).toBe("Pace Layering: 2 beliefs, quality 82%");
  });

  it("5 beliefs with 3,000-char reasoning each: split over messages, all within limits, none lost", () => {
    const analysis = modelAnalysis([0, 1, 2, 3, 4].map((i) => belief(i, 3000)));
    const messages = lensCard(analysis, { related, runId: "run-1" });
    expectValid(messages);
    expect(messages.length).toBeGreaterThan(1);
    for (const m of messages) {
      expect(m.blocks.length).toBeLessThanOrEqual(MAX_BLOCKS_PER_MESSAGE);
      expect(blocksTextLength(m.blocks)).toBeLessThanOrEqual(MAX_MESSAGE_TEXT);
    }
    const flat = flatText(messages);
    BELIEF_OPENINGS.forEach((opening, i) => {
      expect(flat).toContain(opening);
      // The whole reasoning survives: its last word is there, and every word in order.
      expect(flat).toContain(`endmark${i}`);
      expect(flat).toContain(analysis.source === "model" ? (analysis.beliefs[i]?.reasoning ?? "?") : "?");
    });
    // Later messages say they continue, and only the last carries the buttons.
    messages.slice(1).forEach((m, i) => {
      expect(texts([m.blocks[0]])[0]).toContain(`continued, part ${i + 2} of ${messages.length}`);
      expect(m.text).toContain("continued");
    });
    for (const m of messages.slice(0, -1)) expect(buttons(m)).toEqual([]);
    expect(buttons(messages.at(-1) as SlackMessage).length).toBeGreaterThan(0);
  });

  it("offers up to 3 distinct related lenses as Apply buttons, plus Slack's native 👍/👎", () => {
    const [m] = lensCard(modelAnalysis([belief(0, 100)]), { related, runId: "run-42" });
    const els = buttons(m as SlackMessage);
    expect(els.map((e) => e.action_id)).toEqual([
      "apply_lens:system-boundaries",
      "apply_lens:leverage-points",
      "apply_lens:feedback-loops",
    ]);
    expect(els.map((e) => (e.text as Obj).text)).toEqual([
      "Apply System Boundaries",
      "Apply Leverage Points",
      "Apply Feedback Loops",
    ]);
    expect(els.map((e) => JSON.parse(e.value as string))).toEqual([
      { runId: "run-42", lensId: "system-boundaries" },
      { runId: "run-42", lensId: "leverage-points" },
      { runId: "run-42", lensId: "feedback-loops" },
    ]);
    const feedback = feedbackOf(m as SlackMessage) as Record<string, Obj>;
    expect(feedback.action_id).toBe("lens_feedback");
    expect(JSON.parse(feedback.positive_button?.value as string)).toEqual({
      runId: "run-42",
      target: "pace-layering",
      vote: "up",
    });
    expect(JSON.parse(feedback.negative_button?.value as string)).toEqual({
      runId: "run-42",
      target: "pace-layering",
      vote: "down",
    });
    expect(m?.blocks.at(-1)?.type).toBe("context_actions");
    expectValid([m as SlackMessage]);
  });

  it("still has feedback with no related lenses, and truncates long button labels with …", () => {
    const long = { id: "long-name", name: "L".repeat(100) };
    const [m] = lensCard(modelAnalysis([belief(0, 100)]), { related: [long], runId: "r" });
    const els = buttons(m as SlackMessage);
    expect(els.map((e) => e.action_id)).toEqual(["apply_lens:long-name"]);
    expect(feedbackOf(m as SlackMessage)?.action_id).toBe("lens_feedback");
    const label = (els[0]?.text as Obj | undefined)?.text as string;
    expect(label.length).toBeLessThanOrEqual(75);
    expect(label.endsWith("…")).toBe(true);
    expectValid([m as SlackMessage]);
  });

  it("sanitises model text everywhere, and names connections through lensName when given", () => {
    const hostile: Belief = {
      belief: `Trust me ${HOSTILE}`,
      confidence: 0.5,
      reasoning: HOSTILE,
      evidence: [HOSTILE],
      lateral_connections: [{ lens_id: "unknown-lens", connection: HOSTILE }],
      implications: [HOSTILE],
    };
    const messages = lensCard(modelAnalysis([hostile]), {
      related: [],
      runId: "r",
      lensName: (id) => `Name of ${id}`,
    });
    expectValid(messages);
    const text = allText(messages);
    expect(text).toContain("&lt;!channel&gt;");
    expect(text).toContain("&lt;hxxps://evil[.]example|click&gt;");
    expect(text).toContain("hxxps://phish[.]example/login");
    expect(text).toContain("@\u200Dhere");
    expect(text).toContain("_Name of unknown-lens_");
  });
});

describe("lensCard (offline)", () => {
  const offline: LensAnalysis = {
    source: "offline",
    lens_id: "pace-layering",
    lens_name: "Pace Layering",
    summary: "Different parts of a system change at different speeds.",
    evidence: [
      { quote: "The schema changes every sprint but the mobile app ships twice a year.", matched: [] },
    ],
    questions: ["Which layer is fastest?", "Which layer is slowest?", "Where do they grind?"],
    pitfalls: ["Forcing the slow layer to move fast."],
    other_side: {
      lens_id: "explore-exploit",
      lens_name: "Explore vs Exploit",
      tension: "Pace Layering protects the slow layers; Explore vs Exploit asks when to disturb them.",
    },
  };

  it("shows summary, the quoted evidence, questions, pitfalls, the other side and the offline label, with buttons", () => {
    const messages = lensCard(offline, { related, runId: "run-7" });
    expectValid(messages);
    expect(messages).toHaveLength(1);
    const text = allText(messages);
    expect(text).toContain("Different parts of a system change at different speeds.");
    expect(text).toContain(
      "*Questions to work through*\n• Which layer is fastest?\n• Which layer is slowest?",
    );
    expect(text).toContain("*Watch out for*\n• Forcing the slow layer to move fast.");
    expect(text).toContain("> The schema changes every sprint but the mobile app ships twice a year.");
    expect(text).toContain("*The other side:* _Explore vs Exploit_.");
    const contexts = messages[0]?.blocks.filter((b) => b.type === "context") ?? [];
    expect(texts(contexts).join("\n")).toContain(OFFLINE_LABEL);
    expect(messages[0]?.text).toContain("offline");
    expect(feedbackOf(messages[0] as SlackMessage)?.action_id).toBe("lens_feedback");
    expect(messages[0]?.blocks.at(-1)?.type).toBe("context_actions");
  });
});

// ---------- synthesisCard ----------

const lensName = (id: string) =>
  ({ "pace-layering": "Pace Layering", "leverage-points": "Leverage Points" })[id] ?? id;

function modelSynthesis(actionsPerHorizon: number, actionChars = 40): Synthesis {
  const actions = (h: string) =>
    Array.from({ length: actionsPerHorizon }, (_, i) => `${h}-action-${i} ${words(actionChars, "do")}`);
  return {
    source: "model",
    reframe: "This is a coordination problem, not a capacity problem.",
    root_cause: { statement: "Teams release on different clocks.", lens_id: "pace-layering" },
    insights: [
      { lens_id: "pace-layering", insight: "Schema changes are the slow layer." },
      { lens_id: "leverage-points", insight: "Release rules are a high-leverage point." },
      { lens_id: "pace-layering", insight: "Fast layers need a buffer." },
    ],
    actions: { immediate: actions("now"), short_term: actions("soon"), long_term: actions("later") },
    trade_offs: ["Slower releases for the slow layer."],
    validation: ["Rollbacks per month fall below 2 within a quarter."],
    why_earlier_attempts_fell_short: "They sped everything up at once.",
    constraint_check: [
      { constraint: "No new headcount", status: "respected", note: "Uses existing teams." },
      { constraint: "Ship by Q3", status: "at_risk", note: "Depends on the migration." },
      { constraint: "No downtime", status: "violated", note: "Cutover needs 5 minutes." },
      { constraint: "Budget", status: "unknown", note: "Not discussed." },
    ],
  };
}

describe("synthesisCard (model)", () => {
  it("has every section: reframe, root cause, insights by lens, actions by horizon, and the rest", () => {
    const messages = synthesisCard(modelSynthesis(2), lensName);
    expectValid(messages);
    expect(messages).toHaveLength(1);
    const text = allText(messages);
    expect(messages[0]?.blocks[0]).toMatchObject({ type: "header", text: { text: "Synthesis" } });
    expect(text).toContain("*Reframe*\nThis is a coordination problem");
    expect(text).toContain("*Root cause* (through _Pace Layering_)\nTeams release on different clocks.");
    expect(text).toContain(
      "*Insights by lens*\n_Pace Layering_\n• Schema changes are the slow layer.\n• Fast layers need a buffer.\n_Leverage Points_\n• Release rules",
    );
    expect(text).toContain("*Actions*\n_Immediate_\n1. now-action-0");
    expect(text).toContain("_Short term_\n1. soon-action-0");
    expect(text).toContain("_Long term_\n1. later-action-0");
    expect(text).toContain("*Trade-offs*\n• Slower releases");
    expect(text).toContain("*How to validate*\n• Rollbacks per month");
    expect(text).toContain("*Why earlier attempts fell short*\nThey sped everything up at once.");
    expect(text).toContain("✅ *No new headcount* (respected): Uses existing teams.");
    expect(text).toContain("⚠️ *Ship by Q3* (at risk)");
    expect(text).toContain("❌ *No downtime* (violated)");
    expect(text).toContain("❔ *Budget* (unknown)");
    expect(text).not.toContain(OFFLINE_LABEL);
  });

  it("60 actions split across messages, all within limits and all kept", () => {
    const synthesis = modelSynthesis(20, 200);
    const messages = synthesisCard(synthesis, lensName);
    expectValid(messages);
    expect(messages.length).toBeGreaterThan(1);
    const flat = flatText(messages);
    for (const h of ["now", "soon", "later"]) {
      for (let i = 0; i < 20; i++) expect(flat).toContain(`${h}-action-${i} do0`);
    }
    expect(flat).toContain("They sped everything up at once.");
    expect(messages[1]?.text).toBe(`Synthesis (continued, part 2 of ${messages.length})`);
  });

  it("sanitises model text", () => {
    const synthesis = { ...modelSynthesis(1), reframe: HOSTILE, trade_offs: [HOSTILE] } as Synthesis;
    const messages = synthesisCard(synthesis, lensName);
    expectValid(messages);
    expect(allText(messages)).toContain("&lt;@U123&gt;");
  });
});

describe("synthesisCard (full model synthesis)", () => {
  it("a 4-lens run: within Slack's limits, the recommendation and confidence first, the risks as one table", () => {
    const messages = synthesisCard(fullSynthesis(), fullName, "run-9");
    expectValid(messages);
    // The first thing a reader sees under the header: the recommendation, then the confidence.
    const first = messages[0]!;
    expect(first.blocks[0]).toMatchObject({ type: "header", text: { text: "Synthesis" } });
    const opening = (first.blocks[1] as { text: { text: string } }).text.text;
    expect(opening).toMatch(/^💡 \*Recommendation\*\nTrace one request end to end/);
    expect(opening).toContain("🟡 *Confidence: medium*. The fan-out explains the plateau");
    expect(first.text).toContain("Synthesis: Trace one request end to end");
    expect(first.text).toContain("(confidence medium)");

    const flat = flatText(messages);
    expect(flat).toContain("Near certain");
    expect(flat).toContain("Which of the four services is slowest: There is no trace");
    // One line per attempt, each with the lens that explains it.
    const attemptLines = allText(messages)
      .split("\n")
      .filter((l) => l.includes("tuned the endpoint's own work"));
    expect(attemptLines).toHaveLength(5);
    expect(flat).toContain("*put a Redis cache in front of the aggregate queries*: Attempt 0");
    expect(flat).toContain("*Parallelise the four calls*: 55%");
    expect(flat).toContain("1. Trace 1% of requests · _2 days_ → Where the 350 ms goes");
    expect(flat).toContain("*Expected outcome:* p50 under 150 ms");
    expect(flat).toContain("*Feasibility check*");
    expect(flat).toContain("⚠️ *Under 150 ms before the release* (at risk)");
    expect(flat).toContain("Originality 8/10: A waiting problem, not more tuning.");
    expect(flat).toContain("*Quality of this synthesis* · 76% overall");

    // The path sits right beside the feasibility check.
    const text = allText(messages);
    expect(text.indexOf("*Feasibility check*")).toBeGreaterThan(text.indexOf("*Breakthrough path*"));
    expect(text.indexOf("*Feasibility check*")).toBeLessThan(text.indexOf("*Risks and mitigations*"));

    // Exactly one table, in an attachment, never among the blocks; its message ends under it and the
    // card goes on in the next one, so the buttons close the card.
    const withTable = messages.filter((m) => m.attachments?.length);
    expect(withTable).toHaveLength(1);
    const table = withTable[0]!.attachments![0]!.blocks[0]!;
    expect(table.rows).toHaveLength(4);
    expect(table.rows[0]!.map((c) => (c as { text: string }).text)).toEqual(["Risk", "Impact", "Mitigation"]);
    expect(table.rows[1]!.map((c) => (c as { text: string }).text)).toEqual([
      "A slow service still sets the floor",
      "🔴 High",
      "Budget per service, with a timeout",
    ]);
    // Model text in cells is sanitised like everywhere else.
    expect(JSON.stringify(table)).not.toMatch(/<[!@#]|<https?:|@here/);
    const at = messages.indexOf(withTable[0]!);
    expect(at).toBeLessThan(messages.length - 1);
    expect(withTable[0]!.blocks.at(-1)).toMatchObject({ text: { text: "*Risks and mitigations* (3)" } });
    for (const m of messages.flatMap((x) => x.blocks)) expect(m.type).not.toBe("table");
    expect(feedbackOf(messages.at(-1)!)).toBeDefined();
  });

  it("without tables, the risks are aligned sections: each risk with its impact beside its mitigation", () => {
    const messages = synthesisCard(fullSynthesis(), fullName, "run-9", { tables: false });
    expectValid(messages);
    for (const m of messages) expect(m.attachments).toBeUndefined();
    const rows = messages
      .flatMap((m) => m.blocks)
      .filter((b) => b.type === "section" && "fields" in b && b.fields) as { fields: { text: string }[] }[];
    expect(rows).toHaveLength(3);
    expect(rows[0]!.fields.map((f) => f.text)).toEqual([
      "🔴 *High impact*\nA slow service still sets the floor",
      "*Mitigation*\nBudget per service, with a timeout",
    ]);
    expect(allText(messages)).toContain("&lt;@U123&gt;");
  });

  it("a very long full synthesis is split within the limits, the table on one message, nothing lost", () => {
    const big = fullSynthesis();
    big.actions.immediate = Array.from({ length: 30 }, (_, i) => `act-${i} ${words(250, "w")}`);
    big.risks = Array.from({ length: 12 }, (_, i) => ({
      risk: `risk-${i} ${words(300, "r")}`,
      impact: "medium" as const,
      mitigation: `mit-${i}`,
    }));
    for (const tables of [true, false]) {
      const messages = synthesisCard(big, fullName, "run-9", { tables });
      expectValid(messages);
      expect(messages.length).toBeGreaterThan(1);
      expect(messages.filter((m) => m.attachments?.length)).toHaveLength(tables ? 1 : 0);
      const everything = [flatText(messages), JSON.stringify(messages.map((m) => m.attachments ?? []))].join(
        " ",
      );
      for (let i = 0; i < 30; i++) expect(everything).toContain(`act-${i} w0`);
      for (let i = 0; i < 12; i++) expect(everything).toContain(`risk-${i} r0`);
    }
  });

  it("risks too long for one message's text budget become aligned sections, not a table", () => {
    const big = fullSynthesis();
    big.risks = Array.from({ length: 20 }, (_, i) => ({
      risk: `risk-${i} ${words(400, "r")}`,
      impact: "high" as const,
      mitigation: `mit-${i} ${words(400, "m")}`,
    }));
    const messages = synthesisCard(big, fullName, "run-9");
    expectValid(messages);
    expect(messages.filter((m) => m.attachments?.length)).toHaveLength(0);
    for (let i = 0; i < 20; i++) expect(flatText(messages)).toContain(`mit-${i} m0`);
  });

  it("a synthesis stored before these parts existed still renders, with its one paragraph on attempts", () => {
    const legacy = modelSynthesis(2) as LegacyModelSynthesis;
    expect("recommendation" in legacy).toBe(false);
    const messages = synthesisCard(legacy, lensName, "run-1");
    expectValid(messages);
    expect(allText(messages)).toContain(
      "*Why earlier attempts fell short*\nThey sped everything up at once.",
    );
    expect(allText(messages)).toContain("*Constraint check*");
    expect(allText(messages)).not.toContain("Recommendation");
  });
});

describe("checkBlockKitLimits: tables", () => {
  const raw = (text: string) => ({ type: "raw_text", text });
  const table = (rows: unknown[][]) => ({ type: "table", rows });
  it("wants a table in an attachment, one per message, within 100 rows of 20 cells", () => {
    const ok = { text: "t", blocks: [section("x")], attachments: [{ blocks: [table([[raw("a")]])] }] };
    expect(checkBlockKitLimits(ok)).toEqual([]);
    expect(checkBlockKitLimits({ text: "t", blocks: [table([[raw("a")]])] }).join("\n")).toContain(
      "a table goes in an attachment's blocks",
    );
    const two = {
      text: "t",
      blocks: [],
      attachments: [{ blocks: [table([[raw("a")]]), table([[raw("b")]])] }],
    };
    expect(checkBlockKitLimits(two).join("\n")).toContain("one per message");
    const tall = table(Array.from({ length: 101 }, () => [raw("a")]));
    expect(checkBlockKitLimits({ text: "t", attachments: [{ blocks: [tall] }] }).join("\n")).toContain(
      "101 rows",
    );
    const wide = table([Array.from({ length: 21 }, () => raw("a"))]);
    expect(checkBlockKitLimits({ text: "t", attachments: [{ blocks: [wide] }] }).join("\n")).toContain(
      "21 cells",
    );
    const empty = table([[raw("")]]);
    expect(checkBlockKitLimits({ text: "t", attachments: [{ blocks: [empty] }] }).join("\n")).toContain(
      "raw_text is empty",
    );
  });
});

describe("synthesisCard (offline attempts)", () => {
  it("lists each attempt with the lens questions that probe it, and says what needs the model", () => {
    const synthesis: Synthesis = {
      source: "offline",
      look_first: [{ lens_id: "pace-layering", lens_name: "Pace Layering", because: "x" }],
      missing_modes: [],
      settle_first: "What changes fastest?",
      attempts: [
        {
          attempt: "added composite indexes",
          effect: "about 12% better",
          probes: [
            {
              lens_id: "pace-layering",
              lens_name: "Pace Layering",
              kind: "question",
              text: "Which layer moves?",
            },
            {
              lens_id: "five-whys",
              lens_name: "Five Whys",
              kind: "pitfall",
              text: "Stopping at the first why.",
            },
          ],
        },
      ],
    };
    const messages = synthesisCard(synthesis, lensName, "run-3");
    expectValid(messages);
    const text = allText(messages);
    expect(text).toContain(
      "*What was tried, and what the lenses would ask about it* (questions from the catalogue",
    );
    expect(text).toContain(
      "• *added composite indexes* (about 12% better)\n    _Pace Layering_ asks: Which layer moves?",
    );
    expect(text).toContain("_Five Whys_ warns: Stopping at the first why.");
    expect(text).toContain(OFFLINE_SYNTHESIS_NEEDS_MODEL);
    for (const m of messages) expect(texts(m.blocks).join("\n")).toContain(OFFLINE_LABEL);
  });
});

describe("native feedback", () => {
  it("the synthesis of a run ends with 👍/👎 for the synthesis, model and offline alike", () => {
    const offline: Synthesis = {
      source: "offline",
      look_first: [{ lens_id: "pace-layering", lens_name: "Pace Layering", because: "x" }],
      missing_modes: [],
      settle_first: "What changes fastest?",
    };
    for (const synthesis of [modelSynthesis(2), offline]) {
      const messages = synthesisCard(synthesis, lensName, "run-7");
      const value = (feedbackOf(messages.at(-1) as SlackMessage) as Record<string, Obj>).positive_button
        ?.value;
      expect(JSON.parse(value as string)).toEqual({ runId: "run-7", target: "synthesis", vote: "up" });
      expectValid(messages);
      for (const m of messages.slice(0, -1)) expect(feedbackOf(m)).toBeUndefined();
    }
    expect(synthesisCard(offline, lensName).some((m) => feedbackOf(m))).toBe(false);
  });

  it("the limit check knows context_actions: too many elements, a missing side, a long value", () => {
    const fb = (value: string) => ({
      type: "feedback_buttons",
      action_id: "f",
      positive_button: { text: { type: "plain_text", text: "👍" }, value },
    });
    const message = (elements: unknown[]) => ({ text: "t", blocks: [{ type: "context_actions", elements }] });
    expect(checkBlockKitLimits(message([]))).toEqual([expect.stringContaining("elements must be 1-5")]);
    expect(checkBlockKitLimits(message([fb("v")]))).toEqual([
      expect.stringContaining("missing negative_button"),
    ]);
    expect(checkBlockKitLimits(message([fb("v".repeat(2001))])).join("\n")).toContain("at most 2000 chars");
  });
});

describe("synthesisCard (offline)", () => {
  it("orders the lenses, names what is missing and ends with one question, labelled offline", () => {
    const synthesis: Synthesis = {
      source: "offline",
      look_first: [
        {
          lens_id: "pace-layering",
          lens_name: "Pace Layering",
          because: 'your text says: "the schema moves weekly"',
        },
        {
          lens_id: "leverage-points",
          lens_name: "Leverage Points",
          because: "no sentence points at it directly",
        },
      ],
      missing_modes: [{ id: "teams", name: "Teams and organisations" }],
      widen: {
        lens_id: "conways-law",
        lens_name: "Conway's Law",
        because: "the org chart shapes the system.",
      },
      settle_first: "Which layer is the slowest to change?",
    };
    const messages = synthesisCard(synthesis, lensName);
    expectValid(messages);
    const text = allText(messages);
    expect(text).toContain('1. *Pace Layering*: your text says: "the schema moves weekly"');
    expect(text).toContain("2. *Leverage Points*");
    expect(text).toContain("*Not yet looked at:* Teams and organisations");
    expect(text).toContain("*To widen the view:* _Conway's Law_");
    expect(text).toContain("*Settle this first:* Which layer is the slowest to change?");
    expect(messages[0]?.text).toBe("Where to start (offline): Pace Layering, Leverage Points");

    const big: Synthesis = {
      ...synthesis,
      look_first: Array.from({ length: 60 }, (_, i) => ({
        lens_id: `lens-${i}`,
        lens_name: `Lens ${i}`,
        because: `Reason ${i} ${words(120, "r")}`,
      })),
    };
    const many = synthesisCard(big, lensName);
    expectValid(many);
    for (const m of many) expect(texts(m.blocks).join("\n")).toContain(OFFLINE_LABEL);
    const flat = flatText(many);
    for (let i = 0; i < 60; i++) expect(flat).toContain(`Reason ${i} `);
  });
});

// ---------- errorCard ----------

describe("errorCard", () => {
  it("explains, gives the reference id and a Retry button", () => {
    const messages = errorCard({ referenceId: "ref-123", message: "The model timed out. <!channel>" });
    expectValid(messages);
    expect(messages).toHaveLength(1);
    const text = allText(messages);
    expect(text).toContain("could not finish this analysis");
    expect(text).toContain("The model timed out. &lt;!channel&gt;");
    expect(text).toContain("`ref-123`");
    expect(messages[0]?.text).toContain("ref-123");
    const [retry] = buttons(messages[0] as SlackMessage);
    expect(retry).toMatchObject({
      type: "button",
      action_id: "retry_analysis",
      value: "ref-123",
      style: "primary",
    });
    expect((retry?.text as Obj | undefined)?.text).toBe("Retry");
  });

  it("rejects an empty reference id", () => {
    expect(() => errorCard({ referenceId: "", message: "x" })).toThrow(RangeError);
  });
});

// ---------- rootMessage ----------

describe("rootMessage", () => {
  it("mentions the asker and quotes the escaped problem", () => {
    const messages = rootMessage({
      userId: "U123ABC",
      problem: `Deploys keep failing\n\nsecond para ${HOSTILE}`,
    });
    expectValid(messages, "<@U123ABC>");
    expect(messages).toHaveLength(1);
    const text = allText(messages);
    expect(text).toContain("<@U123ABC> asked lensbot to look at this:");
    expect(text).toContain(
      "> Deploys keep failing\n>\n> second para &lt;!channel&gt; &lt;!here|here&gt; &lt;@U123&gt;",
    );
    expect(messages[0]?.text).toMatch(/^<@U123ABC> asked lensbot: Deploys keep failing/);
    expect(messages[0]?.blocks.some((b) => b.type === "context")).toBe(false);
  });

  it("accepts Enterprise Grid W ids", () => {
    expect(allText(rootMessage({ userId: "W0ABC9", problem: "p" }))).toContain("<@W0ABC9>");
  });

  it.each(["", "u123", "U123>", "U123|x", "<@U123>", "B123", "U123 <!channel>"])(
    "rejects user id %j",
    (userId) => {
      expect(() => rootMessage({ userId, problem: "p" })).toThrow(RangeError);
    },
  );

  it("shortens a long problem with … and a note", () => {
    const problem = words(7000, "long");
    const messages = rootMessage({ userId: "U1", problem });
    expectValid(messages, "<@U1>");
    const quote = texts(messages[0]?.blocks ?? []).find((t) => t.startsWith("> ")) ?? "";
    expect(quote.endsWith("…")).toBe(true);
    expect(quote.length).toBeLessThanOrEqual(ROOT_PROBLEM_CHARS + 2);
    const note = texts(messages[0]?.blocks.filter((b) => b.type === "context") ?? []).join("");
    expect(note).toContain("of 7000 characters");
  });
});

/**
 * Plain-text rendering of pipeline results for the terminal. Pure functions: strings in, strings out.
 */
import type { Lens, Mode } from "../catalogue/schema.js";
import {
  type LensAnalysis,
  type ModeSuggestion,
  OFFLINE_LABEL,
  type Synthesis,
} from "../pipeline/schemas.js";

const pct = (n: number) => `${Math.round(n * 100)}%`;
const bullets = (items: readonly string[], indent = "  ") => items.map((i) => `${indent}- ${i}`).join("\n");

export function renderSuggestion(s: ModeSuggestion): string {
  const lines = [
    "== Thinking mode",
    ...s.modes.map((m) => `${m.emoji} ${m.name} (${pct(m.match_score)}): ${m.reason}`),
  ];
  lines.push("", "== Lenses");
  for (const l of s.lenses) lines.push(`* ${l.name} (${pct(l.match_score)}): ${l.reason}`);
  if (s.source === "offline") lines.push("", `(${OFFLINE_LABEL})`);
  return lines.join("\n");
}

export function renderAnalysis(a: LensAnalysis): string {
  if (a.source === "offline") {
    return [
      `== ${a.lens_name} [offline: framing questions, not model-written]`,
      a.summary,
      "Questions to work through:",
      bullets(a.questions),
      "Pitfalls:",
      bullets(a.pitfalls),
    ].join("\n");
  }
  const q = a.quality;
  const lines = [
    `== ${a.lens_name}`,
    `quality: overall ${pct(q.overall)} (specificity ${pct(q.specificity)}, novelty ${pct(q.novelty)}, actionability ${pct(q.actionability)}, coherence ${pct(q.coherence)})${a.refined ? ", refined once" : ""}`,
  ];
  a.beliefs.forEach((b, i) => {
    lines.push(
      "",
      `${i + 1}. ${b.belief} (confidence ${pct(b.confidence)})`,
      `   Why: ${b.reasoning}`,
      ...(b.evidence.length ? ["   Evidence:", bullets(b.evidence, "     ")] : []),
      "   Implications:",
      bullets(b.implications, "     "),
      ...(b.lateral_connections.length
        ? [
            "   Connects to:",
            bullets(
              b.lateral_connections.map((c) => `${c.lens_id}: ${c.connection}`),
              "     ",
            ),
          ]
        : []),
    );
  });
  return lines.join("\n");
}

export function renderSynthesis(s: Synthesis, lensName: (id: string) => string): string {
  if (s.source === "offline") {
    const lines = ["== Checklist [offline: framing questions grouped by lens, not model-written]"];
    for (const group of s.checklist) {
      lines.push(`${group.lens_name}:`, ...group.questions.map((q) => `  [ ] ${q}`));
    }
    lines.push("", `(${OFFLINE_LABEL} Set ANTHROPIC_API_KEY for a model-written analysis.)`);
    return lines.join("\n");
  }
  return [
    "== Synthesis",
    `Reframe: ${s.reframe}`,
    `Root cause (${lensName(s.root_cause.lens_id)}): ${s.root_cause.statement}`,
    "Insights:",
    bullets(s.insights.map((i) => `${lensName(i.lens_id)}: ${i.insight}`)),
    "Actions, immediate:",
    bullets(s.actions.immediate),
    "Actions, short term:",
    bullets(s.actions.short_term),
    "Actions, long term:",
    bullets(s.actions.long_term),
    "Trade-offs:",
    bullets(s.trade_offs),
    "How to validate:",
    bullets(s.validation),
    `Why earlier attempts fell short: ${s.why_earlier_attempts_fell_short}`,
    "Constraint check:",
    bullets(s.constraint_check.map((c) => `${c.constraint}: ${c.status.replace("_", " ")} (${c.note})`)),
  ].join("\n");
}

export function renderLens(lens: Lens): string {
  return [
    `${lens.name}  [${lens.id}]`,
    lens.aliases.length ? `Also known as: ${lens.aliases.join(", ")}` : "",
    `Origin: ${lens.origin.who}, ${lens.origin.work} (${lens.origin.year})`,
    `Modes: ${lens.modes.join(", ")}`,
    "",
    lens.summary,
    "",
    lens.definition,
    "",
    "Questions:",
    bullets(lens.questions),
    "Signals:",
    `  ${lens.signals.join(", ")}`,
    "Pitfalls:",
    bullets(lens.pitfalls),
    `Related: ${lens.related.join(", ") || "none"}`,
    ...(lens.contrasts.length
      ? ["Contrasts:", bullets(lens.contrasts.map((c) => `${c.id}: ${c.tension}`))]
      : []),
  ]
    .filter((l, i) => l !== "" || i > 1)
    .join("\n");
}

export function renderModes(modes: readonly Mode[]): string {
  return modes
    .map(
      (m) =>
        `${m.emoji} ${m.name}  [${m.id}]\n  ${m.description}\n  Use when: ${m.use_when.join("; ")}\n  Lenses: ${m.lenses.join(", ")}`,
    )
    .join("\n\n");
}

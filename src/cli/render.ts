/**
 * Plain-text rendering of pipeline results for the terminal. Pure functions: strings in, strings out.
 */
import type { Catalogue } from "../catalogue/catalogue.js";
import type { Gaps, JourneyStep } from "../catalogue/graph.js";
import type { Lens, Mode } from "../catalogue/schema.js";
import { type Digest, periodLabel, refList, trend, usedIn } from "../digest/build.js";
import {
  CONSTRAINT_MARK,
  isFullSynthesis,
  type LensAnalysis,
  type ModelSynthesis,
  type ModeSuggestion,
  OFFLINE_LABEL,
  OFFLINE_RETRO_LABEL,
  OFFLINE_SYNTHESIS_NEEDS_MODEL,
  RUBRIC_CRITERIA,
  type Synthesis,
} from "../pipeline/schemas.js";

const pct = (n: number) => `${Math.round(n * 100)}%`;
const bullets = (items: readonly string[], indent = "  ") => items.map((i) => `${indent}- ${i}`).join("\n");

export function renderSuggestion(s: ModeSuggestion): string {
  const lines = [
    "== Thinking mode",
    ...s.modes.map((m) => `${m.emoji} ${m.name} (${pct(m.match_score)}): ${m.reason}`),
  ];
  if (s.note) lines.push("", s.note);
  lines.push("", s.source === "chosen" ? "== Lenses (chosen by you)" : "== Lenses");
  for (const l of s.lenses) lines.push(`* ${l.name} (${pct(l.match_score)}): ${l.reason}`);
  if (s.source === "offline") lines.push("", `(${OFFLINE_LABEL})`);
  return lines.join("\n");
}

export function renderAnalysis(a: LensAnalysis): string {
  if (a.source === "offline") {
    return [
      `== ${a.lens_name} [offline: your words and the catalogue's questions, not model-written]`,
      a.summary,
      a.evidence.length > 0
        ? `Why this lens: your text says\n${bullets(a.evidence.map((e) => `"${e.quote}"`))}`
        : "Why this lens: no sentence of your text points at it directly.",
      "Questions to work through:",
      bullets(a.questions),
      "Watch out for:",
      bullets(a.pitfalls),
      ...(a.other_side ? [`The other side: ${a.other_side.lens_name}. ${a.other_side.tension}`] : []),
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

/** Rows as aligned text columns (for the risks table in a terminal). */
function columns(rows: readonly (readonly string[])[], indent = "  "): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length))) ?? [];
  return rows
    .map((r) =>
      `${indent}${r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join("  ")}`.trimEnd(),
    )
    .join("\n");
}

/** The parts only a full model synthesis has, in the card's order (recommendation first). */
function renderFullHead(s: ModelSynthesis): string[] {
  const c = s.confidence;
  return [
    `Recommendation: ${s.recommendation.summary}`,
    `Confidence: ${c.level}. ${c.justification}`,
    ...(c.near_certain.length ? ["  Near certain:", bullets(c.near_certain, "    ")] : []),
    ...(c.uncertain.length
      ? [
          "  Uncertain:",
          bullets(
            c.uncertain.map((u) => `${u.point}: ${u.why}`),
            "    ",
          ),
        ]
      : []),
    "Why this first:",
    bullets(s.recommendation.rationale),
  ];
}

export function renderSynthesis(s: Synthesis, lensName: (id: string) => string): string {
  if (s.source === "offline") {
    const lines = [
      "== Where to start [offline: ordered by the evidence in your text, not model-written]",
      ...s.look_first.map((l, i) => `${i + 1}. ${l.lens_name}: ${l.because}`),
    ];
    if (s.missing_modes.length > 0) {
      lines.push(`Not yet looked at: ${s.missing_modes.map((m) => m.name).join(", ")}.`);
    }
    if (s.widen) lines.push(`To widen the view: ${s.widen.lens_name}, because ${s.widen.because}`);
    lines.push(`Settle this first: ${s.settle_first}`);
    if (s.attempts?.length) {
      lines.push(
        "What was tried, and what the lenses would ask about it (catalogue questions, not answers):",
      );
      for (const a of s.attempts) {
        lines.push(`  * ${a.attempt}${a.effect ? ` (${a.effect})` : ""}`);
        for (const p of a.probes)
          lines.push(`      ${p.lens_name} ${p.kind === "pitfall" ? "warns" : "asks"}: ${p.text}`);
      }
    }
    lines.push("", `(${OFFLINE_LABEL} ${OFFLINE_SYNTHESIS_NEEDS_MODEL})`);
    return lines.join("\n");
  }
  const full = isFullSynthesis(s) ? s : undefined;
  const lines = ["== Synthesis"];
  if (full) lines.push(...renderFullHead(full));
  lines.push(
    `Reframe: ${s.reframe}`,
    `Root cause (${lensName(s.root_cause.lens_id)}): ${s.root_cause.statement}`,
  );
  if (full) {
    lines.push(
      "Why each earlier attempt fell short:",
      full.attempts.length
        ? bullets(full.attempts.map((a) => `${a.attempt}: ${a.fell_short_because} (${lensName(a.lens_id)})`))
        : "  - The problem names no earlier attempts.",
      "Options (chance of reaching the target):",
      bullets(full.options.map((o) => `${o.option}: ${pct(o.chance_of_target)}. ${o.reasoning}`)),
      "Breakthrough path:",
      ...full.breakthrough_path.steps.map(
        (st, i) => `  ${i + 1}. ${st.step} [${st.duration}] -> ${st.outcome}`,
      ),
      `  Expected outcome: ${full.breakthrough_path.expected_outcome}`,
    );
  } else {
    lines.push(`Why earlier attempts fell short: ${s.why_earlier_attempts_fell_short}`);
  }
  lines.push(
    full ? "Feasibility check:" : "Constraint check:",
    s.constraint_check.length
      ? s.constraint_check
          .map(
            (c) =>
              `  ${CONSTRAINT_MARK[c.status]} ${c.constraint}: ${c.status.replace("_", " ")} (${c.note})`,
          )
          .join("\n")
      : "  - No constraints stated.",
  );
  if (full) {
    lines.push(
      "Risks and mitigations:",
      full.risks.length
        ? columns([
            ["RISK", "IMPACT", "MITIGATION"],
            ...full.risks.map((r) => [r.risk, r.impact, r.mitigation]),
          ])
        : "  - None named.",
    );
  }
  lines.push(
    "Actions, immediate:",
    bullets(s.actions.immediate),
    "Actions, short term:",
    bullets(s.actions.short_term),
    "Actions, long term:",
    bullets(s.actions.long_term),
    "Insights:",
    bullets(s.insights.map((i) => `${lensName(i.lens_id)}: ${i.insight}`)),
    "Trade-offs:",
    bullets(s.trade_offs),
    "How to validate:",
    bullets(s.validation),
  );
  const q = full?.quality;
  if (q) {
    lines.push(
      `Quality of this synthesis: ${pct(q.overall)} overall${q.refined ? ", refined once" : ""}`,
      bullets(
        RUBRIC_CRITERIA.map(
          (k) => `${k.replace("_", " ")} ${q.rubric[k].score}/10: ${q.rubric[k].reasoning}`,
        ),
      ),
    );
  }
  return lines.join("\n");
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

export function renderFrames(catalogue: Catalogue): string {
  return catalogue.frames
    .map((f) => {
      const lenses = catalogue.lenses.filter((l) => l.frames.includes(f.id)).map((l) => l.name);
      return `${f.name}  [${f.id}]\n  ${f.description}\n  ${lenses.length} lenses: ${lenses.join(", ")}`;
    })
    .join("\n\n");
}

export function renderContrasts(lens: Lens, contrasts: readonly { lens: Lens; tension: string }[]): string {
  if (contrasts.length === 0) return `${lens.name} has no contrasting lens in the catalogue.`;
  return [
    `Lenses that pull against ${lens.name}:`,
    ...contrasts.map((c) => `  ${c.lens.name}: ${c.tension}`),
  ].join("\n");
}

export function renderJourney(from: Lens, to: Lens, steps: readonly JourneyStep[] | undefined): string {
  if (!steps) return `No path links ${from.name} to ${to.name}.`;
  if (steps.length === 0) return `${from.name} is where you already are.`;
  return [
    `From ${from.name} to ${to.name} in ${steps.length} step${steps.length === 1 ? "" : "s"}:`,
    ...steps.map((s, i) =>
      s.kind === "contrast"
        ? `  ${i + 1}. ${s.from.name} ⇄ ${s.to.name} (they pull apart: ${s.tension})`
        : `  ${i + 1}. ${s.from.name} → ${s.to.name} (related)`,
    ),
  ].join("\n");
}

export function renderGaps(used: readonly Lens[], gaps: Gaps): string {
  const lines = [`Lenses used: ${used.map((l) => l.name).join(", ")}`];
  lines.push(
    gaps.missingModes.length > 0
      ? `Thinking modes not covered: ${gaps.missingModes.map((m) => m.name).join(", ")}`
      : "Every thinking mode is covered.",
  );
  lines.push(
    gaps.missingFrames.length > 0
      ? `Frames not covered: ${gaps.missingFrames.map((f) => f.name).join(", ")}`
      : "Every frame is covered.",
  );
  if (gaps.widen.length > 0) {
    lines.push("To widen the view:");
    for (const w of gaps.widen) {
      const adds = [...w.addsModes.map((m) => m.name), ...w.addsFrames.map((f) => f.name)];
      lines.push(
        `  ${w.lens.name} (${w.kind === "contrast" ? "contrasts with" : "related to"} ${w.via.name}${adds.length ? `; adds ${adds.join(", ")}` : ""})`,
      );
    }
  }
  return lines.join("\n");
}

/**
 * A retro digest as text: the same content as the Slack message and its thread reply, with
 * every list whole. Analyses without a permalink are named by channel and thread ts.
 */
export function renderDigest(d: Digest): string {
  const lines = [
    `== Retro digest: ${periodLabel(d)}`,
    `${d.analyses.length} analyses from ${d.sources.join(", ")}`,
  ];
  if (d.late) lines.push("(posted late: lensbot was not running when it was due)");
  if (d.analyses.length === 0) {
    lines.push("", "No analyses in this period.");
    return lines.join("\n");
  }
  lines.push("", "== What was analysed");
  for (const a of d.analyses) {
    lines.push(`${a.ref}. ${a.headline} (${a.lenses.map((l) => l.name).join(", ")})`);
    lines.push(`    ${a.permalink ?? `channel ${a.channel}, thread ${a.threadTs}`}`);
  }
  lines.push("", "== Lenses used", ...d.lenses.map((c) => `* ${c.name}: ${c.count} (${trend(c)})`));
  lines.push(
    "",
    "== Thinking modes",
    ...d.modes.map((c) => `* ${c.emoji} ${c.name}: ${c.count} (${trend(c)})`),
  );
  if (d.feedback.length)
    lines.push(
      "",
      "== What people found useful",
      ...d.feedback.map((t) => `* ${t.name}: ${t.up} up, ${t.down} down`),
    );
  if (d.recurringActions.length)
    lines.push(
      "",
      "== Proposed in more than one analysis",
      ...d.recurringActions.map((a) => `* ${a.text} (${refList(a.refs)})`),
    );
  if (d.returningActions.length)
    lines.push(
      "",
      "== Proposed before and back again (never done?)",
      ...d.returningActions.map(
        (a) => `* ${a.text} (${refList(a.refs)}; proposed ${a.earlier}x in earlier periods)`,
      ),
    );
  const r = d.retro;
  if (r) {
    lines.push("", "== Patterns", ...r.patterns.map((p) => `* ${p.text} (${refList(p.analyses)})`));
    if (r.themes.length)
      lines.push("", "== Systemic themes", ...r.themes.map((t) => `* ${t.text} (${refList(t.analyses)})`));
    lines.push(
      "",
      "== Questions for the retro",
      ...r.questions.map((q, i) => `${i + 1}. ${q.text} (${refList(q.analyses)})`),
    );
    if (r.source === "offline") lines.push("", `(${OFFLINE_RETRO_LABEL})`);
  }
  const lop = d.lensOfPeriod;
  if (lop) {
    lines.push(
      "",
      `== Lens of the period: ${lop.name}`,
      `Nobody used it, and it pulls against ${lop.contrastsWith.name} (${usedIn(lop.contrastsWith.count, d.analyses.length)}): ${lop.why}`,
    );
  }
  return lines.join("\n");
}

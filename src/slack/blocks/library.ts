/**
 * Block Kit for the lens library in Slack (`/lens show|search|random|contrast|journey|modes|help`):
 * ephemeral answers built from the catalogue and the lens graph. Pure. Catalogue text is ours,
 * but it still goes through the same sanitiser as everything else shown in Slack.
 */
import type { KnownBlock } from "@slack/types";
import type { JourneyStep } from "../../catalogue/graph.js";
import type { Lens, Mode } from "../../catalogue/schema.js";
import { truncate } from "../mrkdwn.js";
import { MAX_BUTTON_VALUE } from "./limits.js";
import {
  button,
  context,
  fallback,
  header,
  oneLine,
  paginate,
  type SlackMessage,
  s,
  sections,
} from "./parts.js";

/** Action id of the "Apply to a thread…" button on a lens; its value is the lens id. */
export const APPLY_LENS_TO_THREAD = "library_apply";

const applyButton = (lens: Lens): KnownBlock => ({
  type: "actions",
  elements: [
    button("Apply to a thread…", APPLY_LENS_TO_THREAD, lens.id.slice(0, MAX_BUTTON_VALUE), "primary"),
  ],
});

/** One lens in full: what it says, where it comes from, its questions, pitfalls and neighbours. */
export function lensMessage(lens: Lens, names: (id: string) => string): SlackMessage {
  const related = lens.related.map(names).join(", ");
  const contrasts = lens.contrasts.map((c) => `• *${s(names(c.id))}*: ${s(c.tension)}`).join("\n");
  return {
    text: fallback(`${lens.name}: ${lens.summary}`),
    blocks: [
      header(`🔎 ${s(lens.name)}`),
      context([
        `${s(lens.origin.who)}, _${s(lens.origin.work)}_ (${lens.origin.year})${lens.aliases.length ? ` · also: ${s(lens.aliases.join(", "))}` : ""}`,
      ]),
      ...sections(`*${s(lens.summary)}*\n${s(lens.definition)}`),
      ...sections(`*Questions it asks*\n${lens.questions.map((q) => `• ${s(q)}`).join("\n")}`),
      ...sections(`*Watch out for*\n${lens.pitfalls.map((p) => `• ${s(p)}`).join("\n")}`),
      ...sections(truncate(`*Related:* ${s(related)}\n*Pulls against:*\n${contrasts}`, 2900)),
      applyButton(lens),
    ],
  };
}

/** A short lens card (random, search hits): name, summary, first question. */
function lensLine(lens: Lens): string {
  return `*${oneLine(lens.name)}*: ${oneLine(lens.summary)}`;
}

/** A random lens, as a provocation. */
export function randomLensMessage(lens: Lens): SlackMessage {
  return {
    text: fallback(`A lens to try: ${lens.name}`),
    blocks: [
      ...sections(`🎲 A lens to try: ${lensLine(lens)}\n_Ask:_ ${s(lens.questions[0] ?? "")}`),
      context([`\`/lens show ${lens.id}\` for all of it`]),
      applyButton(lens),
    ],
  };
}

/** Search results, best first (or a note that nothing matched). */
export function searchMessage(query: string, hits: readonly { lens: Lens }[]): SlackMessage {
  if (hits.length === 0) {
    return {
      text: fallback(`No lens matches "${query}"`),
      blocks: sections(
        `No lens matches "${oneLine(truncate(query, 100))}". Try other words, or \`/lens modes\` to browse by thinking mode.`,
      ),
    };
  }
  return {
    text: fallback(`${hits.length} lenses match "${query}"`),
    blocks: [
      ...sections(
        `*Lenses for "${oneLine(truncate(query, 100))}"*\n${hits.map((h) => `• ${lensLine(h.lens)}`).join("\n")}`,
      ),
      context(["`/lens show <name>` for one in full"]),
    ],
  };
}

/** The lenses that pull against a lens, with the tension. */
export function contrastMessage(
  lens: Lens,
  contrasts: readonly { lens: Lens; tension: string }[],
): SlackMessage {
  return {
    text: fallback(`Lenses that pull against ${lens.name}`),
    blocks: sections(
      contrasts.length === 0
        ? `${oneLine(lens.name)} has no contrasting lens in the catalogue.`
        : `*Lenses that pull against ${oneLine(lens.name)}*\n${contrasts.map((c) => `• *${oneLine(c.lens.name)}*: ${s(c.tension)}`).join("\n")}`,
    ),
  };
}

/** The shortest path of linked lenses from one lens to another. */
export function journeyMessage(
  from: Lens,
  to: Lens,
  steps: readonly JourneyStep[] | undefined,
): SlackMessage {
  const body = !steps
    ? `No path links ${oneLine(from.name)} to ${oneLine(to.name)}.`
    : steps.length === 0
      ? `${oneLine(from.name)} is where you already are.`
      : `*From ${oneLine(from.name)} to ${oneLine(to.name)} in ${steps.length} step${steps.length === 1 ? "" : "s"}*\n${steps
          .map((st, i) =>
            st.kind === "contrast"
              ? `${i + 1}. ${oneLine(st.from.name)} ⇄ ${oneLine(st.to.name)}: they pull apart (${s(st.tension ?? "")})`
              : `${i + 1}. ${oneLine(st.from.name)} → ${oneLine(st.to.name)} (related)`,
          )
          .join("\n")}`;
  return { text: fallback(`From ${from.name} to ${to.name}`), blocks: sections(body) };
}

/** The thinking modes with their core lenses; split over messages if it ever outgrows one. */
export function modesMessages(modes: readonly Mode[], names: (id: string) => string): SlackMessage[] {
  return paginate({
    title: "Thinking modes",
    fallback: fallback(`${modes.length} thinking modes`),
    head: [header("🧭 Thinking modes")],
    body: modes.map((m) =>
      sections(
        `*${s(m.emoji)} ${oneLine(m.name)}*: ${s(m.description)}\n_Lenses:_ ${s(m.lenses.map(names).join(", "))}`,
      ),
    ),
  });
}

/** "I do not know a lens called …", with the closest names. */
export function unknownLensMessage(input: string, suggestions: readonly string[]): SlackMessage {
  const named = `"${oneLine(truncate(input, 80))}"`;
  const text = suggestions.length
    ? `I do not know a lens called ${named}. Did you mean ${suggestions.map((n) => `*${oneLine(n)}*`).join(", ")}?`
    : `I do not know a lens called ${named}. \`/lens search <words>\` finds lenses by what they are about.`;
  return { text: fallback(text), blocks: sections(text) };
}

/** Every subcommand of `/lens`, each with an example. */
export function helpMessage(): SlackMessage {
  const lines = [
    "*Apply lenses*",
    "• `/lens our dashboard API is stuck at 350 ms despite caching and indexes`: a thread with the thinking mode, one card per lens and a synthesis.",
    "• In a thread: @mention lensbot, or use the message shortcut *Apply lenses to this thread*.",
    "*The lens library* (answers only you see)",
    "• `/lens show theory of constraints`: one lens in full.",
    "• `/lens search queues waiting`: lenses by what they are about.",
    "• `/lens random`: a lens to try, as a provocation.",
    "• `/lens contrast pace layering`: the lenses that pull against it.",
    "• `/lens journey five whys to systems thinking`: the path of linked lenses between two.",
    "• `/lens modes`: the thinking modes and their lenses.",
    "*Retro digests*",
    "• `/lens digest on weekly mon 09:30`, `/lens digest help`: a scheduled digest of this channel's analyses.",
  ];
  return {
    text: "How to use lensbot",
    blocks: [header("How to use lensbot"), ...sections(lines.join("\n"))],
  };
}

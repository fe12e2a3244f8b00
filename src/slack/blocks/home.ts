/**
 * lensbot's App Home: how to use it, the person's recent analyses (linked to their threads), the
 * digests of channels they share with lensbot, and the lens library to browse by thinking mode or
 * thematic frame, or to search, a page at a time. Pure: state in, a `home` view out, always within
 * Slack's 100 blocks per view and its text limits.
 */
import type { KnownBlock, View } from "@slack/types";
import type { Library } from "../../catalogue/graph.js";
import type { Lens } from "../../catalogue/schema.js";
import type { DigestConfig } from "../../digest/config.js";
import { describeSchedule } from "../../digest/config.js";
import { truncate } from "../mrkdwn.js";
import { MAX_VIEW_BLOCKS } from "./limits.js";
import { button, context, header, oneLine, sections, slackPermalink } from "./parts.js";

/** Lenses shown per page of the library. */
export const HOME_PAGE_SIZE = 10;
/** Recent analyses shown. */
export const HOME_RECENT = 10;

/** Action ids of the Home tab's controls. */
export const HOME_ACTIONS = {
  mode: "home_browse_mode",
  frame: "home_browse_frame",
  search: "home_search",
  page: "home_page",
} as const;

/** What the library part of the Home tab shows: a mode's or a frame's lenses, or search hits. */
export type Browse =
  | { kind: "mode" | "frame"; id: string; page: number }
  | { kind: "search"; query: string; page: number };

/** One recent analysis of the person, as the Home tab lists it. */
export interface RecentAnalysis {
  headline: string;
  lenses: string[];
  channel: string;
  status: string;
  createdAt: number;
  permalink?: string;
}

const STATUS_MARK: Record<string, string> = { done: "✅", failed: "⚠️" };

const CHANNEL = /^[CGD][A-Z0-9]+$/;

function recentBlocks(recent: readonly RecentAnalysis[]): KnownBlock[] {
  if (recent.length === 0) {
    return sections(
      "_No analyses yet._ Type `/lens` and a problem in any channel, @mention lensbot in a thread, or write to lensbot here in Messages.",
    );
  }
  return recent.slice(0, HOME_RECENT).map((r) => {
    const url = slackPermalink(r.permalink);
    const title = truncate(oneLine(r.headline) || "(no text)", 150);
    const where = CHANNEL.test(r.channel) && !r.channel.startsWith("D") ? ` in <#${r.channel}>` : "";
    const mark = STATUS_MARK[r.status] ?? "⏳";
    return {
      type: "section",
      text: {
        type: "mrkdwn",
        text: truncate(
          `${mark} ${url ? `<${url}|${title}>` : title}${where}\n_${r.lenses.map(oneLine).join(", ") || "lenses pending"}_`,
          2900,
        ),
      },
    };
  });
}

function digestBlocks(digests: readonly DigestConfig[]): KnownBlock[] {
  if (digests.length === 0) {
    return [
      context([
        "No retro digests in channels you share with lensbot. In a channel: `/lens digest on weekly mon 09:30`.",
      ]),
    ];
  }
  return sections(
    digests
      .slice(0, 20)
      .map((d) => `• <#${d.channel}>: ${describeSchedule(d)}${d.quiet ? ", quiet" : ""}`)
      .join("\n"),
  );
}

/** The lenses the browse state selects, with a title. */
function selected(browse: Browse | undefined, library: Library): { title: string; lenses: Lens[] } {
  const { catalogue, index } = library;
  if (!browse) {
    return {
      title: "Some of the most connected lenses",
      lenses: library.graph.central(HOME_PAGE_SIZE).map((c) => c.lens),
    };
  }
  if (browse.kind === "search") {
    return {
      title: `Lenses for "${truncate(oneLine(browse.query), 80)}"`,
      lenses: index.search(browse.query, 50).map((h) => h.lens),
    };
  }
  if (browse.kind === "mode") {
    const mode = catalogue.getMode(browse.id);
    const lenses = catalogue.lenses.filter((l) => l.modes.includes(browse.id));
    return { title: mode ? `${mode.emoji} ${mode.name}` : "Unknown mode", lenses };
  }
  const frame = catalogue.getFrame(browse.id);
  return {
    title: frame ? frame.name : "Unknown frame",
    lenses: catalogue.lenses.filter((l) => l.frames.includes(browse.id)),
  };
}

function libraryBlocks(browse: Browse | undefined, library: Library): KnownBlock[] {
  const { catalogue } = library;
  const option = (text: string, value: string) => ({
    text: { type: "plain_text" as const, text: truncate(text, 75), emoji: true },
    value,
  });
  const controls: KnownBlock = {
    type: "actions",
    block_id: "home_browse",
    elements: [
      {
        type: "static_select",
        action_id: HOME_ACTIONS.mode,
        placeholder: { type: "plain_text", text: "Browse by thinking mode" },
        options: catalogue.modes.slice(0, 100).map((m) => option(`${m.emoji} ${m.name}`, m.id)),
      },
      {
        type: "static_select",
        action_id: HOME_ACTIONS.frame,
        placeholder: { type: "plain_text", text: "Browse by theme" },
        options: catalogue.frames.slice(0, 100).map((f) => option(f.name, f.id)),
      },
    ],
  };
  const search: KnownBlock = {
    type: "input",
    block_id: "home_search",
    dispatch_action: true,
    label: { type: "plain_text", text: "Search the lenses" },
    element: {
      type: "plain_text_input",
      action_id: HOME_ACTIONS.search,
      placeholder: { type: "plain_text", text: "e.g. queues waiting, incentives, retries" },
      dispatch_action_config: { trigger_actions_on: ["on_enter_pressed"] },
    },
  };
  const { title, lenses } = selected(browse, library);
  const pages = Math.max(1, Math.ceil(lenses.length / HOME_PAGE_SIZE));
  const page = Math.min(Math.max(0, browse?.page ?? 0), pages - 1);
  const shown = lenses.slice(page * HOME_PAGE_SIZE, (page + 1) * HOME_PAGE_SIZE);
  const list: KnownBlock[] =
    shown.length === 0
      ? sections(`*${title}*\n_No lens matches. Try other words, or browse by mode._`)
      : [
          ...sections(
            `*${title}* · ${lenses.length} lens${lenses.length === 1 ? "" : "es"}${pages > 1 ? `, page ${page + 1} of ${pages}` : ""}`,
          ),
          ...shown.map(
            (l): KnownBlock => ({
              type: "section",
              text: {
                type: "mrkdwn",
                text: truncate(
                  `*${oneLine(l.name)}*: ${oneLine(l.summary)}\n_Ask:_ ${oneLine(l.questions[0] ?? "")}`,
                  2900,
                ),
              },
            }),
          ),
        ];
  const turn = (to: number, label: string) =>
    button(label, `${HOME_ACTIONS.page}:${to}`, JSON.stringify({ ...browse, page: to }));
  const paging: KnownBlock[] =
    browse && pages > 1
      ? [
          {
            type: "actions",
            block_id: "home_paging",
            elements: [
              ...(page > 0 ? [turn(page - 1, "← Previous")] : []),
              ...(page < pages - 1 ? [turn(page + 1, "Next →")] : []),
            ],
          },
        ]
      : [];
  return [
    controls,
    search,
    ...list,
    ...paging,
    context(["`/lens show <name>` in any channel shows a lens in full."]),
  ];
}

/**
 * The Home tab of one person. `recent` are their latest analyses (newest first), `digests` the
 * digest configs of channels they share with lensbot, `browse` what the library part shows.
 */
export function homeView(input: {
  recent: readonly RecentAnalysis[];
  digests: readonly DigestConfig[];
  browse?: Browse;
  library: Library;
}): View {
  const blocks: KnownBlock[] = [
    header("🔎 lensbot"),
    ...sections(
      [
        "*How to use lensbot*",
        "• `/lens <problem>` in a channel: a thread with the thinking mode, a card per lens and a synthesis.",
        "• @mention lensbot in a thread, or use the message shortcut *Apply lenses to this thread*.",
        "• Write to lensbot in Messages. `/lens help` lists everything.",
      ].join("\n"),
    ),
    { type: "divider" },
    header("Your recent analyses"),
    ...recentBlocks(input.recent),
    { type: "divider" },
    header("Retro digests"),
    ...digestBlocks(input.digests),
    { type: "divider" },
    header("The lens library"),
    ...libraryBlocks(input.browse, input.library),
  ];
  return { type: "home", blocks: blocks.slice(0, MAX_VIEW_BLOCKS) };
}

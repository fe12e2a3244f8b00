/**
 * `npm run render:thread`: the picture of a lensbot thread in the README, rendered from the bot's
 * own Block Kit. Runs `/lens` with the bundled dashboard problem through the demo's stack (real
 * Bolt app, BullMQ worker and Redis, the fake Web API, the offline engine), takes the thread's
 * messages as Slack stored them, and draws them as an SVG in the shape of a Slack thread: the
 * root message, the status line, the mode card, the lens cards and the synthesis, with their
 * buttons. Writes docs/lensbot-thread.svg.
 *
 * The drawing is deliberately plain (one font, estimated text widths, mrkdwn markers dropped and
 * whole-line bold kept, links shown by their labels); what it shows is what the builders produced.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { roots, slashCommand, startHarness, waitFor, waitForDone } from "../test/support/harness.js";

const WIDTH = 760;
const TEXT_X = 76;
const WRAP_CHARS = 82;
const LINE = 19;

type Block = {
  type: string;
  text?: { text?: string } | string;
  elements?: { type?: string; text?: { text?: string } | string }[];
};

const escapeXml = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/** Slack entities back to text, links to their labels, mentions to names. */
function plain(mrkdwn: string): string {
  return mrkdwn
    .replace(/<@U0ASKER>/g, "@Ada")
    .replace(/<#[A-Z0-9]+\|?([^>]*)>/g, (_, name: string) => `#${name || "channel"}`)
    .replace(/<[^|>]+\|([^>]+)>/g, "$1")
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&amp;/g, "&")
    .replace(/\u200d/g, "");
}

/** Wraps a line at word boundaries to `width` characters. */
function wrap(line: string, width = WRAP_CHARS): string[] {
  const out: string[] = [];
  let current = "";
  for (const word of line.split(" ")) {
    if ((current + word).length > width && current) {
      out.push(current.trimEnd());
      current = "";
    }
    current += `${word} `;
  }
  out.push(current.trimEnd());
  return out;
}

/** A line of mrkdwn without its markers, and whether it was bold as a whole (a heading). */
function styled(line: string): { text: string; bold: boolean } {
  const bold = /^\*[^*]+\*$/.test(line.trim());
  return {
    bold,
    text: line
      .replace(/\*([^*\n]+)\*/g, "$1")
      .replace(/(^|[\s(])_([^_\n]+)_/g, "$1$2")
      .replace(/^_|_$/g, ""),
  };
}

const textOf = (t: Block["text"]) => (typeof t === "string" ? t : (t?.text ?? ""));

/** The SVG of one message: who, then each block; returns its height. */
function message(who: string, blocks: Block[], fallback: string, y: number): { svg: string; height: number } {
  const parts: string[] = [];
  let at = y + 20;
  const line = (text: string, opts: { size?: number; fill?: string; weight?: number } = {}) => {
    parts.push(
      `<text x="${TEXT_X}" y="${at}" font-size="${opts.size ?? 14}" fill="${opts.fill ?? "#1d1c1d"}"${opts.weight ? ` font-weight="${opts.weight}"` : ""}>${escapeXml(text)}</text>`,
    );
    at += opts.size && opts.size > 14 ? LINE + 4 : LINE;
  };
  parts.push(`<circle cx="40" cy="${y + 22}" r="17" fill="${who === "lensbot" ? "#4a154b" : "#2eb67d"}"/>`);
  parts.push(
    `<text x="40" y="${y + 27}" font-size="14" fill="#fff" text-anchor="middle" font-weight="700">${who === "lensbot" ? "L" : "A"}</text>`,
  );
  parts.push(
    `<text x="${TEXT_X}" y="${at}" font-size="14" font-weight="700">${who}${who === "lensbot" ? ' <tspan font-size="10" fill="#616061">APP</tspan>' : ""}</text>`,
  );
  at += LINE + 2;
  const list = blocks.length > 0 ? blocks : [{ type: "section", text: fallback }];
  for (const b of list) {
    if (b.type === "header") line(plain(textOf(b.text)), { size: 16, weight: 700 });
    else if (b.type === "section") {
      for (const raw of plain(textOf(b.text)).split("\n")) {
        const { text, bold } = styled(raw.replace(/^>\s?/, "│ "));
        for (const l of wrap(text)) line(l, bold ? { weight: 700 } : {});
      }
    } else if (b.type === "context") {
      for (const e of b.elements ?? [])
        for (const l of wrap(styled(plain(textOf(e.text))).text, 96)) line(l, { size: 12, fill: "#616061" });
    } else if (b.type === "actions") {
      let x = TEXT_X;
      for (const e of b.elements ?? []) {
        const label = plain(textOf(e.text));
        const w = Math.max(60, label.length * 7.2 + 24);
        parts.push(
          `<rect x="${x}" y="${at - 14}" width="${w}" height="26" rx="4" fill="#fff" stroke="#c4c4c4"/>`,
        );
        parts.push(
          `<text x="${x + w / 2}" y="${at + 3}" font-size="13" text-anchor="middle" font-weight="700">${escapeXml(label)}</text>`,
        );
        x += w + 8;
      }
      at += LINE + 12;
    } else if (b.type === "context_actions") {
      parts.push(`<text x="${TEXT_X}" y="${at}" font-size="14">👍  👎</text>`);
      at += LINE;
    } else if (b.type === "divider") {
      parts.push(`<line x1="${TEXT_X}" y1="${at - 8}" x2="${WIDTH - 24}" y2="${at - 8}" stroke="#e8e8e8"/>`);
      at += 8;
    }
  }
  return { svg: parts.join("\n"), height: at - y + 8 };
}

const h = await startHarness({ engine: "offline" });
try {
  const problem = readFileSync(
    fileURLToPath(new URL("../examples/dashboard-latency.txt", import.meta.url)),
    "utf8",
  );
  await slashCommand(h.url, problem);
  const root = await waitFor(() => roots(h, "C0LENS")[0]);
  await waitForDone(h, "C0LENS", root.ts);
  let y = 56;
  const body: string[] = [];
  for (const m of h.slack.thread("C0LENS", root.ts)) {
    const who = m.bot_id === h.slack.bot.bot_id ? "lensbot" : "Ada";
    const { svg, height } = message(who, (m.blocks ?? []) as Block[], m.text, y);
    body.push(svg);
    y += height;
  }
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${y + 16}" viewBox="0 0 ${WIDTH} ${y + 16}" font-family="Lato, 'Helvetica Neue', Arial, sans-serif">
<title>A lensbot thread in #eng: the problem, the status, the thinking modes and lenses, one card per lens, and the synthesis</title>
<rect width="100%" height="100%" fill="#ffffff"/>
<rect width="100%" height="44" fill="#f8f8f8"/>
<text x="24" y="28" font-size="15" font-weight="700">Thread</text>
<text x="88" y="28" font-size="13" fill="#616061"># eng</text>
<line x1="0" y1="44" x2="${WIDTH}" y2="44" stroke="#e8e8e8"/>
${body.join("\n")}
</svg>
`;
  const out = fileURLToPath(new URL("../docs/lensbot-thread.svg", import.meta.url));
  mkdirSync(fileURLToPath(new URL("../docs/", import.meta.url)), { recursive: true });
  writeFileSync(out, svg);
  console.log(`wrote ${out} (${h.slack.thread("C0LENS", root.ts).length} messages, ${y} px tall)`);
} finally {
  await h.close();
}

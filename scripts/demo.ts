/**
 * `npm run demo`: lensbot working with no Slack workspace. Starts loopback fakes of the Slack Web
 * API, the real Bolt app (HTTP receiver, signed requests) and a BullMQ worker on this machine's
 * Redis, then sends `/lens` with the bundled dashboard-latency problem and an @mention inside the
 * bundled incident thread, and prints both threads as text. Then it turns on a weekly retro digest
 * in #eng-retro fed by both channels (`/lens digest on`, `/lens digest sources`), fires the job its
 * BullMQ job scheduler queued for the next Monday early, and prints the digest. Uses the offline
 * engine.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import {
  eventCallback,
  type Harness,
  messageText,
  slashCommand,
  startHarness,
  waitFor,
} from "../test/support/harness.js";

const example = (name: string) => fileURLToPath(new URL(`../examples/${name}`, import.meta.url));

interface IncidentFile {
  channel: string;
  users: { id: string; name: string; real_name: string }[];
  messages: { user?: string; bot_id?: string; subtype?: string; text: string }[];
}

/** The parts of Block Kit blocks the demo prints. */
interface Block {
  type: string;
  text?: { text?: string };
  fields?: { text: string }[];
  elements?: { text?: string | { text?: string } }[];
}

const elementText = (e: { text?: string | { text?: string } }) =>
  typeof e.text === "string" ? e.text : (e.text?.text ?? "");

/** Block Kit → readable lines (headers, sections, context, button labels). */
function render(blocks: unknown[] | undefined, fallback: string): string {
  if (!blocks?.length) return fallback;
  const lines: string[] = [];
  for (const b of blocks as Block[]) {
    if (b.type === "header") lines.push(`## ${b.text?.text ?? ""}`);
    else if (b.type === "section") {
      if (b.text?.text) lines.push(b.text.text);
      for (const f of b.fields ?? []) lines.push(f.text);
    } else if (b.type === "context") lines.push(...(b.elements ?? []).map((e) => `  (${elementText(e)})`));
    else if (b.type === "actions") lines.push(`  [${(b.elements ?? []).map(elementText).join("] [")}]`);
    else if (b.type === "divider") lines.push("  ───");
  }
  return lines.join("\n").replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
}

function printThread(h: Harness, title: string, channel: string, threadTs: string) {
  console.log(`\n${"═".repeat(100)}\n${title}\n${"═".repeat(100)}`);
  for (const m of h.slack.thread(channel, threadTs)) {
    const who = m.bot_id === h.slack.bot.bot_id ? "lensbot" : (m.user ?? m.bot_id ?? "?");
    console.log(`\n── ${who} (ts ${m.ts})\n${render(m.blocks, m.text)}`);
  }
}

async function waitForDone(h: Harness, channel: string, threadTs: string) {
  await waitFor(
    () => h.slack.thread(channel, threadTs).some((m) => messageText(m).includes("*Done*")),
    30_000,
    "the analysis to finish",
  );
}

const h = await startHarness({ engine: "offline" });
try {
  // 1. /lens with the bundled problem.
  const problem = readFileSync(example("dashboard-latency.txt"), "utf8");
  const ack = await slashCommand(h.url, problem);
  console.log(`/lens answered HTTP ${ack.status}: ${JSON.parse(ack.text).text}`);
  const root = await waitFor(() =>
    h.slack.messages("C0LENS").find((m) => !m.thread_ts || m.thread_ts === m.ts),
  );
  await waitForDone(h, "C0LENS", root.ts);
  printThread(h, "/lens in #eng", "C0LENS", root.ts);

  // 2. An @mention inside an incident thread.
  const incident = JSON.parse(readFileSync(example("incident-thread.json"), "utf8")) as IncidentFile;
  for (const u of incident.users) h.slack.addUser(u);
  const { thread_ts, tss } = h.slack.seedThread(incident.channel, incident.messages);
  const mention = {
    type: "app_mention",
    channel: incident.channel,
    user: incident.users[0]?.id,
    text: `<@${h.slack.bot.user_id}> why does this keep happening?`,
    ts: `${Number(tss.at(-1)) + 1}.000000`,
    thread_ts,
  };
  await eventCallback(h.url, mention, "EvDEMO0001");
  await waitForDone(h, incident.channel, thread_ts);
  printThread(h, "@lensbot in an incident thread", incident.channel, thread_ts);

  // 3. A retro digest in #eng-retro, gathering the analyses of both channels.
  h.slack.addUser({ id: "U0ASKER", name: "asker", real_name: "Ada Asker", tz: "Europe/Paris" });
  h.slack.addChannel("C0RETRO", "eng-retro");
  for (const command of [
    "digest on weekly mon 09:30",
    `digest sources <#C0LENS|eng> <#${incident.channel}|incidents>`,
  ]) {
    const trigger = `demo-${command.split(" ")[1]}`;
    await slashCommand(h.url, command, { channel_id: "C0RETRO", trigger_id: trigger });
    const answer = await waitFor(() => h.slack.responses().find((r) => r.id === `cmd-${trigger}`));
    console.log(`/lens ${command}\n  → ${String(answer.body.text)}`);
  }
  const [scheduled] = await h.digestQueue.getDelayed();
  if (!scheduled) throw new Error("the digest's job scheduler queued no job");
  await scheduled.promote();
  const digest = await waitFor(() =>
    h.slack.messages("C0RETRO").find((m) => messageText(m).includes("Retro digest")),
  );
  await waitFor(async () => (await h.digestQueue.getJobState(scheduled.id as string)) === "completed");
  printThread(h, "Retro digest in #eng-retro (its scheduled job fired early)", "C0RETRO", digest.ts);

  console.log(
    "\nThis ran the real Bolt app, BullMQ worker and Redis against a loopback fake of Slack's Web API, with the offline engine (set ANTHROPIC_API_KEY and use `npm start` in a real workspace for model-written analyses).",
  );
} finally {
  await h.close();
}

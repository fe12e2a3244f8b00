import { Assistant } from "@slack/bolt";
import type { WebClient } from "@slack/web-api";
import type { Library } from "../../catalogue/graph.js";
import { buildDigest, retroRequest } from "../../digest/build.js";
import { offlineRetro, suggestFromRanking } from "../../engines/offline/engine.js";
import type { LogSink } from "../../logger.js";
import { type AnalysisJob, dedupeKey } from "../../queue/jobs.js";
import type { AnalysisRecord, RecordStore } from "../../store/records.js";
import { digestMessages } from "../blocks/digest.js";
import { randomLensMessage } from "../blocks/library.js";
import type { SlackMessage } from "../blocks/parts.js";
import { sanitiseModelText, truncate } from "../mrkdwn.js";
import { decodeMrkdwn } from "../thread.js";

/** What the agent DM offers when a thread opens (Slack shows at most four). */
export const SUGGESTED_PROMPTS = [
  {
    title: "Apply lenses to a problem",
    message:
      "Our dashboard API is stuck at 350 ms despite caching and new indexes, and we promised 150 ms. What are we missing?",
  },
  { title: "Give me a random lens", message: "Give me a random lens" },
  {
    title: "Which lens fits…?",
    message: "Which lens fits a team that keeps fixing symptoms instead of causes?",
  },
  { title: "What did we learn this week?", message: "What did we learn this week?" },
];

const GREETING =
  "Tell me what your team is stuck on: what happens, what you have tried, what it costs. I will look at it through the thinking lenses that fit, here in this thread. Replies in the thread are follow-ups on that analysis.";

export interface AssistantDeps {
  store: RecordStore;
  library: Library;
  logger: LogSink;
  random: () => number;
  now: () => number;
  /** The longest question kept (characters). */
  maxProblemChars: number;
  /** Starts a new run in the agent thread (the same path as /lens). */
  startRun: (client: WebClient, run: Omit<AnalysisJob, "requestedAt">) => Promise<void>;
  /** Enqueues a follow-up job of an existing run; false when the queue is unreachable. */
  followUp: (record: AnalysisRecord, jobId: string, change: Partial<AnalysisJob>) => Promise<boolean>;
}

/** What a message in the agent DM asks for. */
type Intent =
  | { kind: "random" }
  | { kind: "which"; about: string }
  | { kind: "learned" }
  | { kind: "analyse" };

/** Reads the short requests the suggested prompts send; anything else is a problem to analyse. */
export function intentOf(text: string): Intent {
  const t = text.trim();
  if (/^(give me |show me )?(a )?random lens\W*$/i.test(t)) return { kind: "random" };
  const which = /^which lens(?:es)? (?:fits?|would help|for)\b\s*(.*)$/i.exec(t);
  if (which) return { kind: "which", about: which[1] ?? "" };
  if (/^what did (we|i) learn( this week)?\W*$/i.test(t)) return { kind: "learned" };
  return { kind: "analyse" };
}

/**
 * The agent DM (Slack's AI app surface, through Bolt's `Assistant`):
 * - a new thread gets a greeting and four suggested prompts;
 * - a message in a thread that already has an analysis is a follow-up, answered by the worker
 *   through the lenses that run applied (the thread's status says so meanwhile);
 * - "random lens", "which lens fits …" and "what did we learn this week" are answered at once
 *   from the catalogue and the person's own analyses;
 * - anything else starts an analysis in the thread, titled after the problem, whose progress shows
 *   as the thread's status (step and lens) until the cards arrive.
 */
export function createAssistant(deps: AssistantDeps): Assistant {
  return new Assistant({
    threadStarted: async ({ say, setSuggestedPrompts, logger }) => {
      try {
        await say(GREETING);
        await setSuggestedPrompts({ title: "Try one of these", prompts: SUGGESTED_PROMPTS });
      } catch (err) {
        logger.warn(`could not open an agent thread: ${(err as Error).message}`);
      }
    },
    userMessage: async ({ message, body, client, say, setStatus, setTitle }) => {
      if (message.subtype !== undefined || !("user" in message) || !message.user || "bot_id" in message)
        return;
      const text = decodeMrkdwn(("text" in message && message.text) || "", new Map()).trim();
      const threadTs = "thread_ts" in message ? message.thread_ts : undefined;
      if (!text || !threadTs) return;
      const team = (body as { team_id?: string }).team_id;
      const eventId = (body as { event_id?: string }).event_id ?? `${message.channel}:${message.ts}`;
      const question = truncate(text, deps.maxProblemChars);
      const reply = (m: SlackMessage) => say({ text: m.text, blocks: m.blocks });
      try {
        const record = await deps.store.runForThread(message.channel, threadTs, team);
        if (record) {
          await setStatus("is thinking it over through the lenses of this analysis…").catch(() => {});
          const queued = await deps.followUp(record, dedupeKey("evt", eventId), {
            trigger: "follow_up",
            question,
            questionTs: message.ts,
            userId: message.user,
            assistantThread: true,
          });
          if (!queued) await say("Sorry, my queue is not reachable right now. Please ask again in a minute.");
          return;
        }
        const intent = intentOf(text);
        if (intent.kind === "random")
          return void (await reply(randomLensMessage(deps.library.graph.random(deps.random))));
        if (intent.kind === "which") return void (await reply(whichLens(intent.about || text, deps.library)));
        if (intent.kind === "learned")
          return void (await reply(await learned(deps, message.user, team, message.channel)));
        await setTitle(truncate(text.replace(/\s+/g, " "), 60)).catch(() => {});
        await setStatus("is choosing thinking modes and lenses…").catch(() => {});
        await deps.startRun(client, {
          runId: dedupeKey("evt", eventId),
          trigger: "direct_message",
          ...(team && { teamId: team }),
          channel: message.channel,
          threadTs,
          userId: message.user,
          question,
          readThread: false,
          assistantThread: true,
        });
      } catch (err) {
        deps.logger.error({ err, channel: message.channel }, "agent DM message failed");
        await say("Sorry, something went wrong on my side. Please try again in a minute.").catch(() => {});
      }
    },
  });
}

/** "Which lens fits …?": the lenses the catalogue index ranks best for the words, with why. */
function whichLens(about: string, library: Library): SlackMessage {
  const suggestion = suggestFromRanking(library.index.rank(about), library.graph);
  const lines = suggestion.lenses.map(
    (l) =>
      `• *${sanitiseModelText(l.name)}* (${Math.round(l.match_score * 100)}%): ${sanitiseModelText(l.reason)}`,
  );
  const text = [
    suggestion.note ? sanitiseModelText(suggestion.note) : "These lenses fit best:",
    ...lines,
    "Describe the whole problem here and I will run them on it.",
  ].join("\n");
  return {
    text: truncate(text, 300),
    blocks: [{ type: "section", text: { type: "mrkdwn", text: truncate(text, 2900) } }],
  };
}

/** "What did we learn this week?": a digest of the person's own analyses of the last seven days. */
async function learned(
  deps: AssistantDeps,
  user: string,
  team: string | undefined,
  channel: string,
): Promise<SlackMessage> {
  const end = deps.now();
  const start = end - 7 * 86_400_000;
  const runs = (await deps.store.runsOfUser(user, 100, team)).filter((r) => r.createdAt >= start);
  const digest = buildDigest(
    {
      team: team ?? "-",
      channel,
      sources: [],
      period: { start, end },
      tz: "UTC",
      current: runs,
      previous: [],
      earlier: [],
    },
    deps.library,
  );
  if (digest.analyses.length === 0) {
    const text =
      "You have no finished analyses in the last seven days. Describe a problem here and we will start one.";
    return { text, blocks: [{ type: "section", text: { type: "mrkdwn", text } }] };
  }
  digest.retro = offlineRetro(retroRequest(digest), deps.library.catalogue);
  const { main } = digestMessages(digest, "dm-week");
  // The digest's buttons act on posted channel digests; this one is a private summary.
  return { text: main.text, blocks: main.blocks.filter((b) => b.type !== "actions") };
}

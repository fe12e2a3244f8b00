import type { App, BlockAction, ButtonAction, ViewSubmitAction } from "@slack/bolt";
import type { WebClient } from "@slack/web-api";
import type { Library } from "../../catalogue/graph.js";
import type { Lens } from "../../catalogue/schema.js";
import type { LogSink } from "../../logger.js";
import {
  APPLY_LENS_TO_THREAD,
  contrastMessage,
  helpMessage,
  journeyMessage,
  lensMessage,
  modesMessages,
  randomLensMessage,
  searchMessage,
  unknownLensMessage,
} from "../blocks/library.js";
import type { SlackMessage } from "../blocks/parts.js";
import { truncate } from "../mrkdwn.js";

/** What `/lens <text>` asks of the library, when it is not a problem to analyse. */
export type LibraryCommand =
  | { kind: "help" | "random" | "modes" }
  | { kind: "show" | "contrast"; lens: Lens }
  | { kind: "search"; query: string }
  | { kind: "journey"; from: Lens; to: Lens }
  | { kind: "unknown"; input: string; suggestions: string[] };

/** Lens names run to a few words; longer text after `show` is a problem that starts with "show". */
const MAX_NAME_WORDS = 6;

/**
 * Reads `/lens` text as a library command, or returns undefined when it is a problem to analyse.
 * `help`, `random` and `modes` must stand alone; `show`, `contrast`, `search` and `journey` take a
 * few words. So "show me why checkout is slow when traffic peaks on Mondays" stays a problem,
 * while "show pace layering" is a lens. An unknown lens name gets "did you mean".
 */
export function parseLibraryCommand(text: string, library: Library): LibraryCommand | undefined {
  const words = text.trim().split(/\s+/).filter(Boolean);
  const verb = words[0]?.toLowerCase();
  const rest = words.slice(1);
  const { catalogue } = library;
  const lens = (name: string): Lens | { unknown: true } => catalogue.find(name) ?? { unknown: true };
  const unknown = (input: string): LibraryCommand => ({
    kind: "unknown",
    input,
    suggestions: catalogue.closestNames(input),
  });
  switch (verb) {
    case "help":
    case "random":
    case "modes":
      return rest.length === 0 ? { kind: verb } : undefined;
    case "show":
    case "contrast": {
      if (rest.length === 0 || rest.length > MAX_NAME_WORDS) return undefined;
      const name = rest.join(" ");
      const found = lens(name);
      return "unknown" in found ? unknown(name) : { kind: verb, lens: found };
    }
    case "search":
      return rest.length > 0 && rest.length <= 8 ? { kind: "search", query: rest.join(" ") } : undefined;
    case "journey": {
      const at = rest.findIndex((w) => w.toLowerCase() === "to");
      if (at <= 0 || at >= rest.length - 1 || rest.length > 2 * MAX_NAME_WORDS + 1) return undefined;
      const [a, b] = [rest.slice(0, at).join(" "), rest.slice(at + 1).join(" ")];
      const from = lens(a);
      const to = lens(b);
      if ("unknown" in from) return unknown(a);
      if ("unknown" in to) return unknown(b);
      return { kind: "journey", from, to };
    }
    default:
      return undefined;
  }
}

/** The ephemeral answer to a library command (one message; the modes list is the only long one). */
export function answerLibraryCommand(
  cmd: LibraryCommand,
  library: Library,
  random: () => number,
): SlackMessage[] {
  const { catalogue, graph, index } = library;
  const name = (id: string) => catalogue.get(id)?.name ?? id;
  switch (cmd.kind) {
    case "help":
      return [helpMessage()];
    case "random":
      return [randomLensMessage(graph.random(random))];
    case "modes":
      return modesMessages(catalogue.modes, name);
    case "show":
      return [lensMessage(cmd.lens, name)];
    case "contrast":
      return [contrastMessage(cmd.lens, graph.contrasts(cmd.lens.id))];
    case "search":
      return [searchMessage(cmd.query, index.search(cmd.query, 8))];
    case "journey":
      return [journeyMessage(cmd.from, cmd.to, graph.journey(cmd.from.id, cmd.to.id))];
    case "unknown":
      return [unknownLensMessage(cmd.input, cmd.suggestions)];
  }
}

/** `callback_id` of the modal that asks for a thread or a problem to apply one lens to. */
export const APPLY_MODAL = "library_apply_modal";

/** What the apply modal remembers between opening and submission. */
interface ApplyMetadata {
  lensId: string;
  channel: string;
}

/**
 * "Apply to a thread…" on a library answer: opens a modal asking for a thread's link or a problem,
 * then starts a run with that one lens, through `startRun` (the same path as `/lens` and the
 * message shortcut): on the thread, when the person and lensbot are both in its conversation, or
 * on the problem, in the channel where the button was clicked. The lens id is checked against the
 * catalogue at both ends.
 */
export function registerLibraryActions(
  app: App,
  deps: {
    library: Library;
    logger: LogSink;
    maxProblemChars: number;
    /**
     * Starts a run with one lens: on a typed problem in the channel where the button was clicked,
     * or on an existing thread (`threadTs`, read like the message shortcut reads one).
     */
    startRun: (
      client: WebClient,
      run: {
        teamId?: string;
        channel: string;
        userId: string;
        question: string;
        lensId: string;
        triggerId: string;
        threadTs?: string;
      },
    ) => Promise<void>;
  },
): void {
  const { catalogue } = deps.library;
  app.action<BlockAction<ButtonAction>>(
    APPLY_LENS_TO_THREAD,
    async ({ ack, body, action, client, respond }) => {
      await ack();
      const lens = catalogue.get(action.value ?? "");
      const channel = body.channel?.id;
      if (!lens || !channel) return;
      try {
        await client.views.open({
          trigger_id: body.trigger_id,
          view: {
            type: "modal",
            callback_id: APPLY_MODAL,
            private_metadata: JSON.stringify({ lensId: lens.id, channel } satisfies ApplyMetadata),
            title: { type: "plain_text", text: truncate(`Apply ${lens.name}`, 24) },
            submit: { type: "plain_text", text: "Apply" },
            close: { type: "plain_text", text: "Cancel" },
            blocks: [
              {
                type: "input",
                block_id: "thread",
                optional: true,
                label: { type: "plain_text", text: "A thread to apply it to (its link)" },
                hint: {
                  type: "plain_text",
                  text: "In the thread: ⋮ → Copy link. Or leave this empty and describe a problem below.",
                },
                element: { type: "url_text_input", action_id: "link" },
              },
              {
                type: "input",
                block_id: "problem",
                optional: true,
                label: { type: "plain_text", text: "Or: what is your team stuck on?" },
                element: {
                  type: "plain_text_input",
                  action_id: "text",
                  multiline: true,
                  max_length: Math.min(deps.maxProblemChars, 3000),
                  placeholder: { type: "plain_text", text: "What happens, what you tried, what it costs" },
                },
              },
            ],
          },
        });
      } catch (err) {
        deps.logger.warn({ err: (err as Error).message }, "could not open the apply modal");
        await respond({
          response_type: "ephemeral",
          replace_original: false,
          text: "Sorry, I could not open the form. Try `/lens <your problem>` instead.",
        }).catch(() => {});
      }
    },
  );

  app.view<ViewSubmitAction>(APPLY_MODAL, async ({ ack, body, view, client }) => {
    const question = view.state.values.problem?.text?.value?.trim() ?? "";
    const link = view.state.values.thread?.link?.value?.trim() ?? "";
    if (!question && !link) {
      await ack({
        response_action: "errors",
        errors: {
          thread: "Paste a thread's link, or describe the problem below.",
          problem: "Or describe the problem here.",
        },
      });
      return;
    }
    let meta: ApplyMetadata | undefined;
    try {
      meta = JSON.parse(view.private_metadata) as ApplyMetadata;
    } catch {
      meta = undefined;
    }
    const lens = meta && catalogue.get(meta.lensId);
    if (!meta || !lens) {
      await ack({ response_action: "errors", errors: { problem: "This form has expired; open it again." } });
      return;
    }
    const base = {
      ...(body.team?.id && { teamId: body.team.id }),
      userId: body.user.id,
      lensId: lens.id,
      triggerId: body.view.id,
    };
    if (link) {
      const thread = threadOfLink(link);
      if (!thread) {
        await ack({
          response_action: "errors",
          errors: { thread: "That is not a link to a Slack message. In the thread: ⋮ → Copy link." },
        });
        return;
      }
      // The person must be in the conversation they point lensbot at (Slack's answer, not ours).
      if (!(await isMember(client, thread.channel, body.user.id))) {
        await ack({
          response_action: "errors",
          errors: { thread: "I can only apply lenses to threads in conversations both you and I are in." },
        });
        return;
      }
      await ack();
      await deps.startRun(client, { ...base, channel: thread.channel, threadTs: thread.threadTs, question });
      return;
    }
    await ack();
    await deps.startRun(client, { ...base, channel: meta.channel, question });
  });
}

/**
 * The conversation and thread of a Slack message link
 * (`https://x.slack.com/archives/C123/p1700000000000100`, with `?thread_ts=…` when the message is
 * a reply), or undefined for anything else.
 */
export function threadOfLink(link: string): { channel: string; threadTs: string } | undefined {
  try {
    const url = new URL(link);
    if (url.protocol !== "https:" || !(url.hostname === "slack.com" || url.hostname.endsWith(".slack.com"))) {
      return undefined;
    }
    const match = /^\/archives\/([CGD][A-Z0-9]+)\/p(\d{10})(\d{6})$/.exec(url.pathname);
    if (!match) return undefined;
    const threadTs = url.searchParams.get("thread_ts");
    return {
      channel: match[1] as string,
      threadTs: threadTs && /^\d{10}\.\d{6}$/.test(threadTs) ? threadTs : `${match[2]}.${match[3]}`,
    };
  } catch {
    return undefined;
  }
}

/** Whether `user` is in `channel` (`conversations.members`, which also needs lensbot in it). */
async function isMember(client: WebClient, channel: string, user: string): Promise<boolean> {
  try {
    for await (const page of client.paginate("conversations.members", { channel, limit: 1000 })) {
      if ((page as { members?: string[] }).members?.includes(user)) return true;
    }
    return false;
  } catch {
    return false;
  }
}

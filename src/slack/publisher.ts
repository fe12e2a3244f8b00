import type { AnyChunk, TaskUpdateChunk } from "@slack/types";
import { ErrorCode as SlackCode, type WebClient } from "@slack/web-api";
import type { Catalogue } from "../catalogue/catalogue.js";
import { LensbotError, SlackError } from "../errors.js";
import type { Sink } from "../pipeline/ports.js";
import {
  type FollowUp,
  isFullSynthesis,
  type LensAnalysis,
  type ModeSuggestion,
  type Synthesis,
} from "../pipeline/schemas.js";
import type { RecordStore } from "../store/records.js";
import {
  errorCard,
  followUpCard,
  lensCard,
  modeCard,
  type SlackMessage,
  type StatusState,
  statusMessage,
  synthesisCard,
} from "./blocks/cards.js";
import { sanitiseModelText, truncate } from "./mrkdwn.js";
import { withRateLimit } from "./rate-limit.js";

export interface PublisherDeps {
  client: WebClient;
  store: RecordStore;
  catalogue: Catalogue;
  /**
   * Who is posting: a token unique to this attempt of this job. Slot claims carry it, so two
   * attempts that overlap never post the same slot.
   */
  owner: string;
  /** Injected for tests; default setTimeout. */
  sleep?: (ms: number) => Promise<void>;
  /** A claim older than this (ms) whose ts was never recorded is looked for in the thread, then taken over. Default 15 s. */
  staleClaimMs?: number;
  /**
   * Show progress as a streamed task plan (`chat.startStream`) to this person, where Slack allows
   * it; absent, or refused by Slack, progress is the edited status message.
   */
  stream?: { userId: string; teamId?: string };
  /**
   * The run is in an agent DM thread: its progress is also set as the thread's status
   * (`assistant.threads.setStatus`), naming the step and the lenses at work.
   */
  assistantThread?: boolean;
}

/** The `metadata.event_type` of every message lensbot posts into a run's thread. */
export const SLOT_EVENT = "lensbot_slot";

/** The title of a run's streamed plan, per phase. */
const PLAN_TITLE: Record<StatusState["phase"], string> = {
  suggesting: "Choosing thinking modes and lenses",
  analysing: "Analysing through each lens",
  synthesising: "Synthesising",
  done: "Done",
  failed: "Stopped",
};

const TASK_STATUS: Record<StatusState["lenses"][number]["status"], TaskUpdateChunk["status"]> = {
  pending: "pending",
  running: "in_progress",
  done: "complete",
  failed: "error",
};

/** The agent thread's status for a run's state ("" clears it when the run is over). */
function assistantStatus(state: StatusState): string {
  switch (state.phase) {
    case "suggesting":
      return "is choosing thinking modes and lenses…";
    case "analysing": {
      const running = state.lenses.filter((l) => l.status === "running").map((l) => l.name);
      return running.length > 0
        ? truncate(`is looking through ${running.join(" and ")}…`, 200)
        : "is analysing through each lens…";
    }
    case "synthesising":
      return "is writing the synthesis…";
    default:
      return "";
  }
}

/** The synthesis in a line, as the stream ends with it: the recommendation first where there is one. */
function synthesisLine(s: Synthesis): string {
  if (isFullSynthesis(s))
    return `Recommendation (confidence ${s.confidence.level}): ${s.recommendation.summary}`;
  return s.source === "model"
    ? `Reframe: ${s.reframe}`
    : `Look first at ${s.look_first.map((l) => l.lens_name).join(", ")}. Settle first: ${s.settle_first}`;
}

/** What Slack answers when a message's table is refused (a workspace without tables, or a bad table). */
const TABLE_REFUSED = new Set(["invalid_blocks", "invalid_attachments"]);

/** Slack errors that say Slack is busy or broken right now, not that a feature is unavailable. */
const SLACK_TRANSIENT = new Set([
  "ratelimited",
  "internal_error",
  "fatal_error",
  "service_unavailable",
  "request_timeout",
]);

/** Pages of the thread read when looking for a message whose reply was lost. */
const FIND_PAGES = 10;

/**
 * Posts a message only `responseUrl`'s person sees (a command's, shortcut's or button's response
 * URL: Slack honours it for 30 minutes, up to five times, and it needs no channel membership).
 * @throws Error when Slack answers other than 2xx, or not within 10 s.
 */
export async function respondEphemeral(responseUrl: string, text: string): Promise<void> {
  const res = await fetch(responseUrl, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ response_type: "ephemeral", replace_original: false, text }),
    signal: AbortSignal.timeout(10_000),
  });
  if (!res.ok) throw new Error(`response_url answered HTTP ${res.status}`);
}

export interface RunTarget {
  runId: string;
  channel: string;
  /** The thread to post into; without it, messages are posted at the top of the channel (digests). */
  threadTs?: string;
  /** The workspace, when Slack said: features it refused (streaming, tables) are remembered per workspace. */
  teamId?: string;
}

/**
 * Posts one run's messages into its thread, idempotently: every message has a slot (status, mode,
 * lens:<id>, synthesis, error, each split into parts `#0`, `#1`…).
 * - Each part is claimed atomically in Redis before it is posted, and its ts recorded after; a
 *   retried, stalled or overlapping job edits what exists instead of posting again.
 * - Every message carries Slack message metadata (run id and slot). When a post's reply is lost
 *   (Slack applied it, the answer never came) or an earlier claim was never completed, the thread
 *   is searched for that metadata and the message found is adopted, never posted twice.
 * - Links never unfurl. Slack rate limits are waited out (Retry-After) per call; Slack's answers
 *   become coded errors (`SlackError`), final or passing.
 */
export class ThreadPublisher {
  readonly #deps: PublisherDeps;
  readonly #run: RunTarget;
  #status: StatusState = { phase: "suggesting", lenses: [] };
  /** Slack work in order (see #enqueue); an older status never overwrites a newer one. */
  #queue: Promise<void> = Promise.resolve();
  #failure: unknown;
  #statusPending = false;
  /** Lens ids of the run (kept from the suggestion), never offered again as "Apply". */
  #runLenses = new Set<string>();
  /** True once this run's progress is (or must be) the ordinary status message, not a stream. */
  #streamOff: boolean;
  /** What this instance last streamed for each task id (and "plan" for the plan title). */
  #sent = new Map<string, string>();
  /** The ts of the run's open stream, once this publisher has started or found it. */
  #streamTs?: string;
  /** The synthesis in one line, streamed before the stream stops. */
  #synthesisLine?: string;
  /** Set once Slack refused a synthesis's `table` block: the risks are aligned sections from then on. */
  #tablesRefused = false;

  constructor(deps: PublisherDeps, run: RunTarget) {
    this.#deps = deps;
    this.#run = run;
    this.#streamOff = !deps.stream || !run.threadTs;
  }

  /**
   * Posts (or updates) the messages of `slot`. Parts beyond the new count are left as they are.
   * @returns the ts of each part.
   * @throws SlackError when Slack refuses a call or cannot be reached.
   */
  async publish(slot: string, messages: SlackMessage[]): Promise<string[]> {
    const out: string[] = [];
    for (const [i, message] of messages.entries()) out.push(await this.#part(`${slot}#${i}`, message));
    return out;
  }

  /** One part of a slot: edit it if it exists, adopt it if it was posted but not recorded, else post it. */
  async #part(key: string, message: SlackMessage): Promise<string> {
    const { store, owner } = this.#deps;
    const staleMs = this.#deps.staleClaimMs ?? 15_000;
    for (let waited = 0; ; ) {
      const claim = await store.claimSlot(this.#run.runId, key, owner, staleMs);
      if (claim.state === "posted") {
        await this.#update(claim.ts, message);
        return claim.ts;
      }
      if (claim.state === "busy") {
        // Someone else is posting this part right now: wait for their ts (or for the claim to go stale).
        const step = Math.min(500, staleMs);
        await this.#sleep(step);
        waited += step;
        if (waited > 4 * staleMs)
          throw new SlackError("chat.postMessage", undefined, "slot claim never completed");
        continue;
      }
      if (claim.state === "stale") {
        const found = await this.#find(key);
        if (found) {
          await store.saveMessageTs(this.#run.runId, key, found);
          await this.#update(found, message);
          return found;
        }
      }
      return this.#post(key, message);
    }
  }

  async #post(key: string, message: SlackMessage): Promise<string> {
    const { client, store } = this.#deps;
    let ts: string | undefined;
    try {
      const res = await this.#call("chat.postMessage", () =>
        client.chat.postMessage({
          channel: this.#run.channel,
          ...(this.#run.threadTs && { thread_ts: this.#run.threadTs }),
          text: message.text,
          blocks: message.blocks,
          ...(message.attachments?.length && { attachments: message.attachments }),
          unfurl_links: false,
          unfurl_media: false,
          metadata: { event_type: SLOT_EVENT, event_payload: { run_id: this.#run.runId, slot: key } },
        }),
      );
      ts = res.ts;
    } catch (err) {
      // No answer: Slack may have posted it anyway. Adopt it if it is there; otherwise leave the
      // claim in place, so the next attempt looks again before posting.
      if (err instanceof SlackError && err.slackError === undefined) {
        const found = await this.#find(key).catch(() => undefined);
        if (found) ts = found;
      }
      if (!ts) throw err;
    }
    if (!ts) throw new SlackError("chat.postMessage", "no_ts", "chat.postMessage returned no ts");
    await store.saveMessageTs(this.#run.runId, key, ts);
    return ts;
  }

  async #update(ts: string, message: SlackMessage): Promise<void> {
    await this.#call("chat.update", () =>
      this.#deps.client.chat.update({
        channel: this.#run.channel,
        ts,
        text: message.text,
        blocks: message.blocks,
        // Sent whenever the card says (an empty list removes a table an earlier version had).
        ...(message.attachments && { attachments: message.attachments }),
      }),
    );
  }

  /**
   * The ts of this run's message for `slot`, found by its metadata in the thread (or, for a
   * top-level post, among the channel's latest messages), if it is there.
   */
  async #find(slot: string): Promise<string | undefined> {
    const { client } = this.#deps;
    const { channel, threadTs } = this.#run;
    let cursor: string | undefined;
    for (let page = 0; page < FIND_PAGES; page++) {
      const paging = { include_all_metadata: true, limit: 200, ...(cursor && { cursor }) };
      const res = threadTs
        ? await this.#call("conversations.replies", () =>
            client.conversations.replies({ channel, ts: threadTs, ...paging }),
          )
        : await this.#call("conversations.history", () =>
            client.conversations.history({ channel, ...paging }),
          );
      for (const m of res.messages ?? []) {
        const meta = (m as { metadata?: { event_type?: string; event_payload?: Record<string, unknown> } })
          .metadata;
        if (
          meta?.event_type === SLOT_EVENT &&
          meta.event_payload?.run_id === this.#run.runId &&
          meta.event_payload?.slot === slot &&
          m.ts
        ) {
          return m.ts;
        }
      }
      cursor = res.response_metadata?.next_cursor || undefined;
      if (!cursor) return undefined;
    }
    return undefined;
  }

  /** A Web API call with rate limits waited out and Slack's errors coded. */
  async #call<T>(method: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await withRateLimit(fn, this.#deps.sleep ? { sleep: this.#deps.sleep } : {});
    } catch (err) {
      if (err instanceof LensbotError) throw err;
      const code = (err as { code?: string }).code;
      const slackError =
        code === SlackCode.PlatformError ? (err as { data?: { error?: string } }).data?.error : undefined;
      throw new SlackError(method, slackError, err);
    }
  }

  #sleep(ms: number): Promise<void> {
    return (this.#deps.sleep ?? ((t: number) => new Promise<void>((r) => setTimeout(r, t))))(ms);
  }

  /**
   * Replaces the status shown at the top of the run and publishes it now (awaited). Used outside
   * a pipeline run (the listener's "queued" line, the failure line).
   */
  async status(change: (s: StatusState) => StatusState): Promise<void> {
    this.#status = change(this.#status);
    await this.#enqueue(() => this.#showStatus());
  }

  /**
   * Changes the status without waiting (errors surface in `drain`). Edits are coalesced: however many changes arrive while
   * one chat.update is in flight, only the latest state is sent next.
   */
  progress(change: (s: StatusState) => StatusState): void {
    this.#statusLater(change);
  }

  #statusLater(change: (s: StatusState) => StatusState): void {
    this.#status = change(this.#status);
    if (this.#statusPending) return;
    this.#statusPending = true;
    void this.#enqueue(() => {
      this.#statusPending = false;
      return this.#showStatus();
    }).catch(() => {}); // surfaced by drain()
  }

  /**
   * Runs Slack work one task at a time, in the order it was asked for, without making the caller
   * wait: the pipeline never blocks on Slack, and messages still appear in event order.
   * The first failure is kept and rethrown by `drain`.
   */
  #enqueue(task: () => Promise<unknown>): Promise<void> {
    const next = this.#queue.then(task).then(
      () => undefined,
      (err: unknown) => {
        this.#failure ??= err;
        throw err;
      },
    );
    this.#queue = next.catch(() => {});
    return next;
  }

  /**
   * Waits until every queued post and edit has reached Slack.
   * @throws the first error any of them raised (so a failed post fails the job and is retried).
   */
  async drain(): Promise<void> {
    // Work queued by work in flight (a card's post queues a status edit) is waited for too.
    for (let tail = this.#queue; ; tail = this.#queue) {
      await tail;
      if (tail === this.#queue) break;
    }
    if (this.#failure !== undefined) {
      const err = this.#failure;
      this.#failure = undefined;
      throw err;
    }
  }

  async suggestion(s: ModeSuggestion, notes: string[]): Promise<void> {
    await this.publish("mode", modeCard(s, notes));
  }

  async lens(a: LensAnalysis): Promise<void> {
    const lens = this.#deps.catalogue.get(a.lens_id);
    // Offer only lenses the run does not have yet.
    const related = (lens?.related ?? []).flatMap((id) => {
      const r = this.#deps.catalogue.get(id);
      return r && !this.#runLenses.has(id) ? [{ id: r.id, name: r.name }] : [];
    });
    await this.publish(
      `lens:${a.lens_id}`,
      lensCard(a, { related, runId: this.#run.runId, lensName: (id) => this.#lensName(id) }),
    );
  }

  /**
   * Posts (or edits) the synthesis. Its risks go first as a `table` block; when Slack refuses the
   * message that carries it (`invalid_blocks` or `invalid_attachments`: a workspace without
   * tables), the synthesis is published again with the risks as aligned sections, so it is never
   * lost. Every part states its attachments (none: an empty list), so an edit removes a table an
   * earlier version of the part had.
   */
  async synthesis(s: Synthesis): Promise<void> {
    const card = (tables: boolean) =>
      synthesisCard(s, (id) => this.#lensName(id), this.#run.runId, { tables }).map((m) => ({
        ...m,
        attachments: m.attachments ?? [],
      }));
    const team = this.#run.teamId;
    if (!this.#tablesRefused && team) this.#tablesRefused = await this.#deps.store.refused(team, "table");
    if (!this.#tablesRefused) {
      const withTables = card(true);
      try {
        await this.publish("synthesis", withTables);
        return;
      } catch (err) {
        const hadTable = withTables.some((m) => m.attachments.length > 0);
        if (!(hadTable && err instanceof SlackError && TABLE_REFUSED.has(err.slackError ?? ""))) throw err;
        this.#tablesRefused = true;
        if (team) await this.#deps.store.rememberRefusal(team, "table").catch(() => {});
      }
    }
    await this.publish("synthesis", card(false));
  }

  /** Posts the answer to a follow-up question (slot `followup:<key>`, so a retry edits it). */
  async followUp(key: string, answer: FollowUp, question: string): Promise<void> {
    await this.publish(
      `followup:${key}`,
      followUpCard(answer, question, (id) => this.#lensName(id)),
    );
  }

  async error(referenceId: string, message: string): Promise<void> {
    await this.publish("error", errorCard({ referenceId, message }));
  }

  /** After a successful retry, replaces an earlier error card (if any) with a short note. */
  async clearError(): Promise<void> {
    if (!(await this.#deps.store.messageTs(this.#run.runId, "error#0"))) return;
    await this.publish("error", [
      {
        text: "This analysis was retried and has finished.",
        blocks: [
          {
            type: "context",
            elements: [{ type: "mrkdwn", text: "✅ Retried: the analysis above has finished." }],
          },
        ],
      },
    ]);
  }

  #lensName(id: string): string {
    return this.#deps.catalogue.get(id)?.name ?? id;
  }

  /**
   * A pipeline sink that posts each result as it arrives and keeps the status line current.
   * Nothing here makes the pipeline wait for Slack: posts are queued in order and the caller
   * awaits `drain()` once the run is over.
   */
  sink(notes: string[]): Sink {
    const setLens = (id: string, status: StatusState["lenses"][number]["status"], note?: string) =>
      this.#statusLater((s) => ({
        ...s,
        lenses: s.lenses.map((l) => (l.id === id ? { ...l, status } : l)),
        ...(note && { note }),
      }));
    const post = (task: () => Promise<void>) => void this.#enqueue(task).catch(() => {});
    return {
      suggestion: (s) => {
        this.#runLenses = new Set(s.lenses.map((l) => l.id));
        this.#statusLater((st) => ({
          ...st,
          phase: "analysing",
          lenses: s.lenses.map((l) => ({
            id: l.id,
            name: l.name,
            status: st.lenses.find((x) => x.id === l.id)?.status ?? ("pending" as const),
          })),
        }));
        post(() => this.suggestion(s, notes));
      },
      lensStarted: (lens) => setLens(lens.id, "running"),
      // A lens shows ✓ (and the run "done") only once its card is actually in the thread.
      lensDone: (a) =>
        post(async () => {
          await this.lens(a);
          setLens(a.lens_id, "done");
        }),
      lensFailed: (lens) =>
        setLens(lens.id, "failed", `${lens.name} could not be analysed; continuing with the rest.`),
      synthesisStarted: () => this.#statusLater((s) => ({ ...s, phase: "synthesising" })),
      synthesis: (s) =>
        post(async () => {
          await this.synthesis(s);
          this.#synthesisLine = synthesisLine(s);
          this.#statusLater((st) => ({ ...st, phase: "done" }));
        }),
    };
  }

  /**
   * Shows the current status: in the run's stream while there is one (started here when the status
   * slot is still free and Slack allows streaming), else as the edited status message. A stream
   * that fails (refused, expired, stopped elsewhere) is stopped with what it has, and the run goes
   * on with the edited message, on the same ts.
   */
  async #showStatus(): Promise<void> {
    if (this.#deps.assistantThread && this.#run.threadTs) {
      const threadTs = this.#run.threadTs;
      // Best effort: the thread's status is a courtesy; the status message or stream carries the same.
      await this.#deps.client.assistant.threads
        .setStatus({
          channel_id: this.#run.channel,
          thread_ts: threadTs,
          status: assistantStatus(this.#status),
          // Slack rotates these while the status shows: one per lens at work.
          ...(this.#status.phase === "analysing" && {
            loading_messages: this.#status.lenses
              .filter((l) => l.status === "running")
              .slice(0, 10)
              .map((l) => truncate(`Looking through ${l.name}…`, 100)),
          }),
        })
        .catch(() => {});
    }
    if (!this.#streamOff) {
      try {
        if (await this.#streamStatus()) return;
      } catch {
        this.#streamOff = true;
        await this.#closeStream();
      }
    }
    await this.publish("status", statusMessage(this.#status));
  }

  /** @returns false when this run's status is (or must become) an ordinary message. */
  async #streamStatus(): Promise<boolean> {
    const { store, client, owner } = this.#deps;
    const { runId, channel, threadTs } = this.#run;
    // Once this publisher knows the run's open stream, it appends without asking Redis again.
    if (!this.#streamTs) {
      const state = await store.streamState(runId);
      const ts = await store.messageTs(runId, "status#0");
      if (state === "open" && ts) this.#streamTs = ts;
      else if (state !== undefined || ts) {
        this.#streamOff = true;
        return false;
      }
    }
    if (this.#streamTs) {
      const ts = this.#streamTs;
      const chunks = this.#changedChunks();
      if (chunks.length > 0) {
        await this.#call("chat.appendStream", () => client.chat.appendStream({ channel, ts, chunks }));
      }
      await this.#finishIfOver(ts);
      return true;
    }
    const team = this.#run.teamId;
    if (team && (await store.refused(team, "stream"))) {
      this.#streamOff = true;
      return false;
    }
    const claim = await store.claimSlot(runId, "status#0", owner, this.#deps.staleClaimMs ?? 15_000);
    if (claim.state !== "claimed") {
      this.#streamOff = true;
      return false;
    }
    const recipient = this.#deps.stream as { userId: string; teamId?: string };
    let started: string | undefined;
    try {
      const res = await this.#call("chat.startStream", () =>
        client.chat.startStream({
          channel,
          thread_ts: threadTs as string,
          recipient_user_id: recipient.userId,
          ...(recipient.teamId && { recipient_team_id: recipient.teamId }),
          task_display_mode: "plan",
          chunks: this.#changedChunks(),
        }),
      );
      started = res.ts;
    } catch (err) {
      // Streaming is not available here (plan, workspace, token): the ordinary message it is, and
      // for this workspace's next runs too. A busy or unreachable Slack says nothing about that.
      if (team && err instanceof SlackError && err.slackError && !SLACK_TRANSIENT.has(err.slackError)) {
        await store.rememberRefusal(team, "stream").catch(() => {});
      }
    }
    if (!started) {
      this.#streamOff = true;
      return false;
    }
    await store.saveMessageTs(runId, "status#0", started);
    await store.setStreamState(runId, "open");
    this.#streamTs = started;
    await this.#finishIfOver(started);
    return true;
  }

  /** The plan title and the tasks whose status changed since this instance last streamed them. */
  #changedChunks(): AnyChunk[] {
    const out: AnyChunk[] = [];
    const { phase, lenses, note } = this.#status;
    const title = truncate(`${PLAN_TITLE[phase]}${note ? ` · ${note}` : ""}`, 200);
    if (this.#sent.get("plan") !== title) {
      out.push({ type: "plan_update", title });
      this.#sent.set("plan", title);
    }
    const tasks: TaskUpdateChunk[] = lenses.map((l) => ({
      type: "task_update",
      id: `lens:${l.id}`,
      title: truncate(l.name, 100),
      status: TASK_STATUS[l.status],
    }));
    if (lenses.length > 0) {
      tasks.push({
        type: "task_update",
        id: "synthesis",
        title: "Synthesis",
        status:
          phase === "done"
            ? "complete"
            : phase === "synthesising"
              ? "in_progress"
              : phase === "failed"
                ? "error"
                : "pending",
      });
    }
    for (const t of tasks) {
      if (this.#sent.get(t.id) === t.status) continue;
      this.#sent.set(t.id, t.status);
      out.push(t);
    }
    return out;
  }

  /** When the run is over: streams the synthesis in a line (or the failure), then stops the stream once. */
  async #finishIfOver(ts: string): Promise<void> {
    const { phase, note } = this.#status;
    if (phase !== "done" && phase !== "failed") return;
    const last = phase === "done" ? this.#synthesisLine : note;
    const final = statusMessage(this.#status)[0];
    await this.#call("chat.stopStream", () =>
      this.#deps.client.chat.stopStream({
        channel: this.#run.channel,
        ts,
        ...(last && { chunks: [{ type: "markdown_text", text: `\n${sanitiseModelText(last)}` }] }),
        ...(final && { blocks: final.blocks }),
      }),
    );
    await this.#deps.store.setStreamState(this.#run.runId, "closed");
    this.#streamOff = true;
  }

  /** Stops the run's stream after a failure, keeping what it shows; errors here are ignored. */
  async #closeStream(): Promise<void> {
    const { store, client } = this.#deps;
    const ts = await store.messageTs(this.#run.runId, "status#0").catch(() => undefined);
    if (ts) await client.chat.stopStream({ channel: this.#run.channel, ts }).catch(() => {});
    await store.setStreamState(this.#run.runId, "closed").catch(() => {});
  }

  /** Marks the run failed in its status line. */
  async failed(note: string): Promise<void> {
    await this.status((s) => ({ ...s, phase: "failed", note }));
  }
}

import { ErrorCode as SlackCode, type WebClient } from "@slack/web-api";
import type { Catalogue } from "../catalogue/catalogue.js";
import { LensbotError, SlackError } from "../errors.js";
import type { Sink } from "../pipeline/ports.js";
import type { LensAnalysis, ModeSuggestion, Synthesis } from "../pipeline/schemas.js";
import type { RecordStore } from "../store/records.js";
import {
  errorCard,
  lensCard,
  modeCard,
  type SlackMessage,
  type StatusState,
  statusMessage,
  synthesisCard,
} from "./blocks/cards.js";
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
}

/** The `metadata.event_type` of every message lensbot posts into a run's thread. */
export const SLOT_EVENT = "lensbot_slot";

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

  constructor(deps: PublisherDeps, run: RunTarget) {
    this.#deps = deps;
    this.#run = run;
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
    await this.#enqueue(() => this.publish("status", statusMessage(this.#status)));
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
      return this.publish("status", statusMessage(this.#status));
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

  async synthesis(s: Synthesis): Promise<void> {
    await this.publish(
      "synthesis",
      synthesisCard(s, (id) => this.#lensName(id), this.#run.runId),
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
          this.#statusLater((st) => ({ ...st, phase: "done" }));
        }),
    };
  }

  /** Marks the run failed in its status line. */
  async failed(note: string): Promise<void> {
    await this.status((s) => ({ ...s, phase: "failed", note }));
  }
}

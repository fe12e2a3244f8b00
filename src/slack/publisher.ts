import type { WebClient } from "@slack/web-api";
import type { Catalogue } from "../catalogue/catalogue.js";
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
  /** Injected for tests; default setTimeout. */
  sleep?: (ms: number) => Promise<void>;
}

export interface RunTarget {
  runId: string;
  channel: string;
  threadTs: string;
}

/**
 * Posts one run's messages into its thread, idempotently: every message has a slot (status, mode,
 * lens:<id>, synthesis, error, each split into parts `#0`, `#1`…). The ts of each posted part is
 * kept in Redis, so a retried or stalled job updates what it already posted instead of posting
 * it again. Links never unfurl. Slack rate limits are waited out (Retry-After) per call.
 */
export class ThreadPublisher {
  readonly #deps: PublisherDeps;
  readonly #run: RunTarget;
  #status: StatusState = { phase: "suggesting", lenses: [] };
  /** Slack work in order (see #enqueue); an older status never overwrites a newer one. */
  #queue: Promise<void> = Promise.resolve();
  #failure: unknown;
  #statusPending = false;

  constructor(deps: PublisherDeps, run: RunTarget) {
    this.#deps = deps;
    this.#run = run;
  }

  /**
   * Posts (or updates) the messages of `slot`. Parts beyond the new count are left as they are.
   * @returns the ts of each part.
   */
  async publish(slot: string, messages: SlackMessage[]): Promise<string[]> {
    const { client, store } = this.#deps;
    const call = <T>(fn: () => Promise<T>) =>
      withRateLimit(fn, this.#deps.sleep ? { sleep: this.#deps.sleep } : {});
    const out: string[] = [];
    for (const [i, message] of messages.entries()) {
      const key = `${slot}#${i}`;
      const existing = await store.messageTs(this.#run.runId, key);
      if (existing) {
        await call(() =>
          client.chat.update({
            channel: this.#run.channel,
            ts: existing,
            text: message.text,
            blocks: message.blocks,
          }),
        );
        out.push(existing);
        continue;
      }
      const res = await call(() =>
        client.chat.postMessage({
          channel: this.#run.channel,
          thread_ts: this.#run.threadTs,
          text: message.text,
          blocks: message.blocks,
          unfurl_links: false,
          unfurl_media: false,
        }),
      );
      if (!res.ts) throw new Error("chat.postMessage returned no ts");
      await store.saveMessageTs(this.#run.runId, key, res.ts);
      out.push(res.ts);
    }
    return out;
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
    await this.#queue;
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
    const related = (lens?.related ?? []).flatMap((id) => {
      const r = this.#deps.catalogue.get(id);
      return r ? [{ id: r.id, name: r.name }] : [];
    });
    await this.publish(
      `lens:${a.lens_id}`,
      lensCard(a, { related, runId: this.#run.runId, lensName: (id) => this.#lensName(id) }),
    );
  }

  async synthesis(s: Synthesis): Promise<void> {
    await this.publish(
      "synthesis",
      synthesisCard(s, (id) => this.#lensName(id)),
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
        this.#statusLater(() => ({
          phase: "analysing",
          lenses: s.lenses.map((l) => ({ id: l.id, name: l.name, status: "pending" as const })),
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
      lensFailed: (lens, err) =>
        setLens(lens.id, "failed", `${lens.name} could not be analysed (${err.message}).`),
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

import type { WebClient } from "@slack/web-api";
import type { Catalogue } from "../catalogue/catalogue.js";
import type { Lens } from "../catalogue/schema.js";
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
  /** Status edits run one after another, so an older state never overwrites a newer one. */
  #statusChain: Promise<unknown> = Promise.resolve();

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

  /** Replaces the status shown at the top of the run and publishes it. */
  async status(change: (s: StatusState) => StatusState): Promise<void> {
    this.#status = change(this.#status);
    const next = this.#statusChain.then(() => this.publish("status", statusMessage(this.#status)));
    this.#statusChain = next.catch(() => {});
    await next;
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

  /** A pipeline sink that posts each result as it arrives and keeps the status line current. */
  sink(notes: string[]): Sink {
    const setLens = (lens: Lens, status: StatusState["lenses"][number]["status"], note?: string) =>
      this.status((s) => ({
        ...s,
        lenses: s.lenses.map((l) => (l.id === lens.id ? { ...l, status } : l)),
        ...(note && { note }),
      }));
    return {
      suggestion: async (s) => {
        await this.status(() => ({
          phase: "analysing",
          lenses: s.lenses.map((l) => ({ id: l.id, name: l.name, status: "pending" as const })),
        }));
        await this.suggestion(s, notes);
      },
      lensStarted: (lens) => setLens(lens, "running"),
      lensDone: async (a) => {
        await this.lens(a);
        const lens = this.#deps.catalogue.get(a.lens_id);
        if (lens) await setLens(lens, "done");
      },
      lensFailed: (lens, err) =>
        setLens(lens, "failed", `${lens.name} could not be analysed (${err.message}).`),
      synthesisStarted: () => this.status((s) => ({ ...s, phase: "synthesising" })),
      synthesis: async (s) => {
        await this.synthesis(s);
        await this.status((st) => ({ ...st, phase: "done" }));
      },
    };
  }

  /** Marks the run failed in its status line. */
  async failed(note: string): Promise<void> {
    await this.status((s) => ({ ...s, phase: "failed", note }));
  }
}

import type { Queue } from "bullmq";
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { CallUsage } from "../pipeline/schemas.js";

/** The states of a BullMQ queue reported as `lensbot_queue_jobs`. */
const QUEUE_STATES = ["waiting", "active", "delayed", "failed", "completed"] as const;

type Fetch = typeof globalThis.fetch;

/**
 * lensbot's Prometheus metrics (prom-client), one registry per process:
 * - the default process metrics (CPU, memory, event loop lag, GC);
 * - `lensbot_queue_jobs{queue,state}`: jobs per BullMQ queue and state, read when scraped;
 * - `lensbot_step_duration_seconds{step}`: suggest, analyze (per lens) and synthesize;
 * - `lensbot_model_calls_total{model,step}` and `lensbot_model_tokens_total{model,kind}`, kind
 *   input | output | cache_read | cache_write, from the usage each model call reports;
 * - `lensbot_slack_api_calls_total{method}` and `lensbot_slack_api_errors_total{method,error}`,
 *   counted by the fetch the Web API clients use (`slackFetch`);
 * - `lensbot_requests_total{kind,outcome}`: Slack requests (commands, events, actions,
 *   shortcuts, views) acknowledged, by whether their listener then finished or failed.
 * Labels never carry ids, text or tokens.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly #slackCalls: Counter<"method">;
  readonly #slackErrors: Counter<"method" | "error">;
  readonly #requests: Counter<"kind" | "outcome">;
  readonly #modelCalls: Counter<"model" | "step">;
  readonly #modelTokens: Counter<"model" | "kind">;
  readonly #steps: Histogram<"step">;

  constructor(options: { queues?: readonly Queue[] } = {}) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    this.#slackCalls = new Counter({
      name: "lensbot_slack_api_calls_total",
      help: "Slack Web API calls, by method",
      labelNames: ["method"],
      registers,
    });
    this.#slackErrors = new Counter({
      name: "lensbot_slack_api_errors_total",
      help: "Slack Web API calls that failed, by method and error (HTTP status when Slack gave no error)",
      labelNames: ["method", "error"],
      registers,
    });
    this.#requests = new Counter({
      name: "lensbot_requests_total",
      help: "Slack requests acknowledged, by kind and whether their listener finished or failed",
      labelNames: ["kind", "outcome"],
      registers,
    });
    this.#modelCalls = new Counter({
      name: "lensbot_model_calls_total",
      help: "Model calls, by model and pipeline step",
      labelNames: ["model", "step"],
      registers,
    });
    this.#modelTokens = new Counter({
      name: "lensbot_model_tokens_total",
      help: "Model tokens, by model and kind (input, output, cache_read, cache_write)",
      labelNames: ["model", "kind"],
      registers,
    });
    this.#steps = new Histogram({
      name: "lensbot_step_duration_seconds",
      help: "Time per pipeline step (analyze: per lens)",
      labelNames: ["step"],
      buckets: [0.1, 0.5, 1, 2, 5, 10, 20, 40, 80, 160, 320],
      registers,
    });
    const queues = options.queues ?? [];
    new Gauge({
      name: "lensbot_queue_jobs",
      help: "Jobs per BullMQ queue and state",
      labelNames: ["queue", "state"],
      registers,
      async collect() {
        for (const queue of queues) {
          const counts = await queue.getJobCounts(...QUEUE_STATES).catch(() => undefined);
          if (!counts) continue;
          for (const state of QUEUE_STATES) this.set({ queue: queue.name, state }, counts[state] ?? 0);
        }
      },
    });
  }

  /** Records one model call's usage (tokens). */
  modelUsage(u: CallUsage): void {
    const step = u.step.replace(/\s*\(.*\)$/, "");
    this.#modelCalls.inc({ model: u.model, step });
    this.#modelTokens.inc({ model: u.model, kind: "input" }, u.input_tokens);
    this.#modelTokens.inc({ model: u.model, kind: "output" }, u.output_tokens);
    this.#modelTokens.inc({ model: u.model, kind: "cache_read" }, u.cache_read_input_tokens);
    this.#modelTokens.inc({ model: u.model, kind: "cache_write" }, u.cache_creation_input_tokens);
  }

  /** Records how long a pipeline step took (ms). */
  stepDuration(step: "suggest" | "analyze" | "synthesize", ms: number): void {
    this.#steps.observe({ step }, ms / 1000);
  }

  /** Counts one acknowledged Slack request. */
  request(kind: string, outcome: "handled" | "failed"): void {
    this.#requests.inc({ kind, outcome });
  }

  /**
   * A fetch for the Web API clients (their `fetch` option) that counts each call by method, and
   * each failure by Slack's `error` (or the HTTP status). The response is read from a clone, so the
   * client gets it untouched.
   */
  slackFetch(fetch: Fetch = globalThis.fetch): Fetch {
    return async (input, init) => {
      const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
      const method = /\/api\/([a-zA-Z.]+)/.exec(url)?.[1] ?? "other";
      this.#slackCalls.inc({ method });
      try {
        const res = await fetch(input, init);
        if (!res.ok) this.#slackErrors.inc({ method, error: `http_${res.status}` });
        else {
          const body = (await res
            .clone()
            .json()
            .catch(() => undefined)) as { ok?: boolean; error?: string } | undefined;
          if (body && body.ok === false) this.#slackErrors.inc({ method, error: body.error ?? "unknown" });
        }
        return res;
      } catch (err) {
        this.#slackErrors.inc({ method, error: "network" });
        throw err;
      }
    };
  }
}

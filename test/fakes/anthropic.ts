/**
 * A loopback fake of the Anthropic Messages API (`POST /v1/messages`, plain JSON or streamed as
 * server-sent events), reached by the real `@anthropic-ai/sdk` through its base URL. Tests script
 * it per request: valid structured answers, invalid JSON, schema-violating JSON, HTTP errors with
 * retry-after, slow answers. Every request is recorded with its body and arrival time.
 *
 * Prompt caching is accounted as strictly as the service does it (prompt-caching and
 * structured-output docs): a request reads the longest prefix, up to one of its `cache_control`
 * markers, that an earlier request wrote with the same model and the same `output_config.format`,
 * but only once that earlier request's response has begun; prefixes under the model's minimum
 * length are never cached; entries live 5 minutes from their last use. What it writes becomes
 * readable when its own response begins. Tokens are counted as 4 characters each.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { sampleFromSchema } from "./json-schema-sample.js";

export interface RecordedRequest {
  body: MessagesBody;
  headers: IncomingMessage["headers"];
  /** ms since the fake started (performance.now based). */
  receivedAt: number;
  /** Which step this looks like, from its task tag (see `stepOf`). */
  step: string;
  /** The token usage the fake reported for it (set once it has answered). */
  usage?: {
    input_tokens: number;
    output_tokens: number;
    cache_read_input_tokens: number;
    cache_creation_input_tokens: number;
  };
}

export interface MessagesBody {
  model: string;
  max_tokens: number;
  system?: { type: "text"; text: string; cache_control?: unknown }[];
  messages: { role: string; content: string | { type: string; text?: string; cache_control?: unknown }[] }[];
  output_config?: { format?: { type: string; schema: Record<string, unknown> } };
  stream?: boolean;
}

export type Reply =
  /**
   * A structured answer: the JSON text of `value` (or the schema sample when omitted). The
   * response begins (headers and, when streamed, `message_start`) after `firstTokenMs` (default
   * a fifth of `delayMs`) and ends after `delayMs`.
   */
  | { kind: "json"; value?: unknown; delayMs?: number; firstTokenMs?: number }
  /** A raw text answer, e.g. broken JSON. */
  | { kind: "text"; text: string; delayMs?: number; firstTokenMs?: number; stopReason?: string }
  /** An API error with the given status; `retryAfter` seconds goes into the retry-after header. */
  | { kind: "error"; status: number; retryAfter?: number; delayMs?: number };

export type Responder = (req: RecordedRequest) => Reply;

const ERROR_TYPES: Record<number, string> = {
  400: "invalid_request_error",
  401: "authentication_error",
  429: "rate_limit_error",
  500: "api_error",
  529: "overloaded_error",
};

/** Short step names by the `<task step="...">` tag of lensbot's prompts. */
const STEPS: Record<string, string> = {
  suggest_thinking_mode: "suggest",
  analyze_with_lens: "analyze",
  refine_lens_analysis: "refine",
  judge_lens_analysis: "judge",
  synthesize_solution: "synthesize",
  retro_digest: "retro",
  follow_up: "followup",
};

/**
 * Which step a request is, from the task tag in its last user message: suggest, analyze, refine,
 * judge or synthesize; `repair` for a repair turn (a last message without a task); else `other`.
 */
export function stepOf(body: MessagesBody): string {
  const last = body.messages.at(-1);
  if (!last) return "other";
  const text =
    typeof last.content === "string" ? last.content : last.content.map((c) => c.text ?? "").join("\n");
  const tag = text.match(/<task step="([a-z_]+)">/)?.[1];
  if (tag) return STEPS[tag] ?? "other";
  return body.messages.length > 1 ? "repair" : "other";
}

/** For a repair turn, the step it repairs (from the task tag of its first message); else `stepOf`. */
export function repairedStepOf(body: MessagesBody): string {
  const first = body.messages[0];
  if (!first || stepOf(body) !== "repair") return stepOf(body);
  return stepOf({ ...body, messages: [first] });
}

/** Minimum cacheable prefix per model family (tokens), as the prompt-caching docs give them. */
export const MIN_CACHEABLE_TOKENS: { match: RegExp; tokens: number }[] = [
  { match: /haiku/, tokens: 4096 },
  { match: /.*/, tokens: 1024 },
];

const CACHE_TTL_MS = 5 * 60_000;

export class FakeAnthropic {
  readonly requests: RecordedRequest[] = [];
  #server: Server;
  #queue: Reply[] = [];
  #responder: Responder = () => ({ kind: "json" });
  #started = performance.now();
  /** cache key → when the entry became readable (its writer's response began) and was last used */
  #cache = new Map<string, { readableAt: number; usedAt: number }>();
  url = "";

  private constructor() {
    this.#server = createServer((req, res) => void this.#handle(req, res));
  }

  /** Starts a fake on a free loopback port. */
  static async start(): Promise<FakeAnthropic> {
    const fake = new FakeAnthropic();
    await new Promise<void>((resolve) => fake.#server.listen(0, "127.0.0.1", resolve));
    fake.url = `http://127.0.0.1:${(fake.#server.address() as AddressInfo).port}`;
    return fake;
  }

  /** Queues replies for the next requests, in order; when the queue is empty the responder answers. */
  enqueue(...replies: Reply[]): this {
    this.#queue.push(...replies);
    return this;
  }

  /** Sets the answer for requests with no queued reply. Default: a schema sample. */
  respondWith(responder: Responder): this {
    this.#responder = responder;
    return this;
  }

  /** Requests for one step (see `stepOf`). */
  requestsFor(step: string): RecordedRequest[] {
    return this.requests.filter((r) => r.step === step);
  }

  reset(): void {
    this.requests.length = 0;
    this.#queue = [];
    this.#responder = () => ({ kind: "json" });
    this.#cache.clear();
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    if (req.method !== "POST" || !req.url?.startsWith("/v1/messages")) {
      res.writeHead(404, { "content-type": "application/json" });
      res.end(JSON.stringify({ type: "error", error: { type: "not_found_error", message: "not found" } }));
      return;
    }
    const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as MessagesBody;
    const recorded: RecordedRequest = {
      body,
      headers: req.headers,
      receivedAt: performance.now() - this.#started,
      step: stepOf(body),
    };
    this.requests.push(recorded);
    let reply: Reply;
    try {
      reply = this.#queue.shift() ?? this.#responder(recorded);
    } catch (err) {
      // A responder that throws is a broken test script: answer loudly rather than hang.
      reply = { kind: "error", status: 500 };
      console.error("fake Anthropic responder threw:", err);
    }
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

    if (reply.kind === "error") {
      if (reply.delayMs) await sleep(reply.delayMs);
      if (res.destroyed) return;
      const headers: Record<string, string> = { "content-type": "application/json" };
      if (reply.retryAfter !== undefined) headers["retry-after"] = String(reply.retryAfter);
      res.writeHead(reply.status, headers);
      res.end(
        JSON.stringify({
          type: "error",
          error: { type: ERROR_TYPES[reply.status] ?? "api_error", message: `fake error ${reply.status}` },
        }),
      );
      return;
    }
    let text: string;
    if (reply.kind === "text") text = reply.text;
    else {
      const schema = body.output_config?.format?.schema;
      text = JSON.stringify(reply.value ?? (schema ? sampleFromSchema(schema) : {}));
    }
    const usage = this.#usage(body, text);
    recorded.usage = usage.counts;
    const delay = reply.delayMs ?? 0;
    const firstToken = Math.min(delay, reply.firstTokenMs ?? delay / 5);
    const id = `msg_fake_${this.requests.length}`;
    const stopReason = reply.kind === "text" && reply.stopReason ? reply.stopReason : "end_turn";

    if (firstToken) await sleep(firstToken);
    if (res.destroyed) return;
    const headers = { "request-id": `req_fake_${this.requests.length}` };
    if (!body.stream) {
      if (delay > firstToken) await sleep(delay - firstToken);
      if (res.destroyed) return;
      usage.begin();
      res.writeHead(200, { ...headers, "content-type": "application/json" });
      res.end(
        JSON.stringify({
          id,
          type: "message",
          role: "assistant",
          model: body.model,
          content: [{ type: "text", text }],
          stop_reason: stopReason,
          stop_sequence: null,
          usage: usage.counts,
        }),
      );
      return;
    }
    res.writeHead(200, { ...headers, "content-type": "text/event-stream", "cache-control": "no-cache" });
    const send = (event: string, data: unknown) =>
      res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    usage.begin();
    send("message_start", {
      type: "message_start",
      message: {
        id,
        type: "message",
        role: "assistant",
        model: body.model,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: { ...usage.counts, output_tokens: 1 },
      },
    });
    if (delay > firstToken) await sleep(delay - firstToken);
    if (res.destroyed) return;
    send("content_block_start", {
      type: "content_block_start",
      index: 0,
      content_block: { type: "text", text: "" },
    });
    const half = Math.ceil(text.length / 2);
    for (const part of [text.slice(0, half), text.slice(half)]) {
      if (part)
        send("content_block_delta", {
          type: "content_block_delta",
          index: 0,
          delta: { type: "text_delta", text: part },
        });
    }
    send("content_block_stop", { type: "content_block_stop", index: 0 });
    send("message_delta", {
      type: "message_delta",
      delta: { stop_reason: stopReason, stop_sequence: null },
      usage: { output_tokens: usage.counts.output_tokens },
    });
    send("message_stop", { type: "message_stop" });
    res.end();
  }

  /**
   * Token usage of a request under the prompt cache (see the class comment). `begin()` is called
   * when the response begins: from then on, later requests can read what this one wrote.
   */
  #usage(body: MessagesBody, text: string) {
    const now = performance.now();
    for (const [key, entry] of this.#cache) if (now - entry.usedAt > CACHE_TTL_MS) this.#cache.delete(key);
    const tokens = (s: string) => Math.ceil(s.length / 4);
    const min = MIN_CACHEABLE_TOKENS.find((m) => m.match.test(body.model))?.tokens ?? 1024;
    const scope = `${body.model}\u0000${JSON.stringify(body.output_config?.format ?? null)}`;
    const prefixes = markedPrefixes(body).filter((p) => tokens(p) >= min);
    const total = tokens(allText(body));
    let read = 0;
    for (const prefix of [...prefixes].reverse()) {
      const entry = this.#cache.get(`${scope}\u0000${prefix}`);
      if (entry && entry.readableAt <= now) {
        read = tokens(prefix);
        entry.usedAt = now;
        break;
      }
    }
    const longest = prefixes.at(-1);
    const write = longest ? tokens(longest) - read : 0;
    return {
      counts: {
        input_tokens: Math.max(1, total - read - write),
        output_tokens: tokens(text),
        cache_read_input_tokens: read,
        cache_creation_input_tokens: write,
      },
      begin: () => {
        const at = performance.now();
        for (const prefix of prefixes) {
          const key = `${scope}\u0000${prefix}`;
          const entry = this.#cache.get(key);
          if (entry) entry.usedAt = at;
          else this.#cache.set(key, { readableAt: at, usedAt: at });
        }
      },
    };
  }
}

/** Every block's text in the order the API reads it: system, then messages. */
function blocksOf(body: MessagesBody): { text: string; marked: boolean }[] {
  const blocks: { text: string; marked: boolean }[] = [];
  for (const b of body.system ?? []) blocks.push({ text: b.text, marked: b.cache_control !== undefined });
  for (const m of body.messages) {
    if (typeof m.content === "string") blocks.push({ text: `${m.role}:${m.content}`, marked: false });
    else
      for (const c of m.content)
        blocks.push({ text: `${m.role}:${c.text ?? ""}`, marked: c.cache_control !== undefined });
  }
  return blocks;
}

function allText(body: MessagesBody): string {
  return blocksOf(body)
    .map((b) => b.text)
    .join("\u0000");
}

/** The request's text up to each `cache_control` marker, shortest first. */
export function markedPrefixes(body: MessagesBody): string[] {
  const blocks = blocksOf(body);
  const out: string[] = [];
  blocks.forEach((b, i) => {
    if (b.marked)
      out.push(
        blocks
          .slice(0, i + 1)
          .map((x) => x.text)
          .join("\u0000"),
      );
  });
  return out;
}

/**
 * The request text up to and including the last block carrying `cache_control`, in the order the
 * API reads it (system, then messages); empty when nothing is marked.
 */
export function cachedPrefix(body: MessagesBody): string {
  return markedPrefixes(body).at(-1) ?? "";
}

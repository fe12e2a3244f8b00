/**
 * A loopback fake of the Anthropic Messages API (`POST /v1/messages`), reached by the real
 * `@anthropic-ai/sdk` through its base URL. Tests script it per request: valid structured
 * answers, invalid JSON, schema-violating JSON, HTTP errors with retry-after, slow answers.
 * Every request is recorded with its body and arrival time.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { sampleFromSchema } from "./json-schema-sample.js";

export interface RecordedRequest {
  body: MessagesBody;
  headers: IncomingMessage["headers"];
  /** ms since the fake started (performance.now based). */
  receivedAt: number;
  /** Which step this looks like, from the system prompt: suggest, analyze, judge, synthesize or other. */
  step: string;
}

export interface MessagesBody {
  model: string;
  max_tokens: number;
  system?: { type: "text"; text: string; cache_control?: unknown }[];
  messages: { role: string; content: string | { type: string; text?: string; cache_control?: unknown }[] }[];
  output_config?: { format?: { type: string; schema: Record<string, unknown> } };
}

export type Reply =
  /** A structured answer: the JSON text of `value` (or the schema sample when omitted). */
  | { kind: "json"; value?: unknown; delayMs?: number }
  /** A raw text answer, e.g. broken JSON. */
  | { kind: "text"; text: string; delayMs?: number; stopReason?: string }
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

export function stepOf(body: MessagesBody): string {
  const first = body.system?.[0]?.text ?? "";
  if (first.includes("choosing which thinking lenses")) return "suggest";
  if (first.includes("analysing a team's problem through one named thinking lens")) {
    const last = body.messages.at(-1);
    return last && body.messages.length > 1 ? "refine" : "analyze";
  }
  if (first.includes("You review analyses")) return "judge";
  if (first.includes("combining several lens analyses")) return "synthesize";
  return "other";
}

export class FakeAnthropic {
  readonly requests: RecordedRequest[] = [];
  #server: Server;
  #queue: Reply[] = [];
  #responder: Responder = () => ({ kind: "json" });
  #started = performance.now();
  #seenPrefixes = new Set<string>();
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
    this.#seenPrefixes.clear();
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
    const reply = this.#queue.shift() ?? this.#responder(recorded);
    if (reply.delayMs) await new Promise((r) => setTimeout(r, reply.delayMs));
    if (res.destroyed) return;

    if (reply.kind === "error") {
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
    res.writeHead(200, {
      "content-type": "application/json",
      "request-id": `req_fake_${this.requests.length}`,
    });
    res.end(
      JSON.stringify({
        id: `msg_fake_${this.requests.length}`,
        type: "message",
        role: "assistant",
        model: body.model,
        content: [{ type: "text", text }],
        stop_reason: reply.kind === "text" && reply.stopReason ? reply.stopReason : "end_turn",
        stop_sequence: null,
        usage: this.#usage(body, text),
      }),
    );
  }

  /** Rough token usage (4 chars per token) with a simulated prompt cache keyed by the cached prefix. */
  #usage(body: MessagesBody, text: string) {
    const prefix = cachedPrefix(body);
    const prefixTokens = Math.ceil(prefix.length / 4);
    const total = Math.ceil(
      JSON.stringify(body.system ?? "").length / 4 + JSON.stringify(body.messages).length / 4,
    );
    const hit = prefix !== "" && this.#seenPrefixes.has(prefix);
    if (prefix) this.#seenPrefixes.add(prefix);
    return {
      input_tokens: Math.max(1, total - prefixTokens),
      output_tokens: Math.ceil(text.length / 4),
      cache_read_input_tokens: hit ? prefixTokens : 0,
      cache_creation_input_tokens: hit || !prefix ? 0 : prefixTokens,
    };
  }
}

/**
 * The request text up to and including the last block carrying `cache_control`, in the order the
 * API reads it (system, then messages); empty when nothing is marked.
 */
export function cachedPrefix(body: MessagesBody): string {
  const blocks: { text: string; marked: boolean }[] = [];
  for (const b of body.system ?? []) blocks.push({ text: b.text, marked: b.cache_control !== undefined });
  for (const m of body.messages) {
    if (typeof m.content === "string") blocks.push({ text: `${m.role}:${m.content}`, marked: false });
    else
      for (const c of m.content)
        blocks.push({ text: `${m.role}:${c.text ?? ""}`, marked: c.cache_control !== undefined });
  }
  const last = blocks.map((b) => b.marked).lastIndexOf(true);
  return last < 0
    ? ""
    : blocks
        .slice(0, last + 1)
        .map((b) => b.text)
        .join("\u0000");
}

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
 *
 * The answering core (`MessagesCore`: scripted replies, schema samples, usage accounting) is
 * transport-free; `FakeAnthropic` mounts it behind the Messages API, and `bedrock.ts` and
 * `vertex.ts` mount it behind those services' endpoints.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { sampleFromSchema } from "./json-schema-sample.js";

export interface RecordedRequest {
  body: MessagesBody;
  headers: IncomingMessage["headers"];
  /** The model addressed: the body's `model`, or the model id in the URL (Bedrock, Vertex). */
  model: string;
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
  /** Absent where the URL names the model (Bedrock, Vertex). */
  model?: string;
  /** Sent in the body, not as a header, to Bedrock and Vertex. */
  anthropic_version?: string;
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
  judge_synthesis: "judge-synthesis",
  refine_synthesis: "refine-synthesis",
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

/** A planned answer: what to send and when. Transports frame and send it (see `deliver`). */
export type Planned =
  | {
      kind: "error";
      recorded: RecordedRequest;
      status: number;
      /** Seconds for the retry-after header. */
      retryAfter?: number;
      delayMs: number;
      /** The Messages API's error type for the status (transports may map it to their own). */
      errorType: string;
      message: string;
    }
  | {
      kind: "message";
      recorded: RecordedRequest;
      /** The whole message as the non-streamed answer carries it. */
      message: FakeMessage;
      requestId: string;
      /** The response begins after this many ms and ends after `delayMs`. */
      firstTokenMs: number;
      delayMs: number;
      /** Call when the response begins: from then on, later requests can read what this one cached. */
      begin(): void;
    };

export interface FakeMessage {
  id: string;
  type: "message";
  role: "assistant";
  model: string;
  content: { type: "text"; text: string }[];
  stop_reason: string;
  stop_sequence: null;
  usage: NonNullable<RecordedRequest["usage"]>;
}

/**
 * The answering core of the fake model services, shared by every transport (the Messages API,
 * Bedrock, Vertex): it records requests, answers them from queued replies or the responder, and
 * accounts tokens under the prompt cache (see the file comment). It knows nothing of HTTP.
 */
export class MessagesCore {
  readonly requests: RecordedRequest[] = [];
  #queue: Reply[] = [];
  #responder: Responder = () => ({ kind: "json" });
  #started = performance.now();
  /** cache key → when the entry became readable (its writer's response began) and was last used */
  #cache = new Map<string, { readableAt: number; usedAt: number }>();

  enqueue(...replies: Reply[]): void {
    this.#queue.push(...replies);
  }

  respondWith(responder: Responder): void {
    this.#responder = responder;
  }

  requestsFor(step: string): RecordedRequest[] {
    return this.requests.filter((r) => r.step === step);
  }

  reset(): void {
    this.requests.length = 0;
    this.#queue = [];
    this.#responder = () => ({ kind: "json" });
    this.#cache.clear();
  }

  /**
   * Records one Messages request and plans its answer. `model` is the model it addresses (from the
   * body, or from the URL where the transport carries it there).
   */
  plan(body: MessagesBody, headers: IncomingMessage["headers"], model: string): Planned {
    const recorded: RecordedRequest = {
      body,
      headers,
      model,
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
      console.error("fake model responder threw:", err);
    }
    if (reply.kind === "error") {
      return {
        kind: "error",
        recorded,
        status: reply.status,
        retryAfter: reply.retryAfter,
        delayMs: reply.delayMs ?? 0,
        errorType: ERROR_TYPES[reply.status] ?? "api_error",
        message: `fake error ${reply.status}`,
      };
    }
    let text: string;
    if (reply.kind === "text") text = reply.text;
    else {
      const schema = requestSchema(body);
      text = JSON.stringify(reply.value ?? (schema ? sampleFromSchema(schema) : {}));
    }
    const usage = this.#usage(body, model, text);
    recorded.usage = usage.counts;
    const delayMs = reply.delayMs ?? 0;
    return {
      kind: "message",
      recorded,
      requestId: `req_fake_${this.requests.length}`,
      firstTokenMs: Math.min(delayMs, reply.firstTokenMs ?? delayMs / 5),
      delayMs,
      begin: usage.begin,
      message: {
        id: `msg_fake_${this.requests.length}`,
        type: "message",
        role: "assistant",
        model,
        content: [{ type: "text", text }],
        stop_reason: reply.kind === "text" && reply.stopReason ? reply.stopReason : "end_turn",
        stop_sequence: null,
        usage: usage.counts,
      },
    };
  }

  /**
   * Token usage of a request under the prompt cache (see the file comment). `begin()` is called
   * when the response begins: from then on, later requests can read what this one wrote.
   */
  #usage(body: MessagesBody, model: string, text: string) {
    const now = performance.now();
    for (const [key, entry] of this.#cache) if (now - entry.usedAt > CACHE_TTL_MS) this.#cache.delete(key);
    const tokens = (s: string) => Math.ceil(s.length / 4);
    const min = MIN_CACHEABLE_TOKENS.find((m) => m.match.test(model))?.tokens ?? 1024;
    const scope = `${model}\u0000${JSON.stringify(body.output_config?.format ?? null)}`;
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

/**
 * The JSON schema a request asks its answer to follow: its `output_config.format`, or else the
 * schema lensbot put in its instructions (`<output_schema>` in a user message, the last one
 * wins) when the structured-output format is not sent.
 */
export function requestSchema(body: MessagesBody): Record<string, unknown> | undefined {
  const sent = body.output_config?.format?.schema;
  if (sent) return sent;
  for (const m of [...body.messages].reverse()) {
    if (m.role !== "user") continue;
    const text = typeof m.content === "string" ? m.content : m.content.map((c) => c.text ?? "").join("\n");
    const found = /<output_schema>\n([\s\S]*?)\n<\/output_schema>/.exec(text)?.[1];
    if (found) return JSON.parse(found) as Record<string, unknown>;
  }
  return undefined;
}

/** A streamed message as Messages API events: `start` opens the response, `rest` completes it. */
export function streamEvents(message: FakeMessage): { start: StreamEvent; rest: StreamEvent[] } {
  const text = message.content[0]?.text ?? "";
  const half = Math.ceil(text.length / 2);
  const deltas = [text.slice(0, half), text.slice(half)]
    .filter((part) => part)
    .map((part) => ({ type: "content_block_delta", index: 0, delta: { type: "text_delta", text: part } }));
  return {
    start: {
      type: "message_start",
      message: {
        ...message,
        content: [],
        stop_reason: null,
        usage: { ...message.usage, output_tokens: 1 },
      },
    },
    rest: [
      { type: "content_block_start", index: 0, content_block: { type: "text", text: "" } },
      ...deltas,
      { type: "content_block_stop", index: 0 },
      {
        type: "message_delta",
        delta: { stop_reason: message.stop_reason, stop_sequence: null },
        usage: { output_tokens: message.usage.output_tokens },
      },
      { type: "message_stop" },
    ],
  };
}

export type StreamEvent = { type: string } & Record<string, unknown>;

/** How one transport puts a planned answer on the wire. */
export interface Framing {
  stream: boolean;
  /** Status, headers and body of an error answer. */
  error(planned: Extract<Planned, { kind: "error" }>): {
    headers: Record<string, string>;
    body: string;
  };
  /** Headers of a streamed answer (its content type). */
  streamHeaders: Record<string, string>;
  /** One streamed event as the transport frames it. */
  frame(event: StreamEvent): string | Uint8Array;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Sends a planned answer with the core's timing: an error after its delay; a message whose
 * response begins (headers, and the first event when streamed) after `firstTokenMs` and ends
 * after `delayMs`. A client that went away gets nothing more.
 */
export async function deliver(planned: Planned, res: ServerResponse, framing: Framing): Promise<void> {
  if (planned.kind === "error") {
    if (planned.delayMs) await sleep(planned.delayMs);
    if (res.destroyed) return;
    const { headers, body } = framing.error(planned);
    if (planned.retryAfter !== undefined) headers["retry-after"] = String(planned.retryAfter);
    res.writeHead(planned.status, headers);
    res.end(body);
    return;
  }
  const { firstTokenMs, delayMs } = planned;
  if (firstTokenMs) await sleep(firstTokenMs);
  if (res.destroyed) return;
  const headers = { "request-id": planned.requestId };
  if (!framing.stream) {
    if (delayMs > firstTokenMs) await sleep(delayMs - firstTokenMs);
    if (res.destroyed) return;
    planned.begin();
    res.writeHead(200, { ...headers, "content-type": "application/json" });
    res.end(JSON.stringify(planned.message));
    return;
  }
  res.writeHead(200, { ...headers, ...framing.streamHeaders });
  planned.begin();
  const { start, rest } = streamEvents(planned.message);
  res.write(framing.frame(start));
  if (delayMs > firstTokenMs) await sleep(delayMs - firstTokenMs);
  if (res.destroyed) return;
  for (const event of rest) res.write(framing.frame(event));
  res.end();
}

/**
 * A loopback HTTP server around one `MessagesCore`, with the scripting methods every fake model
 * service shares; subclasses route requests and frame answers the way their service does.
 */
export abstract class FakeModelServer {
  readonly core = new MessagesCore();
  url = "";
  readonly #server: Server;

  protected constructor() {
    this.#server = createServer((req, res) => void this.#receive(req, res));
  }

  /** Every request received, in order. */
  get requests(): RecordedRequest[] {
    return this.core.requests;
  }

  /** Queues replies for the next requests, in order; when the queue is empty the responder answers. */
  enqueue(...replies: Reply[]): this {
    this.core.enqueue(...replies);
    return this;
  }

  /** Sets the answer for requests with no queued reply. Default: a schema sample. */
  respondWith(responder: Responder): this {
    this.core.respondWith(responder);
    return this;
  }

  /** Requests for one step (see `stepOf`). */
  requestsFor(step: string): RecordedRequest[] {
    return this.core.requestsFor(step);
  }

  reset(): void {
    this.core.reset();
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  /** Listens on a free loopback port and sets `url` (`http://127.0.0.1:<port>`). */
  protected async listen(): Promise<void> {
    await new Promise<void>((resolve) => this.#server.listen(0, "127.0.0.1", resolve));
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  /** Handles one request whose body has been read in full. */
  protected abstract handle(req: IncomingMessage, body: Buffer, res: ServerResponse): Promise<void>;

  async #receive(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    await this.handle(req, Buffer.concat(chunks), res);
  }
}

/** The Messages API: `POST /v1/messages`, plain JSON or streamed as server-sent events. */
export class FakeAnthropic extends FakeModelServer {
  /** Starts a fake on a free loopback port. */
  static async start(): Promise<FakeAnthropic> {
    const fake = new FakeAnthropic();
    await fake.listen();
    return fake;
  }

  protected async handle(req: IncomingMessage, raw: Buffer, res: ServerResponse): Promise<void> {
    if (req.method !== "POST" || !req.url?.startsWith("/v1/messages")) {
      res.writeHead(404, { "content-type": "application/json" });
      res.end(JSON.stringify({ type: "error", error: { type: "not_found_error", message: "not found" } }));
      return;
    }
    const body = JSON.parse(raw.toString("utf8")) as MessagesBody;
    await deliver(this.core.plan(body, req.headers, body.model ?? ""), res, {
      stream: body.stream === true,
      error: (p) => ({
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ type: "error", error: { type: p.errorType, message: p.message } }),
      }),
      streamHeaders: { "content-type": "text/event-stream", "cache-control": "no-cache" },
      frame: (event) => `event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`,
    });
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

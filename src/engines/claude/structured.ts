import Anthropic from "@anthropic-ai/sdk";
import { zodOutputFormat } from "@anthropic-ai/sdk/helpers/zod";
import type { z } from "zod";
import { CancelledError, ModelOutputError, ModelUnavailableError } from "../../errors.js";
import type { CallUsage } from "../../pipeline/schemas.js";
import { type CacheGate, cacheKey } from "./cache-gate.js";
import { repairTask, schemaInstructions } from "./prompts.js";

type MessageParam = Anthropic.MessageParam;
type SystemBlock = Anthropic.TextBlockParam;

export interface StructuredCall<S extends z.ZodType> {
  /** Pipeline step name, used in errors and logs. */
  step: string;
  model: string;
  system: SystemBlock[];
  messages: MessageParam[];
  schema: S;
  /** Output token cap for one answer. */
  maxTokens: number;
  signal: AbortSignal;
  /** Orders requests that share a cached prefix (see `CacheGate`); none: every request goes at once. */
  gate?: CacheGate;
  /** Receives the token usage of each request sent (the repair turn is a request of its own). */
  recordUsage?(usage: CallUsage): void;
  /**
   * Whether the service takes the structured-output format (`output_config.format`). When false
   * the format is not sent; the schema goes into the last user message instead, and the answer
   * is held to it by validation and the repair turn alone. Default true.
   */
  structuredOutputs?: boolean;
}

function textOf(message: Anthropic.Message): string {
  return message.content
    .filter((b): b is Anthropic.TextBlock => b.type === "text")
    .map((b) => b.text)
    .join("");
}

/** The inside of an answer that is one fenced code block (```json … ```), else the answer as it is. */
function unfenced(text: string): string {
  const fenced = /^\s*```[a-z]*\n([\s\S]*?)\n```\s*$/.exec(text);
  return fenced?.[1] ?? text;
}

/** Parses and validates one answer (a whole-answer code fence is looked inside); returns the data or the list of problems as `path: message`. */
export function checkAnswer<S extends z.ZodType>(
  schema: S,
  message: Anthropic.Message,
): { ok: true; data: z.infer<S> } | { ok: false; issues: string[]; raw: string } {
  const raw = unfenced(textOf(message));
  if (message.stop_reason === "refusal") return { ok: false, issues: ["the model declined to answer"], raw };
  if (message.stop_reason === "max_tokens") {
    return { ok: false, issues: ["the answer was cut off at the output token limit"], raw };
  }
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (err) {
    return {
      ok: false,
      issues: [`not valid JSON (${err instanceof Error ? err.message : String(err)})`],
      raw,
    };
  }
  const parsed = schema.safeParse(json);
  if (parsed.success) return { ok: true, data: parsed.data };
  const issues = parsed.error.issues.map(
    (i) => `${i.path.length ? i.path.join(".") : "(root)"}: ${i.message}`,
  );
  return { ok: false, issues, raw };
}

/** JSON Schema formats already built, per zod schema: most step schemas are built once and reused by every call. */
const formats = new WeakMap<z.ZodType, { type: "json_schema"; schema: Record<string, unknown> }>();

/** The structured-output format of a zod schema (`zodOutputFormat`), built once per schema object. */
function outputFormat(schema: z.ZodType): { type: "json_schema"; schema: Record<string, unknown> } {
  let format = formats.get(schema);
  if (!format) {
    const built = zodOutputFormat(schema);
    format = { type: built.type, schema: built.schema };
    formats.set(schema, format);
  }
  return format;
}

/**
 * Calls the Messages API with a structured-output format built from `schema` (not forced tool
 * use), and validates the answer with the same schema. An invalid or schema-violating answer
 * gets one repair turn that quotes the problems; HTTP retries (429, 529, 5xx, honouring
 * retry-after) are left to the SDK, the only layer that retries them. Where the service does not
 * take the format (`structuredOutputs: false`), the schema is given as instructions instead and
 * the same validation and repair apply; they also protect against a server that ignores it.
 *
 * Requests are streamed so that the moment a response begins is known: with a `gate`, requests
 * sharing a cached prefix wait for the first one to begin, so they read the prefix instead of
 * each writing it.
 *
 * @returns the parsed data.
 * @throws ModelOutputError when the repaired answer is still invalid (its `issues` say why);
 *   ModelUnavailableError when the API keeps failing; CancelledError when `signal` aborts.
 */
export async function callStructured<S extends z.ZodType>(
  client: Anthropic,
  call: StructuredCall<S>,
): Promise<{ data: z.infer<S> }> {
  const format = outputFormat(call.schema);
  const structured = call.structuredOutputs ?? true;
  const opening = structured ? call.messages : withSchema(call.messages, format.schema);
  const send = async (messages: MessageParam[], step: string) => {
    const key = call.gate && cacheKey(call.model, call.system, messages, structured ? format : null);
    const turn = key && call.gate ? await call.gate.enter(key, call.signal) : undefined;
    try {
      const stream = client.messages.stream(
        {
          model: call.model,
          max_tokens: call.maxTokens,
          system: call.system,
          messages,
          ...(structured && { output_config: { format } }),
        },
        { signal: call.signal },
      );
      stream.on("streamEvent", (event) => {
        if (event.type === "message_start") turn?.begun();
      });
      const message = await stream.finalMessage();
      turn?.begun();
      call.recordUsage?.({
        step,
        model: call.model,
        input_tokens: message.usage.input_tokens,
        output_tokens: message.usage.output_tokens,
        cache_read_input_tokens: message.usage.cache_read_input_tokens ?? 0,
        cache_creation_input_tokens: message.usage.cache_creation_input_tokens ?? 0,
      });
      return message;
    } catch (err) {
      turn?.failed();
      if (err instanceof Anthropic.APIUserAbortError || call.signal.aborted) throw new CancelledError(err);
      if (err instanceof Anthropic.APIError) throw new ModelUnavailableError(call.step, err.status, err);
      throw err;
    }
  };

  const first = await send(opening, call.step);
  const checked = checkAnswer(call.schema, first);
  if (checked.ok) return { data: checked.data };

  const repairMessages: MessageParam[] = [
    ...opening,
    { role: "assistant", content: checked.raw || "(empty)" },
    { role: "user", content: repairTask(checked.issues) },
  ];
  const second = await send(repairMessages, `${call.step} (repair)`);
  const rechecked = checkAnswer(call.schema, second);
  if (rechecked.ok) return { data: rechecked.data };
  throw new ModelOutputError(call.step, rechecked.issues, rechecked.raw);
}

/** The messages with the schema's instructions appended to the last one (a user turn). */
function withSchema(messages: readonly MessageParam[], schema: Record<string, unknown>): MessageParam[] {
  const last = messages.at(-1);
  if (last?.role !== "user") throw new Error("a structured call ends with a user turn");
  const blocks: Anthropic.ContentBlockParam[] =
    typeof last.content === "string" ? [{ type: "text", text: last.content }] : [...last.content];
  blocks.push({ type: "text", text: schemaInstructions(schema) });
  return [...messages.slice(0, -1), { role: "user", content: blocks }];
}

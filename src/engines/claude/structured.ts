import Anthropic from "@anthropic-ai/sdk";
import { zodOutputFormat } from "@anthropic-ai/sdk/helpers/zod";
import type { z } from "zod";
import { CancelledError, ModelOutputError, ModelUnavailableError } from "../../errors.js";
import type { CallUsage } from "../../pipeline/schemas.js";
import { type CacheGate, cacheKey } from "./cache-gate.js";
import { repairTask } from "./prompts.js";

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
}

function textOf(message: Anthropic.Message): string {
  return message.content
    .filter((b): b is Anthropic.TextBlock => b.type === "text")
    .map((b) => b.text)
    .join("");
}

/** Parses and validates one answer; returns the data or the list of problems as `path: message`. */
export function checkAnswer<S extends z.ZodType>(
  schema: S,
  message: Anthropic.Message,
): { ok: true; data: z.infer<S> } | { ok: false; issues: string[]; raw: string } {
  const raw = textOf(message);
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

/**
 * Calls the Messages API with a structured-output format built from `schema` (not forced tool
 * use), and validates the answer with the same schema. An invalid or schema-violating answer
 * gets one repair turn that quotes the problems; HTTP retries (429, 529, 5xx, honouring
 * retry-after) are left to the SDK, the only layer that retries them.
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
  const zodFormat = zodOutputFormat(call.schema);
  const format = { type: zodFormat.type, schema: zodFormat.schema };
  const send = async (messages: MessageParam[], step: string) => {
    const key = call.gate && cacheKey(call.model, call.system, messages, format);
    const turn = key && call.gate ? await call.gate.enter(key, call.signal) : undefined;
    try {
      const stream = client.messages.stream(
        {
          model: call.model,
          max_tokens: call.maxTokens,
          system: call.system,
          messages,
          output_config: { format },
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

  const first = await send(call.messages, call.step);
  const checked = checkAnswer(call.schema, first);
  if (checked.ok) return { data: checked.data };

  const repairMessages: MessageParam[] = [
    ...call.messages,
    { role: "assistant", content: checked.raw || "(empty)" },
    { role: "user", content: repairTask(checked.issues) },
  ];
  const second = await send(repairMessages, `${call.step} (repair)`);
  const rechecked = checkAnswer(call.schema, second);
  if (rechecked.ok) return { data: rechecked.data };
  throw new ModelOutputError(call.step, rechecked.issues, rechecked.raw);
}

/**
 * Tokens and model latency per run, through the fake Messages API (which accounts for prompt
 * caching the way the service does: see test/fakes/anthropic.ts) and the real SDK.
 *
 * Two problems: the bundled dashboard example, and a synthetic 400-message incident thread
 * (fitted to the default thread budget the way the worker fits it). Each is run twice: cold (an
 * empty cache: the catalogue prefix is written too) and warm (after another problem's run, as in
 * a workspace that used lensbot in the last five minutes). Every model request is answered after
 * MODEL_DELAY_MS, its response beginning after a fifth of that.
 *
 * "Not from cache" is what a run pays for at full price or more: input tokens plus cache writes.
 * "Critical path" is the run's wall time (the fake's delays dominate it).
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import Anthropic from "@anthropic-ai/sdk";
import { libraryOf } from "../src/catalogue/graph.js";
import { loadCatalogue } from "../src/catalogue/load.js";
import { BUNDLED_LENSES_DIR } from "../src/config.js";
import { createClaudeEngine } from "../src/engines/claude/engine.js";
import { prepareProblem } from "../src/pipeline/input.js";
import { runPipeline } from "../src/pipeline/run.js";
import { type Problem, totalUsage } from "../src/pipeline/schemas.js";
import { buildTranscript, type ThreadMessage } from "../src/slack/thread.js";
import { FakeAnthropic, type Responder } from "../test/fakes/anthropic.js";
import { answerFor } from "../test/fakes/json-schema-sample.js";

const MODEL_DELAY_MS = 200;
const THREAD_MESSAGES = 400;
const THREAD_TOKENS = 6_000;
const root = fileURLToPath(new URL("..", import.meta.url));

function threadProblem(): Problem {
  const people = ["ana", "ben", "chen", "dara", "eli", "femi"];
  const messages: ThreadMessage[] = Array.from({ length: THREAD_MESSAGES }, (_, i) => {
    if (i % 10 === 3) {
      return {
        ts: `${1000 + i}.0`,
        botId: "B0ALERT",
        text: `ALERT checkout-api p99 ${900 + i} ms > 800 ms (firing)`,
      };
    }
    const who = people[i % people.length] as string;
    return {
      ts: `${1000 + i}.0`,
      user: who,
      text: `update ${i}: checked the ${["db pool", "cache hit rate", "deploy log", "queue depth"][i % 4]} for checkout, still seeing timeouts on about ${i % 7}% of requests after the rollback`,
    };
  });
  const transcript = buildTranscript(messages, new Map(), { budgetTokens: THREAD_TOKENS });
  return prepareProblem("Why does checkout keep timing out after every deploy, even after we roll back?", {
    context: transcript.text,
    notes: transcript.notes,
  });
}

/** Every request gets a valid answer for its schema after MODEL_DELAY_MS. */
const answer: Responder = (req) => ({
  kind: "json",
  value: answerFor(req.body.output_config?.format?.schema ?? {}, "A specific, well-evidenced answer."),
  delayMs: MODEL_DELAY_MS,
});

export async function benchTokens(): Promise<Record<string, number>> {
  const fake = await FakeAnthropic.start();
  const opened = libraryOf(loadCatalogue(BUNDLED_LENSES_DIR));
  const client = new Anthropic({ apiKey: "bench", baseURL: fake.url, maxRetries: 0 });
  const problems: [string, Problem][] = [
    ["bundled problem", prepareProblem(readFileSync(`${root}examples/dashboard-latency.txt`, "utf8"))],
    [`${THREAD_MESSAGES}-message thread`, threadProblem()],
  ];
  const out: Record<string, number> = {};
  try {
    for (const [name, problem] of problems) {
      for (const temperature of ["cold", "warm"] as const) {
        fake.reset();
        fake.respondWith(answer);
        // A fresh engine each time, so nothing of an earlier run is remembered but the fake's cache.
        const engine = () => createClaudeEngine({ client, catalogue: opened.catalogue });
        if (temperature === "warm") {
          await runPipeline({
            ...opened,
            problem: prepareProblem("Our sprint goals keep slipping."),
            engine: engine(),
          });
        }
        const started = performance.now();
        const result = await runPipeline({ ...opened, problem, engine: engine() });
        const elapsed = performance.now() - started;
        const t = totalUsage(result.usage);
        const label = `${name}, ${temperature}`;
        out[`tokens ${label}: model calls`] = t.calls;
        out[`tokens ${label}: not from cache`] = t.input_tokens + t.cache_creation_input_tokens;
        out[`tokens ${label}: cache reads`] = t.cache_read_input_tokens;
        out[`tokens ${label}: output`] = t.output_tokens;
        out[`tokens ${label}: critical path ms`] = Math.round(elapsed);
      }
    }
  } finally {
    await fake.close();
  }
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const [k, v] of Object.entries(await benchTokens())) console.log(`${k.padEnd(58)} ${v}`);
}

/**
 * Throughput of the deployed processes: a burst of BURST signed `/lens` commands against the real
 * entry points (`dist/main.js`: Slack app and worker; `dist/worker-main.js`: worker only), with
 * the Claude engine talking to the fake Messages API, which answers every request after a fixed
 * MODEL_DELAY_MS. Two layouts, each on a fresh Redis prefix:
 *   - one process (app and worker, default worker concurrency);
 *   - the app process plus 3 worker processes.
 * Figures per layout: analyses per minute (BURST ÷ time from the first command sent to the last
 * synthesis posted), p99 of one analysis (command sent → its synthesis posted, s), CPU used by
 * the lensbot processes (cores, i.e. CPU seconds ÷ wall seconds) and their summed peak RSS (MB).
 * A run that fails, or a thread without its synthesis, fails the benchmark.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Redis } from "ioredis";
import { dedupeKey } from "../src/queue/jobs.js";
import { FakeAnthropic } from "../test/fakes/anthropic.js";
import { answerFor } from "../test/fakes/json-schema-sample.js";
import { FakeSlack } from "../test/fakes/slack.js";
import { freePort, REDIS_URL, SIGNING_SECRET, slashCommand, waitFor } from "../test/support/harness.js";
import { slackClockOffset } from "./slack.js";

const BURST = 100;
const MODEL_DELAY_MS = 300;
const SEND_CONCURRENCY = 10;
const CHANNEL = "C0LENS";

const dist = (file: string) => fileURLToPath(new URL(`../dist/${file}`, import.meta.url));

/** CPU seconds (user + system) a process has used so far, from /proc (Linux). */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
  const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime
  return ticks / 100; // USER_HZ is 100 on Linux
}

/** Peak resident memory of a process so far (MB), from /proc (Linux). */
function peakRssMb(pid: number): number {
  const kb = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
  return Number(kb) / 1024;
}

interface Started {
  child: ChildProcess;
  output: () => string;
}

function startProcess(file: string, env: Record<string, string>): Started {
  let output = "";
  const child = spawn(process.execPath, [dist(file)], { env: { PATH: process.env.PATH, ...env } });
  child.stdout?.on("data", (d) => (output += d));
  child.stderr?.on("data", (d) => (output += d));
  return { child, output: () => output };
}

async function stop(p: Started): Promise<void> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return;
  const exited = new Promise((r) => p.child.once("exit", r));
  p.child.kill("SIGTERM");
  await exited;
}

async function burst(
  extraWorkers: number,
): Promise<{ perMin: number; p99S: number; cores: number; rssMb: number }> {
  const slack = await FakeSlack.start();
  const anthropic = await FakeAnthropic.start();
  anthropic.respondWith((req) => ({
    kind: "json",
    value: answerFor(req.body.output_config?.format?.schema ?? {}, "The time goes where nobody measures."),
    delayMs: MODEL_DELAY_MS,
  }));
  const prefix = `lensbot-bench-${randomBytes(4).toString("hex")}`;
  const port = await freePort();
  const env = {
    SLACK_BOT_TOKEN: "xoxb-bench-token",
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    SLACK_API_URL: slack.apiUrl,
    ANTHROPIC_API_KEY: "bench-key",
    ANTHROPIC_BASE_URL: anthropic.url,
    REDIS_URL,
    LENSBOT_REDIS_PREFIX: prefix,
    // Several processes on one host: each ops server takes any free port.
    LENSBOT_OPS_PORT: "0",
    LOG_LEVEL: "warn",
    ...(process.env.LENSBOT_WORKER_CONCURRENCY && {
      LENSBOT_WORKER_CONCURRENCY: process.env.LENSBOT_WORKER_CONCURRENCY,
    }),
  };
  const processes = [
    startProcess("main.js", { ...env, PORT: String(port), LOG_LEVEL: "info" }),
    ...Array.from({ length: extraWorkers }, () =>
      startProcess("worker-main.js", { ...env, LOG_LEVEL: "info" }),
    ),
  ];
  try {
    for (const p of processes)
      await waitFor(() => p.output().includes("worker started"), 20_000, "a worker to start");
    const url = `http://127.0.0.1:${port}/slack/events`;
    const offset = await slackClockOffset(slack);
    const cpuBefore = processes.map((p) => cpuSeconds(p.child.pid as number));

    const sent = new Map<string, number>();
    const t0 = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: SEND_CONCURRENCY }, async () => {
        while (next < BURST) {
          const i = next++;
          const trigger = `bench-${prefix}-${i}`;
          sent.set(dedupeKey("cmd", trigger), performance.now());
          const ack = await slashCommand(
            url,
            `Checkout p99 doubled after the payments migration (case ${i})`,
            {
              trigger_id: trigger,
            },
          );
          if (ack.status !== 200) throw new Error(`/lens ${i}: HTTP ${ack.status}`);
        }
      }),
    );

    // Done when every thread has its synthesis; a failed run fails the benchmark.
    const synthesisAt = new Map<string, number>();
    const roots = () => slack.messages(CHANNEL).filter((m) => !m.thread_ts || m.thread_ts === m.ts);
    await waitFor(
      () => {
        for (const c of slack.calls("chat.postMessage")) {
          if (c.status === 200 && !c.error && String(c.args.text).startsWith("Synthesis:"))
            synthesisAt.set(String(c.args.thread_ts), c.at);
          if (String(c.args.text).includes("Retry"))
            throw new Error("a run failed during the throughput benchmark");
        }
        return synthesisAt.size === BURST;
      },
      300_000,
      "every analysis of the burst to finish",
    );
    const wallS = (performance.now() - t0) / 1000;
    const cores =
      processes.reduce((sum, p, i) => sum + cpuSeconds(p.child.pid as number) - (cpuBefore[i] ?? 0), 0) /
      wallS;
    const rssMb = processes.reduce((sum, p) => sum + peakRssMb(p.child.pid as number), 0);

    // Per analysis: from its command to its synthesis (the root's metadata names the run).
    const latencies = roots().map((root) => {
      const meta = root.metadata as { event_payload?: { run_id?: string } } | undefined;
      const start = sent.get(String(meta?.event_payload?.run_id));
      const end = synthesisAt.get(root.ts);
      if (start === undefined || end === undefined)
        throw new Error("a root message names no run of the burst");
      return (end + offset - start) / 1000;
    });
    latencies.sort((a, b) => a - b);
    const lastDone = Math.max(...synthesisAt.values()) + offset;
    return {
      perMin: Math.round(BURST / ((lastDone - t0) / 60_000)),
      p99S: Math.round((latencies[Math.ceil(0.99 * latencies.length) - 1] ?? Number.NaN) * 10) / 10,
      cores: Math.round(cores * 100) / 100,
      rssMb: Math.round(rssMb),
    };
  } finally {
    await Promise.all(processes.map(stop));
    await slack.close();
    await anthropic.close();
    const redis = new Redis(REDIS_URL);
    for (const pattern of [`${prefix}:*`, `{${prefix}:bull}:*`]) {
      const keys = await redis.keys(pattern);
      if (keys.length) await redis.del(...keys);
    }
    redis.disconnect();
  }
}

export async function benchThroughput(): Promise<Record<string, number>> {
  const one = await burst(0);
  const four = await burst(3);
  return {
    "analyses per min, 1 process (300 ms model)": one.perMin,
    "analysis p99 s, 1 process": one.p99S,
    "cores used, 1 process": one.cores,
    "peak RSS MB, 1 process": one.rssMb,
    "analyses per min, app + 3 workers (300 ms model)": four.perMin,
    "analysis p99 s, app + 3 workers": four.p99S,
    "cores used, app + 3 workers": four.cores,
    "peak RSS MB, app + 3 workers": four.rssMb,
  };
}

/**
 * Load generator for the ack benchmark, run as its own process so that sending requests does not
 * compete with the bot for one event loop (Slack is another machine, after all).
 * usage: node --import tsx bench/ack-load.ts URL TOTAL WARMUP CONCURRENCY   (SIGNING_SECRET in env)
 * Prints one JSON object: {latencies: number[], cold: number[]} in ms, client side, from sending
 * a signed `/lens` to having read the ack.
 */
import { createHmac } from "node:crypto";

const [url = "", totalArg = "600", warmupArg = "100", concurrencyArg = "20"] = process.argv.slice(2);
const total = Number(totalArg);
const warmup = Number(warmupArg);
const concurrency = Number(concurrencyArg);
const secret = process.env.SIGNING_SECRET ?? "";

const PROBLEMS = [
  "Our dashboard API is stuck at 350 ms p50 despite a Redis cache, rewritten queries and new indexes.",
  "Deploys keep failing on Fridays: flaky integration tests and a manual approval step pile up.",
  "Our on-call alerts are mostly ignored; most pages auto-resolve and real incidents slip through.",
  "Sales keeps discounting because customers are confused by our three pricing tiers.",
  "Two teams argue about who owns the billing service, so bugs bounce between backlogs for weeks.",
];

async function send(i: number): Promise<number> {
  const body = new URLSearchParams({
    command: "/lens",
    text: `${PROBLEMS[i % PROBLEMS.length]} (case ${i + 1})`,
    team_id: "T0TEST",
    channel_id: "C0LENS",
    user_id: "U0ASKER",
    trigger_id: `load.${process.pid}.${i}`,
    response_url: "http://127.0.0.1:9/unused",
  }).toString();
  const ts = Math.floor(Date.now() / 1000);
  const signature = `v0=${createHmac("sha256", secret).update(`v0:${ts}:${body}`).digest("hex")}`;
  const t0 = performance.now();
  const res = await fetch(url, {
    method: "POST",
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      "x-slack-request-timestamp": String(ts),
      "x-slack-signature": signature,
    },
    body,
  });
  const text = await res.text();
  const ms = performance.now() - t0;
  if (res.status !== 200 || !text.includes("On it"))
    throw new Error(`ack ${i}: HTTP ${res.status} ${text.slice(0, 200)}`);
  return ms;
}

const latencies: number[] = [];
const cold: number[] = [];
let next = 0;
await Promise.all(
  Array.from({ length: concurrency }, async () => {
    for (let i = next++; i < total; i = next++) (i < warmup ? cold : latencies).push(await send(i));
  }),
);
process.stdout.write(JSON.stringify({ latencies, cold }));

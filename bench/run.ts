/**
 * `npm run bench`: runs every benchmark and prints one line per figure with its goal.
 * Needs `npm run build` first (the CLI benchmarks run the built bin), and Redis on 127.0.0.1:6379
 * (the Slack benchmarks run the real queue and worker).
 */
import { benchCatalogue } from "./catalogue.js";
import { benchDigest } from "./digest.js";
import { benchSlack } from "./slack.js";
import { benchThroughput } from "./throughput.js";
import { benchTokens } from "./tokens.js";

/** Goals as [at most] or [at least, "min"]. */
const GOALS: Record<string, [number] | [number, "min"]> = {
  "catalogue open (snapshot) median ms": [150],
  "lens suggest wall median ms": [1000],
  "self-check: most frequent intruder in others' top 5 %": [10],
  "ack p99 ms": [100],
  "overhead per analysis ms": [300],
  // What four processes did before workers ran many jobs at once (issue 7).
  "analyses per min, 1 process (300 ms model)": [650, "min"],
  // A digest is posted in well under a human's patience, even for a busy week.
  "digest job (records, 60 permalinks, retro, post), median ms": [2000],
};

/** `npm run bench -- throughput` runs one suite: catalogue, tokens, slack, throughput or digest. */
const only = process.argv[2];
const suites: Record<string, () => Promise<Record<string, number>>> = {
  catalogue: benchCatalogue,
  tokens: benchTokens,
  slack: benchSlack,
  throughput: benchThroughput,
  digest: benchDigest,
};
const results: Record<string, number> = {};
for (const [name, suite] of Object.entries(suites)) {
  if (!only || only === name) Object.assign(results, await suite());
}
let failed = false;
for (const [name, value] of Object.entries(results)) {
  const [goal, kind] = GOALS[name] ?? [];
  let verdict = "";
  if (goal !== undefined) {
    const ok = kind === "min" ? value >= goal : value <= goal;
    verdict = `  (goal ${kind === "min" ? "≥" : "≤"} ${goal}: ${ok ? "ok" : "MISSED"})`;
    if (!ok) failed = true;
  }
  console.log(`${name.padEnd(58)} ${String(value).padStart(7)}${verdict}`);
}
process.exitCode = failed ? 1 : 0;

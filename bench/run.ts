/**
 * `npm run bench`: runs every benchmark and prints one line per figure with its goal.
 * Needs `npm run build` first (the CLI benchmarks run the built bin), and Redis on 127.0.0.1:6379
 * (the Slack benchmarks run the real queue and worker).
 */
import { benchCatalogue } from "./catalogue.js";
import { benchSlack } from "./slack.js";
import { benchTokens } from "./tokens.js";

const GOALS: Record<string, number> = {
  "catalogue open (snapshot) median ms": 150,
  "lens suggest wall median ms": 1000,
  "self-check: most frequent intruder in others' top 5 %": 10,
  "ack p99 ms": 100,
  "overhead per analysis ms": 300,
};

const results = { ...(await benchCatalogue()), ...(await benchTokens()), ...(await benchSlack()) };
let failed = false;
for (const [name, value] of Object.entries(results)) {
  const goal = GOALS[name];
  const verdict =
    goal === undefined ? "" : value <= goal ? `  (goal ≤ ${goal}: ok)` : `  (goal ≤ ${goal}: MISSED)`;
  if (goal !== undefined && value > goal) failed = true;
  console.log(`${name.padEnd(58)} ${String(value).padStart(7)}${verdict}`);
}
process.exitCode = failed ? 1 : 0;

/**
 * Catalogue and CLI start-up benchmarks, each measured in fresh Node processes (cold start is
 * what a CLI user and a freshly started worker pay).
 *
 * - catalogue load + validation: time around `loadCatalogue` only (ms), median and max of N runs.
 * - `lens suggest --json`: whole-process wall time including Node start-up (ms).
 */
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const RUNS = 15;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;

function loadOnce(): number {
  const script = `
    const { loadCatalogue } = await import(${JSON.stringify(`${root}dist/catalogue/load.js`)});
    const { BUNDLED_LENSES_DIR } = await import(${JSON.stringify(`${root}dist/config.js`)});
    const t0 = performance.now();
    const c = loadCatalogue(BUNDLED_LENSES_DIR);
    const ms = performance.now() - t0;
    if (c.lenses.length < 120) throw new Error("catalogue too small");
    process.stdout.write(String(ms));`;
  return Number(execFileSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8" }));
}

function suggestOnce(): number {
  const t0 = performance.now();
  execFileSync(
    process.execPath,
    [`${root}bin/lens.js`, "suggest", "--json", "--file", `${root}examples/dashboard-latency.txt`],
    {
      encoding: "utf8",
    },
  );
  return performance.now() - t0;
}

export function benchCatalogue(): Record<string, number> {
  const loads = Array.from({ length: RUNS }, loadOnce);
  const suggests = Array.from({ length: RUNS }, suggestOnce);
  return {
    "catalogue load+validate median ms": Math.round(median(loads)),
    "catalogue load+validate max ms": Math.round(Math.max(...loads)),
    "lens suggest wall median ms": Math.round(median(suggests)),
    "lens suggest wall max ms": Math.round(Math.max(...suggests)),
  };
}

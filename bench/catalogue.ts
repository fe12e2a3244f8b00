/**
 * Catalogue and CLI start-up benchmarks, each measured in fresh Node processes (cold start is
 * what a CLI user and a freshly started worker pay).
 *
 * - catalogue open: time around `openCatalogue` (ms), median and max of N runs: what every process
 *   start pays (the build's validated snapshot, checked against the lens files' fingerprint).
 * - catalogue load + validation from the YAML files: time around `loadCatalogue` only (ms): what a
 *   process pays after a lens file changed and before the next build.
 * - `lens suggest --json`: whole-process wall time including Node start-up (ms).
 * - the label-free self-check on the catalogue's own examples (see `selfcheck.ts`), in %.
 */
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const RUNS = 15;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;

function openOnce(): number {
  const script = `
    const { openCatalogue } = await import(${JSON.stringify(`${root}dist/catalogue/snapshot.js`)});
    const { BUNDLED_LENSES_DIR } = await import(${JSON.stringify(`${root}dist/config.js`)});
    const t0 = performance.now();
    const { catalogue } = openCatalogue(BUNDLED_LENSES_DIR);
    const ms = performance.now() - t0;
    if (catalogue.lenses.length < 300) throw new Error("catalogue too small");
    process.stdout.write(String(ms));`;
  return Number(execFileSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8" }));
}

function loadOnce(): number {
  const script = `
    const { loadCatalogue } = await import(${JSON.stringify(`${root}dist/catalogue/load.js`)});
    const { BUNDLED_LENSES_DIR } = await import(${JSON.stringify(`${root}dist/config.js`)});
    const t0 = performance.now();
    const c = loadCatalogue(BUNDLED_LENSES_DIR);
    const ms = performance.now() - t0;
    if (c.lenses.length < 300) throw new Error("catalogue too small");
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

export async function benchCatalogue(): Promise<Record<string, number>> {
  const opens = Array.from({ length: RUNS }, openOnce);
  const loads = Array.from({ length: RUNS }, loadOnce);
  const suggests = Array.from({ length: RUNS }, suggestOnce);
  const { CatalogueIndex } = await import(`${root}dist/catalogue/search.js`);
  const { loadCatalogue } = await import(`${root}dist/catalogue/load.js`);
  const { BUNDLED_LENSES_DIR } = await import(`${root}dist/config.js`);
  const { selfCheck } = await import(`${root}dist/catalogue/selfcheck.js`);
  const check = selfCheck(new CatalogueIndex(loadCatalogue(BUNDLED_LENSES_DIR)));
  const pct = (x: number) => Math.round(x * 1000) / 10;
  return {
    "catalogue open (snapshot) median ms": Math.round(median(opens)),
    "catalogue open (snapshot) max ms": Math.round(Math.max(...opens)),
    "catalogue load+validate from YAML median ms": Math.round(median(loads)),
    "catalogue load+validate from YAML max ms": Math.round(Math.max(...loads)),
    "self-check: lenses top-2 for most own examples %": pct(check.lensesMostlyTop2InIndex),
    "self-check: same, each example left out %": pct(check.lensesMostlyTop2),
    "self-check: examples with own lens top-2, left out %": pct(check.ownTop2),
    "self-check: most frequent intruder in others' top 5 %": pct(check.intruders[0]?.share ?? 0),
    "lens suggest wall median ms": Math.round(median(suggests)),
    "lens suggest wall max ms": Math.round(Math.max(...suggests)),
  };
}

/**
 * Development aid: scores the index ranking on an eval file in-process (same metric as
 * ../shared/eval/bench_suggest.py) so weights can be compared quickly.
 * usage: node --import tsx scripts/tune-suggest.ts ../shared/eval/dev-problems.json [--explain id]
 */
import { readFileSync } from "node:fs";
import { loadCatalogue } from "../src/catalogue/load.js";
import { normaliseName } from "../src/catalogue/names.js";
import { CatalogueIndex, DEFAULT_WEIGHTS, type RankWeights } from "../src/catalogue/search.js";
import { BUNDLED_LENSES_DIR } from "../src/config.js";

interface EvalProblem {
  id: string;
  prompt: string;
  expected: { high: string[]; medium: string[] };
}

export function ndcgAt(k: number, expected: EvalProblem["expected"], names: string[][]): number {
  const gain = new Map<string, number>();
  for (const n of expected.medium) gain.set(normaliseName(n), 1);
  for (const n of expected.high) gain.set(normaliseName(n), 2);
  const seen = new Set<string>();
  let dcg = 0;
  names.slice(0, k).forEach((alts, i) => {
    const hit = alts.map(normaliseName).find((n) => gain.has(n) && !seen.has(n));
    if (hit) {
      seen.add(hit);
      dcg += (2 ** (gain.get(hit) ?? 0) - 1) / Math.log2(i + 2);
    }
  });
  const ideal = [...gain.values()].sort((a, b) => b - a).slice(0, k);
  const idcg = ideal.reduce((s, g, i) => s + (2 ** g - 1) / Math.log2(i + 2), 0);
  return idcg ? dcg / idcg : 0;
}

const file = process.argv[2] ?? "../shared/eval/dev-problems.json";
const problems = JSON.parse(readFileSync(file, "utf8")) as EvalProblem[];
const catalogue = loadCatalogue(BUNDLED_LENSES_DIR);
const explain = process.argv.indexOf("--explain");

function evaluate(weights: RankWeights, verbose: boolean): number {
  const index = new CatalogueIndex(catalogue, weights);
  let sum = 0;
  for (const p of problems) {
    const ranking = index.rank(p.prompt);
    const score = ndcgAt(
      5,
      p.expected,
      ranking.lenses.map((r) => [r.lens.name, ...r.lens.aliases]),
    );
    sum += score;
    if (verbose) {
      console.log(
        `${p.id.padEnd(36)} ${score.toFixed(2)}  ${ranking.lenses
          .slice(0, 5)
          .map((r) => `${r.lens.name}(${r.score.toFixed(2)}/${r.lexical.toFixed(2)})`)
          .join(", ")}`,
      );
      console.log(
        `${"".padEnd(36)}      modes: ${ranking.modes
          .slice(0, 3)
          .map((m) => `${m.mode.id}:${m.match_score}`)
          .join(" ")}`,
      );
    }
  }
  return sum / problems.length;
}

if (explain > 0) {
  const p = problems.find((x) => x.id === process.argv[explain + 1]);
  if (p) {
    const index = new CatalogueIndex(catalogue);
    for (const r of index.rank(p.prompt).lenses.slice(0, 15)) {
      console.log(r.lens.name, r.score.toFixed(2), r.lexical.toFixed(2), r.matched.join("|"));
    }
  }
} else if (process.argv.includes("--grid")) {
  const results: [number, RankWeights][] = [];
  for (const mode of [1, 1.5])
    for (const phrase of [0.15, 0.3, 0.5, 0.8])
      for (const centrality of [0.6, 1])
        for (const positionDecay of [0.3]) {
          const supportingModes = 3;
          const w = {
            ...DEFAULT_WEIGHTS,
            mode,
            phrase,
            supportingModes,
            positionDecay,
            centrality,
          };
          results.push([evaluate(w, false), w]);
        }
  results.sort((a, b) => b[0] - a[0]);
  for (const [s, w] of results.slice(0, 10)) console.log(s.toFixed(3), JSON.stringify(w));
} else {
  console.log(`mean nDCG@5 = ${evaluate(DEFAULT_WEIGHTS, true).toFixed(3)}`);
}

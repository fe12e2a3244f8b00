/**
 * Development aid: scores the index ranking on an eval file in-process (the same metric as
 * ../shared/eval/bench_suggest.py), beside a text-blind ranking, and prints the label-free checks
 * on the catalogue's own examples. Use it to see where ranking goes wrong, not to fit weights to
 * these few problems.
 * usage: node --import tsx scripts/tune-suggest.ts ../shared/eval/dev2-problems.json [--explain id] [--self]
 */
import { readFileSync } from "node:fs";
import { LensGraph } from "../src/catalogue/graph.js";
import { loadCatalogue } from "../src/catalogue/load.js";
import { normaliseName } from "../src/catalogue/names.js";
import { CatalogueIndex } from "../src/catalogue/search.js";
import { selfCheck } from "../src/catalogue/selfcheck.js";
import { BUNDLED_LENSES_DIR } from "../src/config.js";

interface EvalProblem {
  id: string;
  prompt: string;
  expected: { high: string[]; medium?: string[] };
}

/** nDCG@k with graded gains (high 2, medium 1), names matched with aliases as bench_suggest.py does. */
export function ndcgAt(k: number, expected: EvalProblem["expected"], names: string[][]): number {
  const gain = new Map<string, number>();
  for (const n of expected.medium ?? []) gain.set(normaliseName(n), 1);
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
const index = new CatalogueIndex(catalogue);
const blind = new LensGraph(catalogue)
  .central(catalogue.lenses.length)
  .map((c) => [c.lens.name, ...c.lens.aliases]);
const explain = process.argv.indexOf("--explain");

if (explain > 0) {
  const p = problems.find((x) => x.id === process.argv[explain + 1]);
  if (p) {
    const ranking = index.rank(p.prompt);
    console.log(`fit: ${ranking.fit}`);
    for (const r of ranking.lenses.slice(0, 15)) {
      console.log(
        `${r.lens.name.padEnd(36)} ${r.score.toFixed(2)} ${r.evidence.toFixed(1).padStart(6)}  ${r.matched.join(" | ")}`,
      );
    }
    const all = [...p.expected.high, ...(p.expected.medium ?? [])];
    for (const name of all) {
      const at = ranking.lenses.findIndex((r) => r.lens.id === catalogue.find(name)?.id);
      console.log(`expected ${name}: #${at + 1}`);
    }
  }
} else {
  let sum = 0;
  let blindSum = 0;
  for (const p of problems) {
    const ranking = index.rank(p.prompt);
    const score = ndcgAt(
      5,
      p.expected,
      ranking.lenses.map((r) => [r.lens.name, ...r.lens.aliases]),
    );
    sum += score;
    blindSum += ndcgAt(5, p.expected, blind);
    console.log(
      `${p.id.padEnd(36)} ${score.toFixed(2)}  ${ranking.lenses
        .slice(0, 5)
        .map((r) => r.lens.name)
        .join(", ")}`,
    );
  }
  console.log(
    `mean nDCG@5 = ${(sum / problems.length).toFixed(3)}   text-blind = ${(blindSum / problems.length).toFixed(3)}`,
  );
  if (process.argv.includes("--self")) {
    const check = selfCheck(index);
    console.log(
      `self-check: ${check.examples} examples; lenses first or second for most of their own examples: ${(check.lensesMostlyTop2InIndex * 100).toFixed(1)}% in the index, ${(check.lensesMostlyTop2 * 100).toFixed(1)}% with each left out; examples whose own lens is top-2 when left out: ${(check.ownTop2 * 100).toFixed(1)}%`,
    );
    console.log(
      `most frequent intruders: ${check.intruders
        .slice(0, 5)
        .map((i) => `${i.id} ${(i.share * 100).toFixed(1)}%`)
        .join(", ")}`,
    );
  }
}

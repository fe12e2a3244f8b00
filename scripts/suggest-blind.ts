/**
 * A ranking that ignores the text, for reporting eval scores beside it (the lift over it is what
 * the ranking earns): every lens ordered by its PageRank in the lens graph, the most connected
 * first. Prints the same JSON as `lens suggest --json`; the file argument is accepted and unread.
 * usage: LENS_CMD="node --import tsx scripts/suggest-blind.ts" python3 ../shared/eval/bench_suggest.py FILE
 */
import { LensGraph } from "../src/catalogue/graph.js";
import { loadCatalogue } from "../src/catalogue/load.js";
import { BUNDLED_LENSES_DIR } from "../src/config.js";

const catalogue = loadCatalogue(BUNDLED_LENSES_DIR);
const central = new LensGraph(catalogue).central(catalogue.lenses.length);
console.log(
  JSON.stringify({
    lenses: central.map((c) => ({
      id: c.lens.id,
      name: c.lens.name,
      aliases: c.lens.aliases,
      score: c.centrality,
    })),
    modes: [],
  }),
);

import { readFileSync } from "node:fs";
import { loadCatalogue } from "../src/catalogue/load.js";
import { CatalogueIndex } from "../src/catalogue/search.js";

const probs = JSON.parse(readFileSync("../shared/eval/dev-problems.json", "utf8"));
const c = loadCatalogue("lenses");
const idx = new CatalogueIndex(c);
for (const p of probs) {
  const r = idx.rank(p.prompt).lenses;
  const rank = (n: string) => r.findIndex((x) => x.lens.id === c.find(n)?.id) + 1;
  console.log(
    p.id.padEnd(34),
    "H:",
    p.expected.high.map((n: string) => `${n}#${rank(n)}`).join(", "),
    "| M:",
    p.expected.medium.map((n: string) => `${n}#${rank(n)}`).join(", "),
  );
}

import type { CatalogueIndex } from "./search.js";

/** What the label-free check measures, over every example of every lens. */
export interface SelfCheck {
  /** How many examples were ranked. */
  examples: number;
  /** Share (0-1) of examples whose own lens ranks first or second, with that example left out. */
  ownTop2: number;
  /** Share (0-1) of lenses that rank first or second for most (over half) of their own examples, each left out. */
  lensesMostlyTop2: number;
  /**
   * The same share with every example in the index (as `lens suggest` runs on it): a lens whose
   * own words cannot win here is outweighed by something other than text evidence.
   */
  lensesMostlyTop2InIndex: number;
  /**
   * Lenses by how often they appear in the top 5 for other lenses' examples (share 0-1), most
   * frequent first: a lens high here is a favourite, not a fit.
   */
  intruders: { id: string; share: number }[];
}

/**
 * Ranks every lens's own examples and measures two things that need no labels: whether a lens is
 * found from situations written for it (with the example in the index, as `lens suggest` sees
 * it, and, harder, with that example left out, so it cannot find itself), and whether some lens
 * turns up everywhere. Costs two `rank` calls per example.
 */
export function selfCheck(index: CatalogueIndex): SelfCheck {
  const lenses = index.catalogue.lenses;
  const top5 = new Map<string, number>();
  let examples = 0;
  let own = 0;
  let mostly = 0;
  let mostlyInIndex = 0;
  const top2 = (example: string, id: string, exclude?: Set<string>) =>
    index
      .rank(example, exclude ? { exclude } : {})
      .lenses.slice(0, 2)
      .some((r) => r.lens.id === id);
  for (const lens of lenses) {
    let hits = 0;
    let inIndex = 0;
    lens.examples.forEach((example, i) => {
      const ranking = index.rank(example, { exclude: new Set([`${lens.id}#${i}`]) });
      const ids = ranking.lenses.slice(0, 5).map((r) => r.lens.id);
      if (ids.slice(0, 2).includes(lens.id)) hits++;
      if (top2(example, lens.id)) inIndex++;
      for (const id of ids) if (id !== lens.id) top5.set(id, (top5.get(id) ?? 0) + 1);
      examples++;
    });
    own += hits;
    if (hits > lens.examples.length / 2) mostly++;
    if (inIndex > lens.examples.length / 2) mostlyInIndex++;
  }
  const examplesOf = new Map(lenses.map((l) => [l.id, l.examples.length]));
  const intruders = [...top5]
    .map(([id, n]) => ({ id, share: n / (examples - (examplesOf.get(id) ?? 0)) }))
    .sort((a, b) => b.share - a.share || a.id.localeCompare(b.id));
  return {
    examples,
    ownTop2: own / examples,
    lensesMostlyTop2: mostly / lenses.length,
    lensesMostlyTop2InIndex: mostlyInIndex / lenses.length,
    intruders,
  };
}

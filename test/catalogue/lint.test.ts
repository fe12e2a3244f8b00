import { describe, expect, it } from "vitest";
import { Catalogue } from "../../src/catalogue/catalogue.js";
import { lintCatalogue, lintLens, nearDuplicates, sentenceCount } from "../../src/catalogue/lint.js";
import { loadCatalogue } from "../../src/catalogue/load.js";
import { BUNDLED_LENSES_DIR } from "../../src/config.js";

const catalogue = loadCatalogue(BUNDLED_LENSES_DIR);
const toc = catalogue.require("theory-of-constraints");

describe("the bundled catalogue", () => {
  it("passes every editorial check", () => {
    expect(lintCatalogue(catalogue)).toEqual([]);
  });
});

describe("lintLens", () => {
  it("accepts a complete lens", () => {
    expect(lintLens(toc)).toEqual([]);
  });

  it("flags a year in origin.work, an example that names the lens, and generic or duplicate signals", () => {
    const problems = lintLens({
      ...toc,
      origin: { ...toc.origin, work: "The Goal (1984)" },
      examples: [...toc.examples.slice(0, 2), "Our theory of constraints workshop went badly."],
      signals: [...toc.signals, "slow", toc.signals[0]!],
    });
    expect(problems).toContain(
      "theory-of-constraints.yaml: origin.work: the year belongs in origin.year only",
    );
    expect(problems.some((p) => p.includes("examples.2: names the lens"))).toBe(true);
    expect(problems.some((p) => p.includes('"slow" fits almost any problem'))).toBe(true);
    expect(problems.some((p) => p.includes("duplicate"))).toBe(true);
  });

  it("flags examples longer than two sentences and questions without a question mark", () => {
    const problems = lintLens({
      ...toc,
      examples: [...toc.examples.slice(0, 2), "One thing broke. Then another. Then a third went down too."],
      questions: [...toc.questions.slice(0, 2), "Tell me where work waits the longest."],
    });
    expect(problems.some((p) => p.includes("examples.2: should be one or two sentences"))).toBe(true);
    expect(problems.some((p) => p.includes("questions.2: should be a question"))).toBe(true);
  });
});

describe("sentenceCount", () => {
  it("counts sentence ends followed by a capital or the end", () => {
    expect(sentenceCount("One. Two! Three?")).toBe(3);
    expect(sentenceCount("We are at 3.5 ms p99, up from 2.1 ms.")).toBe(1);
  });
});

describe("catalogue-wide checks", () => {
  it("finds near-duplicate definitions", () => {
    const copy = { ...toc, id: "toc-copy", name: "TOC Copy", aliases: [] };
    const pairs = nearDuplicates([...catalogue.lenses, copy]);
    expect(pairs[0]).toMatchObject({ a: "theory-of-constraints", b: "toc-copy" });
    expect(pairs[0]!.similarity).toBeGreaterThan(0.99);
  });

  it("finds lenses the graph cannot reach", () => {
    const island = { ...toc, id: "island", name: "Island", aliases: [], related: [], contrasts: [] };
    const problems = lintCatalogue(
      new Catalogue([...catalogue.lenses, island], catalogue.modes, catalogue.frames),
    );
    expect(problems.some((p) => p.startsWith("island.yaml: related: island cannot be reached"))).toBe(true);
  });
});

import { describe, expect, it } from "vitest";
import { loadCatalogue } from "../../src/catalogue/load.js";
import { CatalogueIndex } from "../../src/catalogue/search.js";
import { selfCheck } from "../../src/catalogue/selfcheck.js";
import { analyse, sentences } from "../../src/catalogue/text.js";
import { BUNDLED_LENSES_DIR } from "../../src/config.js";

const catalogue = loadCatalogue(BUNDLED_LENSES_DIR);
const index = new CatalogueIndex(catalogue);
const top = (text: string, n: number) =>
  index
    .rank(text)
    .lenses.slice(0, n)
    .map((r) => r.lens.id);

describe("text analysis", () => {
  it("drops stop words and stems", () => {
    expect(analyse("The users are onboarding")).toEqual(["user", "onboard"]);
  });

  it("splits sentences per line and drops list markers", () => {
    expect(sentences("We tried caching (5%). Nothing moved!\n- pooling: 2%\n1. indexes")).toEqual([
      "We tried caching (5%).",
      "Nothing moved!",
      "pooling: 2%",
      "indexes",
    ]);
  });
});

describe("CatalogueIndex.rank", () => {
  it("finds incident lenses for an outage told in plain words", () => {
    const ids = top(
      "Outage last night: one slow dependency, clients retried three times, the retry storm took down every service.",
      5,
    );
    expect(ids).toContain("cascading-failure");
  });

  it("finds the bottleneck for a hiring problem that never says bottleneck", () => {
    const ids = top(
      "Five senior engineers do all the interviews. Every other step of hiring is waiting on their calendars and offers take six weeks.",
      5,
    );
    expect(ids).toContain("theory-of-constraints");
  });

  it("matches signal phrases made of small words before stop words are dropped", () => {
    const lens = catalogue.lenses.find((l) =>
      l.signals.some((s) => s.split(/\s+/).length > 1 && analyse(s).length < s.split(/\s+/).length),
    );
    expect(lens).toBeDefined();
    const signal = lens!.signals.find(
      (s) => s.split(/\s+/).length > 1 && analyse(s).length < s.split(/\s+/).length,
    )!;
    const hit = index
      .rank(`Honestly, ${signal}, and it has been like this for a month.`)
      .lenses.find((r) => r.lens.id === lens!.id);
    expect(hit?.matched).toContain(signal);
  });

  it("scores are calibrated: a clear problem fits clearly, gibberish fits nothing", () => {
    const clear = index.rank(
      "Every deploy waits for the one person who can approve database migrations; work piles up in review and lead time doubled.",
    );
    expect(clear.fit).toBe("clear");
    expect(clear.lenses.slice(0, 3).map((r) => r.lens.id)).toContain("theory-of-constraints");

    const noise = index.rank("qwzx plorb vrrnt ksjdh fmmpt");
    expect(noise.fit).toBe("none");
    expect(noise.lenses.every((r) => r.score < 0.25)).toBe(true);
    for (const m of noise.modes) expect(m.match_score).toBeLessThan(0.3);
  });

  it("never scores a mode at 100% without strong lens evidence, and orders modes by score", () => {
    const { modes } = index.rank("Users drop off during onboarding and never come back after the first week");
    expect(modes).toHaveLength(catalogue.modes.length);
    for (let i = 1; i < modes.length; i++) {
      expect(modes[i]!.match_score).toBeLessThanOrEqual(modes[i - 1]!.match_score);
    }
    for (const m of modes) {
      expect(m.match_score).toBeGreaterThanOrEqual(0);
      expect(m.match_score).toBeLessThanOrEqual(1);
      expect(m.lenses.length).toBeLessThanOrEqual(4);
      for (const id of m.lenses) expect(catalogue.has(id)).toBe(true);
    }
    expect(modes[0]!.mode.id).toBe("product");
  });

  it("is stable: the same text gives the same order", () => {
    const text = "Two teams argue about who owns the billing service";
    expect(top(text, 10)).toEqual(top(text, 10));
  });
});

describe("CatalogueIndex.evidenceFor", () => {
  it("quotes the sentences of the text that point at a lens, strongest first", () => {
    const text =
      "Our API is stuck at 350 ms. We cached responses and it barely moved. Lunch was good. Every request waits on one shared database connection pool.";
    const quotes = index.evidenceFor(text, "theory-of-constraints");
    expect(quotes.length).toBeGreaterThan(0);
    for (const q of quotes) expect(text).toContain(q.sentence);
    expect(quotes.map((q) => q.sentence)).not.toContain("Lunch was good.");
    const scores = quotes.map((q) => q.score);
    expect(scores).toEqual([...scores].sort((a, b) => b - a));
  });
});

describe("label-free checks on the catalogue's own examples", () => {
  const check = selfCheck(index);

  it("ranks nearly every lens first or second for most of its own examples", () => {
    expect(check.examples).toBeGreaterThanOrEqual(catalogue.lenses.length * 3);
    expect(check.lensesMostlyTop2InIndex).toBeGreaterThan(0.9);
  });

  it("still finds the lens from a quarter of its situations when that one is left out of the index", () => {
    // Each example is written in another register and domain, so this is the hard case: what a
    // new problem told in new words meets.
    expect(check.ownTop2).toBeGreaterThan(0.25);
  });

  it("has no favourite: no lens is in the top 5 for more than 10% of other lenses' examples", () => {
    expect(check.intruders[0]!.share).toBeLessThanOrEqual(0.1);
  });
});

describe("CatalogueIndex.search", () => {
  it("finds lenses by prefix and despite typos", () => {
    expect(index.search("swiss")[0]?.lens.id).toBe("swiss-cheese-model");
    expect(index.search("chesterton fense").map((h) => h.lens.id)).toContain("chestertons-fence");
  });
});

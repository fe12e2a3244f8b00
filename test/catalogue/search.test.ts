import { describe, expect, it } from "vitest";
import { loadCatalogue } from "../../src/catalogue/load.js";
import { analyse, CatalogueIndex } from "../../src/catalogue/search.js";
import { BUNDLED_LENSES_DIR } from "../../src/config.js";

const catalogue = loadCatalogue(BUNDLED_LENSES_DIR);
const index = new CatalogueIndex(catalogue);
const top = (text: string, n: number) =>
  index
    .rank(text)
    .lenses.slice(0, n)
    .map((r) => r.lens.id);

describe("analyse", () => {
  it("drops stop words and stems", () => {
    expect(analyse("The users are onboarding")).toEqual(["user", "onboard"]);
  });
});

describe("CatalogueIndex.rank", () => {
  it("ranks incident lenses for an outage with retries piling up", () => {
    const ids = top(
      "Outage last night: one slow dependency, clients retried three times, the retry storm took down every service. Third time this year; we keep ignoring the warnings.",
      10,
    );
    expect(ids).toContain("cascading-failure");
  });

  it("ranks pricing lenses for a pricing problem", () => {
    expect(top("Customers are confused by our three pricing tiers and sales keeps discounting", 6)).toContain(
      "value-based-pricing",
    );
  });

  it("ranks remote-work lenses for a distributed team", () => {
    expect(
      top("Since going fully remote across time zones our meetings and slack threads are exhausting", 6),
    ).toContain("sync-vs-async");
  });

  it("returns modes with scores in 0-1, best first, each with up to 4 lens ids", () => {
    const { modes } = index.rank("Users drop off during onboarding and never activate");
    expect(modes.length).toBe(catalogue.modes.length);
    expect(modes[0]?.match_score).toBe(1);
    for (let i = 1; i < modes.length; i++) {
      expect(modes[i]?.match_score).toBeLessThanOrEqual(modes[i - 1]?.match_score ?? 1);
      expect(modes[i]?.match_score).toBeGreaterThanOrEqual(0);
    }
    expect(modes[0]?.mode.id).toBe("product");
    for (const m of modes) {
      expect(m.lenses.length).toBeLessThanOrEqual(4);
      for (const id of m.lenses) expect(catalogue.has(id)).toBe(true);
    }
  });

  it("reports signal phrases it found", () => {
    const hit = index
      .rank("our flaky tests are a known issue and everyone ignores the warnings")
      .lenses.find((r) => r.lens.id === "normalization-of-deviance");
    expect(hit?.matched.length).toBeGreaterThan(0);
  });

  it("is stable: the same text gives the same order", () => {
    const text = "Two teams argue about who owns the billing service";
    expect(top(text, 10)).toEqual(top(text, 10));
  });
});

describe("CatalogueIndex.search", () => {
  it("finds lenses by prefix and despite typos", () => {
    expect(index.search("swiss")[0]?.lens.id).toBe("swiss-cheese-model");
    expect(index.search("chesterton fense").map((h) => h.lens.id)).toContain("chestertons-fence");
  });
});

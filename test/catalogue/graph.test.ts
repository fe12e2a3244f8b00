/** The lens graph on the real catalogue. */
import { describe, expect, it } from "vitest";
import { LensGraph } from "../../src/catalogue/graph.js";
import { loadCatalogue } from "../../src/catalogue/load.js";
import { BUNDLED_LENSES_DIR } from "../../src/config.js";
import { UnknownLensError } from "../../src/errors.js";

const catalogue = loadCatalogue(BUNDLED_LENSES_DIR);
const graph = new LensGraph(catalogue);

/** A deterministic source of numbers in [0, 1) (mulberry32). */
function seeded(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe("LensGraph on the bundled catalogue", () => {
  it("reaches every lens from every other", () => {
    const components = graph.components();
    expect(components).toHaveLength(1);
    expect(components[0]).toHaveLength(catalogue.lenses.length);
  });

  it("links both ways: a lens named as related by another lists it back", () => {
    for (const lens of catalogue.lenses) {
      for (const id of lens.related) {
        const back = [...graph.related(id), ...graph.contrasts(id).map((c) => c.lens)].map((l) => l.id);
        expect(back).toContain(lens.id);
      }
    }
  });

  it("gives each lens its contrasts with the tension from either file", () => {
    const toc = graph.contrasts("theory-of-constraints");
    expect(toc.length).toBeGreaterThanOrEqual(1);
    for (const c of toc) expect(c.tension.length).toBeGreaterThan(20);
    // A contrast named in another lens's file is found from this side too.
    const named = catalogue.lenses.find((l) => l.contrasts.some((c) => c.id === "theory-of-constraints"));
    if (named) expect(toc.map((c) => c.lens.id)).toContain(named.id);
  });

  it("finds a journey between the two most distant lenses within 6 steps, each step a real link", () => {
    const from = "kano-model";
    const far = graph.neighbourhood(from, 100).at(-1);
    expect(far).toBeDefined();
    const steps = graph.journey(from, far!.lens.id);
    expect(steps).toBeDefined();
    expect(steps!.length).toBe(far!.distance);
    expect(steps!.length).toBeLessThanOrEqual(6);
    expect(steps![0]!.from.id).toBe(from);
    expect(steps!.at(-1)!.to.id).toBe(far!.lens.id);
    for (const [i, s] of steps!.entries()) {
      if (i > 0) expect(s.from.id).toBe(steps![i - 1]!.to.id);
      const linked = [...graph.related(s.from.id), ...graph.contrasts(s.from.id).map((c) => c.lens)];
      expect(linked.map((l) => l.id)).toContain(s.to.id);
      if (s.kind === "contrast") expect(s.tension).toBeTruthy();
    }
    expect(graph.journey(from, from)).toEqual([]);
    expect(() => graph.journey(from, "no-such-lens")).toThrow(UnknownLensError);
  });

  it("keeps every lens within 6 steps of every other (the catalogue's diameter)", () => {
    let worst = 0;
    for (const lens of catalogue.lenses) {
      const last = graph.neighbourhood(lens.id, 100).at(-1);
      worst = Math.max(worst, last?.distance ?? 0);
    }
    expect(worst).toBeLessThanOrEqual(6);
  });

  it("lists neighbours nearest first", () => {
    const near = graph.neighbourhood("five-whys", 2);
    expect(near.length).toBeGreaterThan(3);
    expect(near.map((n) => n.distance)).toEqual([...near.map((n) => n.distance)].sort((a, b) => a - b));
    expect(near.some((n) => n.lens.id === "five-whys")).toBe(false);
    const direct = near.filter((n) => n.distance === 1).map((n) => n.lens.id);
    expect(direct).toEqual(expect.arrayContaining(catalogue.require("five-whys").related));
  });

  it("ranks central lenses by PageRank, and no lens dominates", () => {
    const central = graph.central(10);
    expect(central).toHaveLength(10);
    const values = central.map((c) => c.centrality);
    expect(values).toEqual([...values].sort((a, b) => b - a));
    // PageRank sums to 1; no lens holds more than 3% of it.
    expect(values[0]).toBeLessThan(0.03);
  });

  it("finds bridges between two lenses and between two modes", () => {
    const a = "theory-of-constraints";
    const b = "queueing-theory";
    for (const lens of graph.bridges(a, b)) {
      const nearA = [...graph.related(a), ...graph.contrasts(a).map((c) => c.lens)].map((l) => l.id);
      const nearB = [...graph.related(b), ...graph.contrasts(b).map((c) => c.lens)].map((l) => l.id);
      expect(nearA).toContain(lens.id);
      expect(nearB).toContain(lens.id);
    }
    const modeBridges = graph.bridges("reliability", "teams");
    expect(modeBridges.length).toBeGreaterThan(0);
    for (const lens of modeBridges) {
      expect(lens.modes.includes("reliability") || lens.modes.includes("teams")).toBe(true);
    }
  });

  it("picks random lenses weighted toward the ones a team has not used", () => {
    const random = seeded(42);
    const used = new Set(catalogue.lenses.slice(0, Math.floor(catalogue.lenses.length / 2)).map((l) => l.id));
    let unused = 0;
    const draws = 2000;
    for (let i = 0; i < draws; i++) if (!used.has(graph.random(random, used).id)) unused++;
    // Half the lenses are unused and each is 5 times as likely: expect about 5/6 of draws.
    expect(unused / draws).toBeGreaterThan(0.78);
    expect(unused / draws).toBeLessThan(0.89);
    // The same seed gives the same sequence.
    const again = seeded(7);
    const twice = seeded(7);
    expect(Array.from({ length: 5 }, () => graph.random(again).id)).toEqual(
      Array.from({ length: 5 }, () => graph.random(twice).id),
    );
  });

  it("finds the gaps of an analysis and the linked lens that widens it most", () => {
    const used = ["theory-of-constraints", "queueing-theory"];
    const gaps = graph.gaps(used);
    const covered = new Set(used.flatMap((id) => catalogue.require(id).modes));
    expect(gaps.missingModes.map((m) => m.id)).toEqual(
      catalogue.modes.filter((m) => !covered.has(m.id)).map((m) => m.id),
    );
    expect(gaps.widen.length).toBeGreaterThan(0);
    const best = gaps.widen[0]!;
    expect(used).not.toContain(best.lens.id);
    expect(used).toContain(best.via.id);
    expect(best.addsModes.length + best.addsFrames.length).toBeGreaterThan(0);
    for (const m of best.addsModes) expect(covered.has(m.id)).toBe(false);
    const scores = gaps.widen.map((w) => w.score);
    expect(scores).toEqual([...scores].sort((x, y) => y - x));
  });
});

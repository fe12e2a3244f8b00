/** The offline engine: an answer built from the problem's own words, never invented. */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { libraryOf } from "../../src/catalogue/graph.js";
import { loadCatalogue } from "../../src/catalogue/load.js";
import { BUNDLED_LENSES_DIR } from "../../src/config.js";
import { createOfflineEngine, NO_CLEAR_FIT } from "../../src/engines/offline/engine.js";
import { prepareProblem } from "../../src/pipeline/input.js";
import { runPipeline } from "../../src/pipeline/run.js";
import type { LensAnalysis } from "../../src/pipeline/schemas.js";

const opened = libraryOf(loadCatalogue(BUNDLED_LENSES_DIR));
const { catalogue, index } = opened;
const engine = createOfflineEngine(opened);

const HIRING = prepareProblem(
  "Hiring has stalled. Five senior engineers do all the interviews, so every candidate waits on their calendars. Offers now take six weeks and we lost three good people to faster companies. Recruiters keep sourcing more candidates, which only makes the queue longer.",
);
const RELEASES = prepareProblem(
  "Releases are stuck. Every change needs sign-off from the one staff engineer who knows the payments code. Pull requests wait eight days for review on average. We added more developers last quarter and shipped fewer features.",
);

function offline(a: LensAnalysis | undefined) {
  if (a?.source !== "offline") throw new Error("expected an offline analysis");
  return a;
}

const run = (problem: ReturnType<typeof prepareProblem>, lensIds?: string[]) =>
  runPipeline({ problem, catalogue, index, engine, ...(lensIds && { lensIds }) });

describe("offline lens cards", () => {
  it("quote the problem's own sentences as evidence, different for two problems on the same lens", async () => {
    const lens = "theory-of-constraints";
    const a = offline((await run(HIRING, [lens])).analyses[0]);
    const b = offline((await run(RELEASES, [lens])).analyses[0]);
    expect(a.evidence.length).toBeGreaterThan(0);
    expect(b.evidence.length).toBeGreaterThan(0);
    for (const e of a.evidence) expect(HIRING.text).toContain(e.quote);
    for (const e of b.evidence) expect(RELEASES.text).toContain(e.quote);
    expect(a.evidence.map((e) => e.quote)).not.toEqual(b.evidence.map((e) => e.quote));
  });

  it("every quoted piece of evidence occurs in the problem text, for every lens suggested", async () => {
    for (const problem of [HIRING, RELEASES]) {
      const result = await run(problem);
      for (const analysis of result.analyses) {
        for (const e of offline(analysis).evidence) expect(problem.text).toContain(e.quote);
      }
    }
  });

  it("carry two of the lens's own questions, its pitfalls and the contrasting lens", async () => {
    const a = offline((await run(HIRING, ["theory-of-constraints"])).analyses[0]);
    const lens = catalogue.require("theory-of-constraints");
    expect(a.questions).toHaveLength(2);
    for (const q of a.questions) expect(lens.questions).toContain(q);
    for (const p of a.pitfalls) expect(lens.pitfalls).toContain(p);
    expect(a.other_side?.lens_id).toBe(lens.contrasts[0]?.id);
    expect(a.other_side?.tension).toBe(lens.contrasts[0]?.tension);
  });
});

describe("offline synthesis", () => {
  it("orders lenses by evidence, names missing modes and ends with one question, without repeating the cards", async () => {
    const result = await run(HIRING);
    const s = result.synthesis;
    if (s.source !== "offline") throw new Error("expected an offline synthesis");
    const ranking = index.rank(HIRING.text);
    const evidence = (id: string) => ranking.lenses.find((r) => r.lens.id === id)?.score ?? 0;
    const order = s.look_first.map((l) => evidence(l.lens_id));
    expect(order).toEqual([...order].sort((x, y) => y - x));
    const used = new Set(result.analyses.flatMap((a) => catalogue.require(a.lens_id).modes));
    for (const m of s.missing_modes) expect(used.has(m.id)).toBe(false);
    expect(s.settle_first.endsWith("?")).toBe(true);
    // The synthesis lists no card's question list again.
    const text = JSON.stringify(s);
    const repeated = result.analyses.flatMap((a) => offline(a).questions).filter((q) => text.includes(q));
    expect(repeated.length).toBeLessThanOrEqual(1);
  });
});

describe("offline synthesis: the attempts the problem names", () => {
  const DASHBOARD = prepareProblem(
    readFileSync(new URL("../../examples/dashboard-latency.txt", import.meta.url), "utf8"),
  );

  it("gives each attempt of the dashboard problem catalogue questions of the run's lenses, and invents nothing", async () => {
    const result = await run(DASHBOARD);
    const s = result.synthesis;
    if (s.source !== "offline") throw new Error("expected an offline synthesis");
    expect(s.attempts?.map((a) => [a.attempt, a.effect])).toEqual([
      ["put a Redis cache in front of the aggregate queries", "shaved off roughly 5%"],
      ["rewrote the two slowest SQL queries", "about 8% better"],
      ["added composite indexes on the events table", "about 12% better"],
      ["micro-optimised the serialisation code", "about 3%"],
      ["tuned the connection pool size", "about 2%"],
    ]);
    const runIds = result.analyses.map((a) => a.lens_id);
    const given = new Set<string>();
    for (const a of s.attempts ?? []) {
      expect(a.probes).toHaveLength(2);
      expect(new Set(a.probes.map((p) => p.lens_id)).size).toBe(2);
      for (const p of a.probes) {
        expect(runIds).toContain(p.lens_id);
        const lens = catalogue.require(p.lens_id);
        // Catalogue text, word for word: a question or a pitfall of that lens.
        expect(p.kind === "question" ? lens.questions : lens.pitfalls).toContain(p.text);
        given.add(p.text);
      }
    }
    // Not one question for every attempt: the probes vary.
    expect(given.size).toBeGreaterThan(2);
    // No recommendation, confidence, risks, chances or scores.
    for (const key of ["recommendation", "confidence", "risks", "options", "quality"])
      expect(s).not.toHaveProperty(key);
  });

  it("has no attempts part when the problem names none", async () => {
    const s = (await run(HIRING)).synthesis;
    expect(s.source === "offline" && s.attempts).toBeUndefined();
  });
});

describe("offline suggestion", () => {
  it("says honestly when nothing fits, never at 100%", async () => {
    const suggestion = await engine.suggest(
      { problem: prepareProblem("zorp blix quandle"), ranking: index.rank("zorp blix quandle") },
      { signal: new AbortController().signal },
    );
    expect(suggestion.note).toBe(NO_CLEAR_FIT);
    for (const m of suggestion.modes) expect(m.match_score).toBeLessThan(0.5);
    for (const l of suggestion.lenses) expect(l.match_score).toBeLessThan(0.5);
    expect(suggestion.lenses.length).toBeGreaterThanOrEqual(2);
  });

  it("picks lenses the text points at, with the reason", async () => {
    const result = await run(HIRING);
    expect(result.suggestion.note).not.toBe(NO_CLEAR_FIT);
    expect(result.suggestion.lenses.map((l) => l.id)).toContain("theory-of-constraints");
    const toc = result.suggestion.lenses.find((l) => l.id === "theory-of-constraints")!;
    expect(toc.reason).toMatch(/^Your (words match its signals "|text shares telling words)/);
  });
});

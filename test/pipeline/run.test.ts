import { describe, expect, it } from "vitest";
import { libraryOf } from "../../src/catalogue/graph.js";
import { loadCatalogue } from "../../src/catalogue/load.js";
import { BUNDLED_LENSES_DIR } from "../../src/config.js";
import { createOfflineEngine } from "../../src/engines/offline/engine.js";
import { CancelledError, ModelOutputError, StepTimeoutError } from "../../src/errors.js";
import { prepareProblem, truncateMiddle } from "../../src/pipeline/input.js";
import type { Engine, Sink } from "../../src/pipeline/ports.js";
import { runPipeline } from "../../src/pipeline/run.js";

const opened = libraryOf(loadCatalogue(BUNDLED_LENSES_DIR));
const { catalogue, index } = opened;
const offline = createOfflineEngine(opened);
const problem = prepareProblem(
  "Checkout failed for a third of users after a deploy; retries piled onto a slow fraud service.",
);

/** The offline engine with one step replaced, to exercise the orchestration's failure paths. */
function withAnalyze(analyze: Engine["analyze"]): Engine {
  return { ...offline, analyze };
}

describe("runPipeline with the offline engine", () => {
  it("streams suggestion, each lens, then synthesis to the sink in order", async () => {
    const events: string[] = [];
    const sink: Sink = {
      suggestion: (s) => void events.push(`suggestion:${s.lenses.length}`),
      lensStarted: (l) => void events.push(`start:${l.id}`),
      lensDone: (a) => void events.push(`done:${a.lens_id}`),
      synthesisStarted: () => void events.push("synthesis-start"),
      synthesis: (s) => void events.push(`synthesis:${s.source}`),
    };
    const result = await runPipeline({ problem, catalogue, index, engine: offline, sink });
    expect(result.engine).toBe("offline");
    expect(result.suggestion.lenses.length).toBeGreaterThanOrEqual(2);
    expect(result.suggestion.lenses.length).toBeLessThanOrEqual(4);
    expect(events[0]).toBe(`suggestion:${result.suggestion.lenses.length}`);
    expect(events.at(-2)).toBe("synthesis-start");
    expect(events.at(-1)).toBe("synthesis:offline");
    for (const l of result.suggestion.lenses) {
      expect(events.indexOf(`start:${l.id}`)).toBeLessThan(events.indexOf(`done:${l.id}`));
    }
    // Offline output carries questions of the lens itself, clearly marked as offline.
    const first = result.analyses[0];
    expect(first?.source).toBe("offline");
    if (first?.source === "offline") {
      expect(catalogue.require(first.lens_id).questions).toEqual(expect.arrayContaining(first.questions));
    }
    if (result.synthesis.source !== "offline") throw new Error("expected an offline synthesis");
    expect(result.synthesis.look_first.map((c) => c.lens_id).sort()).toEqual(
      result.analyses.map((a) => a.lens_id).sort(),
    );
  });

  it("uses the lenses the user chose", async () => {
    const result = await runPipeline({
      problem,
      catalogue,
      index,
      engine: offline,
      lensIds: ["chestertons-fence", "blast-radius"],
    });
    expect(result.suggestion.lenses.map((l) => l.id)).toEqual(["chestertons-fence", "blast-radius"]);
    expect(result.analyses.map((a) => a.lens_id)).toEqual(["chestertons-fence", "blast-radius"]);
  });

  it("keeps going when one lens fails and lists the failure", async () => {
    const engine = withAnalyze(async (req, ctx) => {
      if (req.lens.id === "blast-radius")
        throw new ModelOutputError("analyze_with_lens", ["beliefs: Required"]);
      return offline.analyze(req, ctx);
    });
    const failed: string[] = [];
    const result = await runPipeline({
      problem,
      catalogue,
      index,
      engine,
      lensIds: ["chestertons-fence", "blast-radius"],
      sink: { lensFailed: (lens) => void failed.push(lens.id) },
    });
    expect(result.analyses.map((a) => a.lens_id)).toEqual(["chestertons-fence"]);
    // The failure says what happened in words for people; the schema path stays in the error's detail.
    expect(result.failures).toEqual([
      { lens_id: "blast-radius", reason: expect.stringContaining("could not be used") },
    ]);
    expect(JSON.stringify(result.failures)).not.toContain("beliefs");
    expect(failed).toEqual(["blast-radius"]);
  });

  it("fails the run, not the lens, when saving a lens's result fails, after the other lenses are saved", async () => {
    const saved: string[] = [];
    const failed: string[] = [];
    const outage = new Error("Connection is closed.");
    const run = runPipeline({
      problem,
      catalogue,
      index,
      engine: offline,
      lensIds: ["chestertons-fence", "blast-radius", "toil"],
      sink: {
        lensDone: async (a) => {
          if (a.lens_id === "blast-radius") throw outage;
          await new Promise((r) => setImmediate(r));
          saved.push(a.lens_id);
        },
        lensFailed: (lens) => void failed.push(lens.id),
      },
    });
    await expect(run).rejects.toBe(outage);
    // Every lens in flight settled first: their checkpoints exist for the retry; none was dropped.
    expect(saved.sort()).toEqual(["chestertons-fence", "toil"]);
    expect(failed).toEqual([]);
  });

  it("stops a step at its time limit", async () => {
    const engine = withAnalyze(
      (_req, ctx) =>
        new Promise((_, reject) => ctx.signal.addEventListener("abort", () => reject(new Error("aborted")))),
    );
    await expect(
      runPipeline({ problem, catalogue, index, engine, lensIds: ["toil"], timeouts: { analyze: 50 } }),
    ).rejects.toBeInstanceOf(StepTimeoutError);
  });

  it("cancels through an AbortSignal", async () => {
    const controller = new AbortController();
    const engine = withAnalyze(async () => {
      controller.abort("user pressed stop");
      return new Promise(() => {});
    });
    await expect(
      runPipeline({ problem, catalogue, index, engine, lensIds: ["toil"], signal: controller.signal }),
    ).rejects.toBeInstanceOf(CancelledError);
  });

  it("limits concurrency", async () => {
    let running = 0;
    let peak = 0;
    const engine = withAnalyze(async (req, ctx) => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((r) => setTimeout(r, 20));
      running--;
      return offline.analyze(req, ctx);
    });
    await runPipeline({
      problem,
      catalogue,
      index,
      engine,
      concurrency: 2,
      lensIds: ["toil", "blast-radius", "chestertons-fence", "kaizen"],
    });
    expect(peak).toBe(2);
  });
});

describe("input preparation", () => {
  it("rejects empty text", () => {
    expect(() => prepareProblem("  \n ")).toThrow(/no problem text/i);
  });

  it("cuts very long text in the middle and says so", () => {
    const long = `START ${"x".repeat(40_000)} END`;
    const p = prepareProblem(long, { maxChars: 16_000 });
    expect(p.text.length).toBeLessThan(16_100);
    expect(p.text.startsWith("START")).toBe(true);
    expect(p.text.endsWith("END")).toBe(true);
    expect(p.text).toContain("characters cut");
    expect(p.notes[0]).toMatch(/40,0\d\d characters/);
  });

  it("leaves short text alone", () => {
    expect(truncateMiddle("short", 100)).toEqual({ text: "short" });
  });
});

describe("offline suggestion", () => {
  it("picks the lenses with the most evidence and says why", async () => {
    const text =
      "Our API is stuck at 350 ms after caching and indexes; nobody has traced where the time goes across the services it calls.";
    const ranking = index.rank(text);
    const suggestion = await offline.suggest(
      { problem: prepareProblem(text), ranking },
      { signal: new AbortController().signal },
    );
    const ids = suggestion.lenses.map((l) => l.id);
    expect(ids.length).toBeGreaterThanOrEqual(3);
    expect(ids.slice(0, 3)).toEqual(ranking.lenses.slice(0, 3).map((r) => r.lens.id));
    expect(ids).toContain("measure-first");
    const reason = suggestion.lenses.find((l) => l.id === "measure-first")?.reason ?? "";
    expect(reason).toContain('Your words match its signals "where the time goes"');
  });
});

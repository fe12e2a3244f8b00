import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.js";
import { OFFLINE_LABEL, OFFLINE_SYNTHESIS_NEEDS_MODEL } from "../../src/pipeline/schemas.js";
import { FakeAnthropic } from "../fakes/anthropic.js";
import { answerFor } from "../fakes/json-schema-sample.js";

const run = promisify(execFile);

/** Runs the CLI in-process with captured output and, unless `env` says otherwise, no API key. */
async function lens(args: string[], stdin = "", env: NodeJS.ProcessEnv = {}, random?: () => number) {
  let stdout = "";
  let stderr = "";
  const code = await main(args, {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s), isTTY: false },
    stdin: Object.assign(Readable.from(stdin ? [stdin] : []), { isTTY: false }),
    env,
    ...(random && { random }),
  });
  return { code, stdout, stderr };
}

const PROBLEM = "Our dashboard API is stuck at 350 ms despite caching, indexes and pooling; we need 150 ms.";

describe("lens suggest", () => {
  it("prints the JSON contract: ranked lenses and modes", async () => {
    const { code, stdout } = await lens(["suggest", "--json", PROBLEM]);
    expect(code).toBe(0);
    const out = JSON.parse(stdout) as {
      lenses: { id: string; name: string; aliases: string[]; score: number }[];
      modes: { id: string; name: string; match_score: number; lenses: string[] }[];
    };
    expect(out.lenses.length).toBeGreaterThanOrEqual(5);
    for (const l of out.lenses) expect(Object.keys(l).sort()).toEqual(["aliases", "id", "name", "score"]);
    const scores = out.lenses.map((l) => l.score);
    expect(scores).toEqual([...scores].sort((a, b) => b - a));
    expect(out.modes.length).toBeGreaterThanOrEqual(6);
    expect(Object.keys(out.modes[0] ?? {}).sort()).toEqual(["id", "lenses", "match_score", "name"]);
  });

  it("reads the problem from a file and from stdin", async () => {
    const dir = mkdtempSync(join(tmpdir(), "lens-cli-"));
    const file = join(dir, "p.txt");
    writeFileSync(file, PROBLEM);
    const fromFile = await lens(["suggest", "--json", "--file", file]);
    const fromStdin = await lens(["suggest", "--json"], PROBLEM);
    const fromArg = await lens(["suggest", "--json", PROBLEM]);
    expect(JSON.parse(fromFile.stdout).lenses).toEqual(JSON.parse(fromArg.stdout).lenses);
    expect(JSON.parse(fromStdin.stdout).lenses).toEqual(JSON.parse(fromArg.stdout).lenses);
  });
});

describe("lens analyze (claude, through the fake Messages API)", () => {
  let fake: FakeAnthropic;
  beforeAll(async () => {
    fake = await FakeAnthropic.start();
    fake.respondWith((req) => ({
      kind: "json",
      value: answerFor(req.body.output_config?.format?.schema ?? {}, "A specific answer."),
    }));
  });
  afterAll(async () => {
    await fake.close();
  });
  const env = () => ({ ANTHROPIC_API_KEY: "test-key", ANTHROPIC_BASE_URL: fake.url });

  it("prints the recommendation and confidence first, one line per attempt, the risks and the rubric; --json keeps the old keys", async () => {
    const file = "examples/dashboard-latency.txt";
    const text = await lens(["analyze", "--engine", "claude", "--file", file], "", env());
    expect(text.code).toBe(0);
    const synthesis = text.stdout.slice(text.stdout.indexOf("== Synthesis"));
    expect(synthesis.split("\n")[1]).toBe("Recommendation: A specific answer.");
    expect(synthesis.split("\n")[2]).toMatch(/^Confidence: (high|medium|low)\. A specific answer\./);
    expect(synthesis).toContain("  - added composite indexes on the events table: A specific answer.");
    expect(synthesis).toContain("Risks and mitigations:\n  RISK");
    expect(synthesis).toContain("Feasibility check:");
    expect(synthesis).toMatch(/Quality of this synthesis: 80% overall\n {2}- originality 8\/10/);

    const json = JSON.parse(
      (await lens(["analyze", "--json", "--engine", "claude", "--file", file], "", env())).stdout,
    );
    const s = json.synthesis;
    expect(s.attempts.map((a: { attempt: string }) => a.attempt)).toHaveLength(5);
    for (const key of [
      "reframe",
      "root_cause",
      "insights",
      "actions",
      "trade_offs",
      "validation",
      "constraint_check",
    ])
      expect(s).toHaveProperty(key);
    expect(typeof s.why_earlier_attempts_fell_short).toBe("string");
    for (const key of ["recommendation", "confidence", "options", "breakthrough_path", "risks", "quality"])
      expect(s).toHaveProperty(key);
    expect(json.usage.map((u: { step: string }) => u.step)).toContain("judge_synthesis");
  });
});

describe("lens analyze (offline)", () => {
  it("prints the mode, one card per lens and where to start, labelled offline", async () => {
    const { code, stdout } = await lens([
      "analyze",
      "--lenses",
      "theory of constraints,tail-latency",
      PROBLEM,
    ]);
    expect(code).toBe(0);
    expect(stdout).toContain("== Theory of Constraints [offline");
    expect(stdout).toContain("== Tail at Scale [offline");
    expect(stdout).toContain("== Where to start [offline");
    expect(stdout).toContain("== Lenses (chosen by you)");
    expect(stdout).toContain(OFFLINE_LABEL);
  });

  it("prints the whole result as JSON", async () => {
    const { code, stdout } = await lens(["analyze", "--json", "--engine", "offline", PROBLEM]);
    expect(code).toBe(0);
    const result = JSON.parse(stdout);
    expect(result.engine).toBe("offline");
    expect(result.analyses.length).toBe(result.suggestion.lenses.length);
    expect(result.synthesis.source).toBe("offline");
  });

  it("names each attempt of the bundled example with the lens questions that probe it, and what needs the model", async () => {
    const file = "examples/dashboard-latency.txt";
    const text = await lens(["analyze", "--engine", "offline", "--file", file]);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(
      "What was tried, and what the lenses would ask about it (catalogue questions",
    );
    expect(text.stdout).toContain("  * added composite indexes on the events table (about 12% better)");
    expect(text.stdout).toMatch(/\n {6}[^\n]+ (asks|warns): /);
    expect(text.stdout).toContain(OFFLINE_SYNTHESIS_NEEDS_MODEL);
    const json = JSON.parse(
      (await lens(["analyze", "--json", "--engine", "offline", "--file", file])).stdout,
    );
    expect(json.synthesis.attempts).toHaveLength(5);
    expect(json.synthesis).not.toHaveProperty("risks");
    // The keys the JSON had before stay.
    expect(Object.keys(json.synthesis)).toEqual(
      expect.arrayContaining(["source", "look_first", "missing_modes", "settle_first"]),
    );
  });

  it("gives a usage message and exit 2 for empty text", async () => {
    const { code, stderr, stdout } = await lens(["analyze", "   "]);
    expect(code).toBe(2);
    expect(stderr).toMatch(/No problem text/);
    expect(stdout).toBe("");
  });

  it("cuts 40,000+ characters with a visible note instead of failing", async () => {
    const { code, stdout } = await lens(["analyze", `${PROBLEM} ${"more detail ".repeat(4000)}`]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/Note: The problem was 48,\d{3} characters/);
  });

  it("answers an unknown lens with did-you-mean and exit 2", async () => {
    const { code, stderr } = await lens(["analyze", "--lenses", "pace layring", PROBLEM]);
    expect(code).toBe(2);
    expect(stderr).toContain('Unknown lens "pace layring". Did you mean "Pace Layering"');
  });

  it("refuses the claude engine without an API key", async () => {
    const { code, stderr } = await lens(["analyze", "--engine", "claude", PROBLEM]);
    expect(code).toBe(2);
    expect(stderr).toContain("ANTHROPIC_API_KEY");
  });
});

describe("lens show, search, modes", () => {
  it("shows a lens by alias", async () => {
    const { code, stdout } = await lens(["show", "fishbone", "diagram"]);
    expect(code).toBe(0);
    expect(stdout).toContain("Ishikawa Diagram  [ishikawa-diagram]");
    expect(stdout).toContain("Origin: ");
  });

  it("searches and lists modes", async () => {
    expect((await lens(["search", "retry", "storm"])).stdout).toContain("Cascading Failure");
    const modes = await lens(["modes", "--json"]);
    expect(JSON.parse(modes.stdout).map((m: { id: string }) => m.id)).toContain("reliability");
  });
});

describe("bad input", () => {
  it("refuses binary data and meaningless text with exit 2", async () => {
    const binary = await lens(["suggest", "--json"], "\u0000\u0001\u0002PNG\u0003\u0004garbage\u0005\u0006");
    expect(binary.code).toBe(2);
    expect(binary.stderr).toContain("binary data");
    expect(binary.stdout).toBe("");
    const mash = await lens(["analyze", "qwzx plorb vrrnt ksjdh"]);
    expect(mash.code).toBe(2);
    expect(mash.stderr).toContain("does not read as a description of a problem");
  });

  it("refuses a bad --limit, an unknown subcommand and an unknown flag with exit 2", async () => {
    for (const limit of ["abc", "0", "-3", "2.5"]) {
      const r = await lens(["suggest", "--limit", limit, PROBLEM]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain("--limit must be a whole number");
    }
    const sub = await lens(["frobnicate"]);
    expect(sub.code).toBe(2);
    expect(sub.stderr).toMatch(/unknown command/);
    const flag = await lens(["suggest", "--frob", PROBLEM]);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toMatch(/unknown option/);
  });

  it("says the model cannot be reached and points to the offline engine, without step names", async () => {
    const r = await lens(["analyze", "--engine", "claude", PROBLEM], "", {
      ANTHROPIC_API_KEY: "test",
      ANTHROPIC_BASE_URL: "http://127.0.0.1:9",
      LENSBOT_MODEL_RETRIES: "0",
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("could not be reached");
    expect(r.stderr).toContain("--engine offline");
    expect(r.stderr).not.toMatch(/suggest_thinking_mode|analyze_with_lens/);
  });
});

describe("the lens graph from the command line", () => {
  it("lists frames, contrasts, a journey and gaps, as text and JSON", async () => {
    const frames = JSON.parse((await lens(["frames", "--json"])).stdout) as {
      id: string;
      lenses: string[];
    }[];
    expect(frames.length).toBeGreaterThanOrEqual(6);
    expect(frames.find((f) => f.id === "incidents")?.lenses).toContain("swiss-cheese-model");

    const contrast = await lens(["contrast", "theory", "of", "constraints"]);
    expect(contrast.code).toBe(0);
    expect(contrast.stdout).toContain("Lenses that pull against Theory of Constraints:");

    const journey = JSON.parse((await lens(["journey", "--json", "kano model", "five whys"])).stdout);
    expect(journey.from).toBe("kano-model");
    expect(journey.to).toBe("five-whys");
    expect(journey.steps.length).toBeGreaterThan(0);
    expect(journey.steps.at(-1).to).toBe("five-whys");
    const words = await lens(["journey", "kano", "model", "to", "five", "whys"]);
    expect(words.stdout).toContain("From Kano Model to Five Whys in");

    const gaps = JSON.parse((await lens(["gaps", "--json", "--lenses", "toc,five whys"])).stdout);
    expect(gaps.lenses).toEqual(["theory-of-constraints", "five-whys"]);
    expect(gaps.missing_modes.length).toBeGreaterThan(0);
    expect(gaps.widen.length).toBeGreaterThan(0);
  });

  it("gives a random lens from the injected source, and did-you-mean for unknown names", async () => {
    const a = await lens(["random", "--json"], "", {}, () => 0);
    const b = await lens(["random", "--json"], "", {}, () => 0.9999);
    expect(JSON.parse(a.stdout).id).not.toBe(JSON.parse(b.stdout).id);
    const unknown = await lens(["contrast", "theory", "of", "constrants"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('Did you mean "Theory of Constraints"');
  });
});

describe("the installed bin", () => {
  it("runs as a real process and exits 2 on bad usage", async () => {
    const bin = join(import.meta.dirname, "../../bin/lens.js");
    const ok = await run("node", [bin, "suggest", "--json", PROBLEM], { env: { PATH: process.env.PATH } });
    expect(JSON.parse(ok.stdout).lenses.length).toBeGreaterThan(0);
    // No text and an empty stdin: a usage message and exit 2.
    const empty = run("node", [bin, "suggest"], { env: { PATH: process.env.PATH } });
    empty.child.stdin?.end();
    await expect(empty).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringContaining("No problem text"),
    });
  });
});

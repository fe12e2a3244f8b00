import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Readable } from "node:stream";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openCatalogue } from "../../src/catalogue/snapshot.js";
import { main } from "../../src/cli/main.js";
import { loadConfig } from "../../src/config.js";
import { TOOL_NAMES } from "../../src/mcp/server.js";
import { OFFLINE_LABEL } from "../../src/pipeline/schemas.js";

/**
 * `lens mcp` as an MCP client starts it: the built CLI (bin/lens.js runs dist/, which the suite's
 * pretest builds) as a child process, spoken to over stdio by the SDK's own Client.
 */

const root = join(import.meta.dirname, "../..");
const BIN = join(root, "bin/lens.js");
const EXAMPLE = join(root, "examples/dashboard-latency.txt");
const PROBLEM = readFileSync(EXAMPLE, "utf8");
const { catalogue } = openCatalogue(loadConfig({}).lensesDir);

/** The `lens` CLI in-process, with no API key: what the same question gives in a terminal. */
async function lensJson(args: string[]): Promise<Record<string, unknown>> {
  let stdout = "";
  const code = await main(args, {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: () => true, isTTY: false },
    stdin: Object.assign(Readable.from([]), { isTTY: false }),
    env: {},
  });
  expect(code).toBe(0);
  return JSON.parse(stdout);
}

interface ToolResult {
  isError?: boolean;
  content: { type: string; text?: string }[];
  structuredContent?: Record<string, unknown>;
}

let client: Client;
let transport: StdioClientTransport;
let stderr = "";
/** Everything the client could not read from the server's stdout (a stray line breaks the stream). */
const streamErrors: Error[] = [];

async function call(name: string, args: Record<string, unknown>): Promise<ToolResult> {
  return (await client.callTool({ name, arguments: args })) as ToolResult;
}

/** A successful call's structured content, checked against its JSON text twin. */
async function ok<T = Record<string, unknown>>(name: string, args: Record<string, unknown>): Promise<T> {
  const result = await call(name, args);
  expect(result.isError ?? false, result.content[0]?.text).toBe(false);
  expect(result.structuredContent).toBeDefined();
  expect(JSON.parse(result.content[0]?.text ?? "")).toEqual(result.structuredContent);
  return result.structuredContent as T;
}

/** A failed call's message: a tool error with a message for people, not a stack trace. */
async function refused(name: string, args: Record<string, unknown>): Promise<string> {
  const result = await call(name, args);
  expect(result.isError).toBe(true);
  expect(result.structuredContent).toBeUndefined();
  const text = result.content.map((c) => c.text ?? "").join("\n");
  expect(text).not.toMatch(/\n\s+at |\.[jt]s:\d+/);
  return text;
}

beforeAll(async () => {
  transport = new StdioClientTransport({
    command: process.execPath,
    args: [BIN, "mcp", "--engine", "offline"],
    env: { PATH: process.env.PATH ?? "" },
    cwd: root,
    stderr: "pipe",
  });
  transport.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  client = new Client({ name: "lensbot-test", version: "0.0.0" });
  client.onerror = (err) => streamErrors.push(err);
  await client.connect(transport);
}, 30_000);

afterAll(async () => {
  await client?.close();
});

type Suggestion = {
  engine: string;
  source: string;
  label?: string;
  modes: { id: string; name: string; match_score: number; reason: string }[];
  lenses: { id: string; name: string; match_score: number; reason: string }[];
  ranking: { lenses: { id: string; score: number }[]; modes: { id: string }[]; fit: string };
};
type OfflineAnalysis = {
  source: "offline";
  lens_id: string;
  lens_name: string;
  evidence: { quote: string }[];
  questions: string[];
  pitfalls: string[];
};

describe("lens mcp: the tools", () => {
  it("lists the nine tools, each with a described input schema and an output schema", async () => {
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual([...TOOL_NAMES].sort());
    expect(TOOL_NAMES).toHaveLength(9);
    for (const tool of tools) {
      expect(tool.description, tool.name).toBeTruthy();
      expect(tool.inputSchema.type, tool.name).toBe("object");
      expect(tool.outputSchema?.type, tool.name).toBe("object");
      const fields = Object.values(tool.inputSchema.properties ?? {}) as { description?: string }[];
      expect(fields.length, tool.name).toBeGreaterThan(0);
      for (const field of fields) expect(field.description, tool.name).toBeTruthy();
    }
    const analyze = tools.find((t) => t.name === "analyze_with_lens");
    expect(analyze?.inputSchema.required).toEqual(expect.arrayContaining(["problem", "lens"]));
    expect(Object.keys(analyze?.outputSchema?.properties ?? {})).toEqual(
      expect.arrayContaining(["engine", "analysis", "label"]),
    );
    expect(client.getServerVersion()?.name).toBe("lensbot");
  });

  it("suggest_thinking_mode ranks modes and lenses of the bundled example like lens suggest --json", async () => {
    const s = await ok<Suggestion>("suggest_thinking_mode", { problem: PROBLEM });
    expect(s.engine).toBe("offline");
    expect(s.source).toBe("offline");
    expect(s.label).toBe(OFFLINE_LABEL);
    expect(s.lenses.length).toBeGreaterThanOrEqual(2);
    expect(s.lenses.length).toBeLessThanOrEqual(4);
    for (const l of s.lenses) {
      expect(catalogue.get(l.id)?.name).toBe(l.name);
      expect(l.match_score).toBeGreaterThan(0);
      expect(l.match_score).toBeLessThanOrEqual(1);
      expect(l.reason.length).toBeGreaterThan(10);
    }
    expect(s.modes.length).toBeGreaterThanOrEqual(1);
    for (const m of s.modes) expect(catalogue.getMode(m.id)?.name).toBe(m.name);
    // The chosen lenses are the index's best for this text, and the ranking is the CLI's.
    expect(s.lenses.map((l) => l.id)).toEqual(s.ranking.lenses.slice(0, s.lenses.length).map((l) => l.id));
    expect(s.ranking.fit).toBe("clear");
    const cli = await lensJson(["suggest", "--json", "--file", EXAMPLE]);
    expect(s.ranking.lenses).toEqual((cli.lenses as unknown[]).slice(0, 10));
    expect(s.ranking.modes).toEqual(cli.modes);
  });

  it("analyze_with_lens gives one lens's offline analysis: the lens, quotes from the text, its framing questions", async () => {
    const a = await ok<{ engine: string; label: string; analysis: OfflineAnalysis }>("analyze_with_lens", {
      problem: PROBLEM,
      lens: "Theory of Constraints",
    });
    expect(a.engine).toBe("offline");
    expect(a.label).toBe(OFFLINE_LABEL);
    expect(a.analysis.source).toBe("offline");
    expect(a.analysis.lens_id).toBe("theory-of-constraints");
    expect(a.analysis.lens_name).toBe("Theory of Constraints");
    const lens = catalogue.require("theory-of-constraints");
    expect(a.analysis.questions.length).toBeGreaterThan(0);
    for (const q of a.analysis.questions) expect(lens.questions).toContain(q);
    for (const p of a.analysis.pitfalls) expect(lens.pitfalls).toContain(p);
    for (const e of a.analysis.evidence) expect(PROBLEM.replace(/\s+/g, " ")).toContain(e.quote);
    // The same analysis as `lens analyze` gives for this lens, and an alias finds the same lens.
    const cli = await lensJson(["analyze", "--json", "--lenses", "theory-of-constraints", "--file", EXAMPLE]);
    expect(a.analysis).toEqual((cli.analyses as unknown[])[0]);
    const byAlias = await ok<{ analysis: OfflineAnalysis }>("analyze_with_lens", {
      problem: PROBLEM,
      lens: "toc",
    });
    expect(byAlias.analysis).toEqual(a.analysis);
  });

  it("synthesize_solution combines the analyses that analyze_with_lens returned", async () => {
    const names = ["theory-of-constraints", "Tail at Scale"];
    const analyses = await Promise.all(
      names.map(
        async (lens) =>
          (await ok<{ analysis: OfflineAnalysis }>("analyze_with_lens", { problem: PROBLEM, lens })).analysis,
      ),
    );
    const s = await ok<{
      engine: string;
      label: string;
      lenses: string[];
      synthesis: { source: string; look_first: { lens_id: string }[]; settle_first: string };
    }>("synthesize_solution", { problem: PROBLEM, analyses });
    expect(s.engine).toBe("offline");
    expect(s.label).toBe(OFFLINE_LABEL);
    expect(s.lenses).toEqual(["theory-of-constraints", "tail-latency"]);
    expect(s.synthesis.source).toBe("offline");
    expect(s.synthesis.look_first.map((l) => l.lens_id).sort()).toEqual([
      "tail-latency",
      "theory-of-constraints",
    ]);
    expect(s.synthesis.settle_first.length).toBeGreaterThan(10);
    // The synthesis `lens analyze` prints for the same lenses.
    const cli = await lensJson(["analyze", "--json", "--lenses", names.join(","), "--file", EXAMPLE]);
    expect(s.synthesis).toEqual(cli.synthesis);
  });

  it("get_lens, search_lenses and the graph tools answer from the catalogue", async () => {
    const lens = await ok<{ id: string; name: string; questions: string[] }>("get_lens", { lens: "toc" });
    expect(lens).toEqual(catalogue.require("theory-of-constraints"));

    const search = await ok<{ results: { id: string; summary: string }[] }>("search_lenses", {
      query: "bottleneck",
      limit: 5,
    });
    expect(search.results.length).toBeGreaterThan(0);
    expect(search.results.length).toBeLessThanOrEqual(5);
    expect(search.results.map((r) => r.id)).toContain("theory-of-constraints");

    const journey = await ok<{
      from: string;
      to: string;
      found: boolean;
      steps: { from: string; to: string }[];
    }>("lens_journey", { from: "kano model", to: "five whys" });
    expect(journey).toMatchObject({ from: "kano-model", to: "five-whys", found: true });
    expect(journey.steps[0]?.from).toBe("kano-model");
    expect(journey.steps.at(-1)?.to).toBe("five-whys");
    for (const [i, step] of journey.steps.slice(1).entries()) expect(step.from).toBe(journey.steps[i]?.to);
    expect(journey).toEqual(await lensJson(["journey", "--json", "kano model", "five whys"]));

    const contrasts = await ok<{ lens: { id: string }; contrasts: { id: string; tension: string }[] }>(
      "find_contrasts",
      { lens: "Theory of Constraints" },
    );
    expect(contrasts.lens.id).toBe("theory-of-constraints");
    expect(contrasts.contrasts.length).toBeGreaterThan(0);
    for (const c of contrasts.contrasts) expect(catalogue.has(c.id)).toBe(true);

    const random = await ok<{ id: string; name: string }>("random_lens", { used: ["toc"] });
    expect(catalogue.get(random.id)?.name).toBe(random.name);

    const gaps = await ok<{ lenses: string[]; missing_modes: unknown[]; widen: { id: string }[] }>(
      "detect_gaps",
      {
        lenses: ["toc", "five whys"],
      },
    );
    expect(gaps.lenses).toEqual(["theory-of-constraints", "five-whys"]);
    expect(gaps.widen.length).toBeGreaterThan(0);
    expect(gaps).toEqual(await lensJson(["gaps", "--json", "--lenses", "toc,five whys"]));
  });
});

describe("lens mcp: bad input is a tool error with a helpful message", () => {
  it("names the closest lenses for an unknown lens", async () => {
    const text = await refused("analyze_with_lens", { problem: PROBLEM, lens: "theory of constrants" });
    expect(text).toContain('Unknown lens "theory of constrants"');
    expect(text).toContain('Did you mean "Theory of Constraints"');
    expect(await refused("get_lens", { lens: "no such lens at all" })).toContain("Unknown lens");
    expect(await refused("lens_journey", { from: "toc", to: "five whyz" })).toContain("Five Whys");
  });

  it("refuses an empty, a blank and a 40,000-character problem", async () => {
    expect(await refused("suggest_thinking_mode", { problem: "" })).toContain("The problem is empty");
    expect(await refused("analyze_with_lens", { problem: "  \n ", lens: "toc" })).toContain(
      "The problem is empty",
    );
    const long = await refused("suggest_thinking_mode", { problem: "Our queue backs up. ".repeat(2000) });
    expect(long).toContain("longer than 16,000 characters");
    expect(long).not.toContain("Our queue backs up");
  });

  it("checks the analyses given to synthesize_solution", async () => {
    const { analysis } = await ok<{ analysis: OfflineAnalysis }>("analyze_with_lens", {
      problem: PROBLEM,
      lens: "toc",
    });
    const { questions: _, ...withoutQuestions } = analysis;
    expect(
      await refused("synthesize_solution", { problem: PROBLEM, analyses: [withoutQuestions] }),
    ).toContain("questions");
    expect(await refused("synthesize_solution", { problem: PROBLEM, analyses: [] })).toContain(
      "at least one analysis",
    );
    const invented = { ...analysis, lens_id: "made-up-lens" };
    expect(await refused("synthesize_solution", { problem: PROBLEM, analyses: [invented] })).toContain(
      'Unknown lens "made-up-lens"',
    );
  });
});

describe("lens mcp: stdout carries the protocol only", () => {
  it("kept the client's stream clean for the whole session, and logged to stderr", () => {
    expect(streamErrors).toEqual([]);
    expect(stderr).toContain("serving the lens tools on stdio");
  });

  it("writes only JSON-RPC lines over a raw session and exits when the client closes stdin", async () => {
    const child = spawn(process.execPath, [BIN, "mcp", "--engine", "offline"], {
      cwd: root,
      env: { PATH: process.env.PATH ?? "" },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (c: Buffer) => (out += c.toString()));
    child.stderr.on("data", (c: Buffer) => (err += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    const send = (message: object) =>
      child.stdin.write(`${JSON.stringify({ jsonrpc: "2.0", ...message })}\n`);
    send({
      id: 1,
      method: "initialize",
      params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "raw", version: "0" } },
    });
    send({ method: "notifications/initialized" });
    send({ id: 2, method: "tools/list" });
    send({
      id: 3,
      method: "tools/call",
      params: { name: "suggest_thinking_mode", arguments: { problem: PROBLEM } },
    });
    send({
      id: 4,
      method: "tools/call",
      params: { name: "analyze_with_lens", arguments: { problem: PROBLEM, lens: "toc" } },
    });
    send({ id: 5, method: "tools/call", params: { name: "get_lens", arguments: { lens: "nope" } } });
    // Close stdin once every answer is in: the server must then stop by itself.
    const deadline = Date.now() + 15_000;
    while (out.split("\n").filter(Boolean).length < 5 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    child.stdin.end();
    expect(await exited).toBe(0);
    const lines = out.split("\n").filter(Boolean);
    const messages = lines.map(
      (line) => JSON.parse(line) as { jsonrpc: string; id: number; result?: object },
    );
    expect(messages.map((m) => m.jsonrpc)).toEqual(lines.map(() => "2.0"));
    expect(messages.map((m) => m.id).sort()).toEqual([1, 2, 3, 4, 5]);
    expect(out.endsWith("\n")).toBe(true);
    expect(err).toContain("serving the lens tools on stdio");
    expect(err).not.toContain("Warning");
  }, 30_000);
});

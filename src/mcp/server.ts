import { randomUUID } from "node:crypto";
import type { Readable, Writable } from "node:stream";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import type { CallToolResult, ToolAnnotations } from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";
import type { Library } from "../catalogue/graph.js";
import { type Lens, LensSchema } from "../catalogue/schema.js";
import {
  ContrastsView,
  contrastsView,
  GapsView,
  gapsView,
  JourneyView,
  journeyView,
  LensBriefView,
  lensBriefView,
  RankingView,
  rankingView,
  SearchHitView,
  searchView,
} from "../catalogue/views.js";
import { asLensbotError, ErrorCode, LensbotError, ModelUnavailableError } from "../errors.js";
import type { LogSink } from "../logger.js";
import { prepareProblem } from "../pipeline/input.js";
import type { Engine } from "../pipeline/ports.js";
import { rankProblem, runPipeline, type StepTimeouts, step } from "../pipeline/run.js";
import {
  type CallUsage,
  isFullSynthesis,
  OFFLINE_LABEL,
  type Problem,
  totalUsage,
} from "../pipeline/schemas.js";
import { LensAnalysisSchema, ModeSuggestionSchema, SynthesisSchema } from "./schemas.js";

/** What the MCP server is built from; nothing is read from the environment here. */
export interface LensMcpOptions {
  /** The opened catalogue with its search index and lens graph. */
  library: Library;
  /** The engine behind suggest_thinking_mode, analyze_with_lens and synthesize_solution. */
  engine: Engine;
  /** Longest problem (and context) a tool accepts, in characters; longer input is a tool error. */
  maxProblemChars: number;
  /** Time limit per engine step, in ms. */
  timeouts: StepTimeouts;
  /** Source of numbers in [0, 1) for random_lens. */
  random: () => number;
  /** Where tool calls and failures are logged (never stdout: stdio is the protocol). */
  log: LogSink;
  /** lensbot's version, announced to clients. */
  version: string;
}

/** The names of the tools, in the order they are listed. */
export const TOOL_NAMES = [
  "suggest_thinking_mode",
  "analyze_with_lens",
  "synthesize_solution",
  "get_lens",
  "search_lenses",
  "find_contrasts",
  "lens_journey",
  "random_lens",
  "detect_gaps",
] as const;

/** How many lenses a tool that takes a list accepts. */
const MAX_LENSES = 12;

const lensField = z
  .string()
  .trim()
  .min(1, "Name a lens: its name, an alias or its id.")
  .max(120)
  .describe('a lens by name, alias or id, e.g. "Theory of Constraints", "toc" or "theory-of-constraints"');

/**
 * The lensbot MCP server: the lens pipeline's three steps (suggest_thinking_mode,
 * analyze_with_lens, synthesize_solution), catalogue look-up and search (get_lens,
 * search_lenses) and the lens graph (find_contrasts, lens_journey, random_lens, detect_gaps) as
 * MCP tools, each with a zod input schema and a structured output schema. Every tool calls the
 * same functions as the `lens` CLI and the Slack app. Bad input (empty or over-long text, an
 * unknown lens) and engine failures come back as tool errors (`isError: true`) with a message
 * for people; nothing is thrown to the client.
 */
export function createLensMcpServer(options: LensMcpOptions): McpServer {
  const { library, engine, timeouts, log } = options;
  const { catalogue, index, graph } = library;
  const limit = options.maxProblemChars.toLocaleString("en-US");
  const offline = engine.name === "offline";
  /** Fields every engine result carries: which engine, and the offline label when it is offline. */
  const engineFields = () => ({ engine: engine.name, ...(offline && { label: OFFLINE_LABEL }) });
  const EngineFields = {
    engine: z.enum(["claude", "offline"]).describe("the engine that produced the result"),
    label: z
      .string()
      .optional()
      .describe("present for the offline engine: says the result is not model-written"),
    notes: z.array(z.string()).describe("notes about the input, e.g. what was cut"),
  };

  const problemField = z
    .string()
    .min(1, "The problem is empty: describe what happens, what you tried and what you need.")
    .max(
      options.maxProblemChars,
      `The problem is longer than ${limit} characters: give the problem statement and the key facts, not whole logs or documents.`,
    )
    .describe(
      `the problem the team is stuck on, in plain words: what happens, what was tried, what it costs (at most ${limit} characters)`,
    );
  const contextField = z
    .string()
    .max(
      options.maxProblemChars,
      `The context is longer than ${limit} characters: keep the parts that matter.`,
    )
    .optional()
    .describe(`optional background, such as an incident thread transcript (at most ${limit} characters)`);

  const problemOf = (args: { problem: string; context?: string | undefined }): Problem =>
    prepareProblem(args.problem, {
      maxChars: options.maxProblemChars,
      ...(args.context?.trim() && { context: args.context.trim() }),
    });
  /** The lens a name, alias or id stands for. @throws UnknownLensError with the closest names. */
  const lensOf = (name: string): Lens => catalogue.resolveAll([name])[0] as Lens;

  const server = new McpServer(
    { name: "lensbot", version: options.version },
    {
      instructions:
        "Named thinking lenses (Theory of Constraints, Swiss Cheese Model, Conway's Law and 320 more) for a problem a team is stuck on. Usual order: suggest_thinking_mode, then analyze_with_lens for each suggested lens, then synthesize_solution with the analyses. get_lens, search_lenses and the graph tools explore the catalogue.",
    },
  );

  /**
   * Registers one tool: its input fields, its output schema, and a function from validated input
   * to the structured result. The result is returned both as structured content and as JSON text;
   * anything thrown becomes a tool error.
   */
  function tool<I extends z.ZodRawShape, O extends z.ZodObject>(
    name: (typeof TOOL_NAMES)[number],
    meta: { title: string; description: string; annotations: ToolAnnotations },
    input: I,
    output: O,
    run: (args: z.output<z.ZodObject<I>>, signal: AbortSignal) => Promise<z.output<O>> | z.output<O>,
  ): void {
    // Widened to a plain object schema: the SDK's callback type cannot be resolved for a generic shape.
    const inputSchema: z.ZodObject = z.object(input);
    server.registerTool(
      name,
      { ...meta, inputSchema, outputSchema: output },
      async (args: unknown, extra): Promise<CallToolResult> => {
        const started = performance.now();
        try {
          const result = (await run(args as z.output<z.ZodObject<I>>, extra.signal)) as Record<
            string,
            unknown
          >;
          log.info({ tool: name, ms: Math.round(performance.now() - started) }, "mcp tool call");
          return {
            content: [{ type: "text", text: JSON.stringify(result, null, 2) }],
            structuredContent: result,
          };
        } catch (err) {
          return toolError(name, err);
        }
      },
    );
  }

  function toolError(name: string, err: unknown): CallToolResult {
    const coded = asLensbotError(err);
    let text = coded.message;
    if (coded.code === ErrorCode.EmptyInput) {
      text = "The problem is empty: describe what happens, what you tried and what you need.";
    } else if (coded instanceof ModelUnavailableError) {
      text = `${coded.message} Try again later, or start the server with --engine offline.`;
    } else if (coded.code === ErrorCode.Internal) {
      const ref = randomUUID().slice(0, 8);
      text = `${coded.message} (reference ${ref})`;
      log.error({ tool: name, ref, detail: coded.detail }, "mcp tool failed");
      return { isError: true, content: [{ type: "text", text }] };
    }
    log.warn({ tool: name, code: coded.code, detail: coded.detail }, "mcp tool refused");
    return { isError: true, content: [{ type: "text", text }] };
  }

  /** Logs the token usage of an engine tool's model calls (none offline). */
  function logUsage(name: string, usage: readonly CallUsage[]): void {
    if (usage.length > 0) log.info({ tool: name, usage: totalUsage(usage) }, "mcp tool model usage");
  }

  const readOnly: ToolAnnotations = { readOnlyHint: true, openWorldHint: false };
  const lookUp: ToolAnnotations = { ...readOnly, idempotentHint: true };

  tool(
    "suggest_thinking_mode",
    {
      title: "Suggest thinking modes and lenses",
      description:
        "Step 1 of the lens pipeline. Ranks the catalogue's thinking modes and lenses against a problem and picks 1-3 modes and 2-4 lenses, each with a 0-1 match score and a reason. `ranking` is the catalogue index's full ranking (as `lens suggest --json` prints it); `fit` says how clearly the text points at any lens.",
      annotations: readOnly,
    },
    {
      problem: problemField,
      context: contextField,
      limit: z
        .number()
        .int()
        .min(1)
        .max(50)
        .optional()
        .describe("how many ranked lenses to list in `ranking` (default 10)"),
    },
    ModeSuggestionSchema.extend({ ...EngineFields, ranking: RankingView }),
    async (args, signal) => {
      const problem = problemOf(args);
      const ranking = rankProblem(index, problem);
      const usage: CallUsage[] = [];
      const suggestion = await step(
        "suggest_thinking_mode",
        timeouts.suggest,
        signal,
        (u) => usage.push(u),
        (ctx) => engine.suggest({ problem, ranking }, ctx),
      );
      logUsage("suggest_thinking_mode", usage);
      return {
        ...engineFields(),
        ...suggestion,
        ranking: rankingView(ranking, args.limit ?? 10),
        notes: problem.notes,
      };
    },
  );

  tool(
    "analyze_with_lens",
    {
      title: "Analyse a problem through one lens",
      description:
        "Step 2 of the lens pipeline, once per lens. With the claude engine: belief statements (belief, confidence 0-1, reasoning, evidence, lateral connections, implications) and judged quality scores. With the offline engine: the sentences of the problem that point at the lens, its framing questions that fit best, its pitfalls and the contrasting lens, labelled as not model-written.",
      annotations: readOnly,
    },
    {
      problem: problemField,
      lens: lensField,
      context: contextField,
      run_lenses: z
        .array(lensField)
        .max(MAX_LENSES)
        .optional()
        .describe(
          "every lens you are analysing this problem with, in the same order on each call (lets the claude engine reuse its cached prompt prefix)",
        ),
    },
    z.object({ ...EngineFields, analysis: LensAnalysisSchema }),
    async (args, signal) => {
      const lens = lensOf(args.lens);
      const problem = problemOf(args);
      const listed = catalogue.resolveAll(args.run_lenses ?? []);
      const runLenses = listed.includes(lens) ? listed : [...listed, lens];
      const usage: CallUsage[] = [];
      const analysis = await step(
        `analyze_with_lens (${lens.name})`,
        timeouts.analyze,
        signal,
        (u) => usage.push(u),
        (ctx) => engine.analyze({ problem, lens, runLenses }, ctx),
      );
      logUsage("analyze_with_lens", usage);
      return { ...engineFields(), analysis, notes: problem.notes };
    },
  );

  tool(
    "synthesize_solution",
    {
      title: "Combine lens analyses into a plan",
      description:
        "Step 3 of the lens pipeline. Takes the problem and the `analysis` objects that analyze_with_lens returned (one per lens) and combines them. With the claude engine: the recommendation and the confidence in it, why each earlier attempt the problem names fell short, the options with their chance of reaching the target, a breakthrough path beside a feasibility check of every stated constraint, risks with mitigations, reframe, root cause, insights per lens, actions, trade-offs, validation, and the judge's rubric scores. Offline: the order to look at the lenses, the modes left out, the lens that would widen the view, the question to settle first, and the lens questions that probe each earlier attempt.",
      annotations: readOnly,
    },
    {
      problem: problemField,
      context: contextField,
      analyses: z
        .array(LensAnalysisSchema)
        .min(1, "Pass at least one analysis from analyze_with_lens.")
        .max(MAX_LENSES)
        .describe("the `analysis` objects returned by analyze_with_lens for this problem, one per lens"),
    },
    z.object({
      ...EngineFields,
      lenses: z.array(z.string()).describe("the lens ids the synthesis covers"),
      synthesis: SynthesisSchema,
    }),
    async (args, signal) => {
      const problem = problemOf(args);
      // One analysis per lens: the first given wins.
      const analyses = args.analyses.filter(
        (a, i) => args.analyses.findIndex((b) => b.lens_id === a.lens_id) === i,
      );
      // The same run as `lens analyze` with every analysis already saved: only the synthesis runs.
      const result = await runPipeline({
        problem,
        catalogue,
        index,
        engine,
        signal,
        timeouts,
        lensIds: analyses.map((a) => a.lens_id),
        saved: { analyses },
      });
      logUsage("synthesize_solution", result.usage);
      const synthesis = result.synthesis;
      if (!isFullSynthesis(synthesis) && synthesis.source !== "offline") {
        throw new LensbotError(ErrorCode.Internal, "Something went wrong inside lensbot.", {
          detail: "the engine returned a synthesis without a recommendation",
        });
      }
      return {
        ...engineFields(),
        lenses: result.analyses.map((a) => a.lens_id),
        synthesis,
        notes: problem.notes,
      };
    },
  );

  tool(
    "get_lens",
    {
      title: "Get one lens",
      description:
        "One lens in full: summary, definition, origin, examples, questions, signals, pitfalls, related and contrasting lenses, thinking modes and frames. An unknown name comes back as an error naming the closest lenses.",
      annotations: lookUp,
    },
    { lens: lensField },
    LensSchema,
    (args) => lensOf(args.lens),
  );

  tool(
    "search_lenses",
    {
      title: "Search the lens catalogue",
      description:
        "Lenses whose name, aliases, signals, summary or questions match some words (prefix and typo tolerant), best first.",
      annotations: lookUp,
    },
    {
      query: z
        .string()
        .trim()
        .min(1, "Give some words to search for.")
        .max(500)
        .describe("words to look for"),
      limit: z.number().int().min(1).max(50).optional().describe("how many lenses to return (default 10)"),
    },
    z.object({ query: z.string(), results: z.array(SearchHitView) }),
    (args) => ({ query: args.query, results: searchView(index.search(args.query, args.limit ?? 10)) }),
  );

  tool(
    "find_contrasts",
    {
      title: "Find contrasting lenses",
      description: "The lenses that pull against a lens, each with the tension between the two in one line.",
      annotations: lookUp,
    },
    { lens: lensField },
    ContrastsView,
    (args) => {
      const lens = lensOf(args.lens);
      return contrastsView(lens, graph.contrasts(lens.id));
    },
  );

  tool(
    "lens_journey",
    {
      title: "Journey between two lenses",
      description:
        "The shortest chain of related and contrasting links from one lens to another, each step labelled (a contrast with its tension).",
      annotations: lookUp,
    },
    {
      from: lensField.describe("the lens to start from (name, alias or id)"),
      to: lensField.describe("the lens to reach (name, alias or id)"),
    },
    JourneyView,
    (args) => {
      const from = lensOf(args.from);
      const to = lensOf(args.to);
      return journeyView(from, to, graph.journey(from.id, to.id));
    },
  );

  tool(
    "random_lens",
    {
      title: "A random lens as a provocation",
      description:
        "One lens at random, to ask how it would see the problem. Lenses named in `used` are five times less likely.",
      annotations: readOnly,
    },
    {
      used: z
        .array(lensField)
        .max(50)
        .optional()
        .describe("lenses already applied (names, aliases or ids): the pick leans away from them"),
    },
    LensBriefView,
    (args) => {
      const used = new Set(catalogue.resolveAll(args.used ?? []).map((l) => l.id));
      return lensBriefView(graph.random(options.random, used));
    },
  );

  tool(
    "detect_gaps",
    {
      title: "Detect gaps in an analysis",
      description:
        "What an analysis with these lenses leaves out: the thinking modes and frames none of them covers, and the linked lenses that would widen the view most.",
      annotations: lookUp,
    },
    {
      lenses: z
        .array(lensField)
        .min(1, "Name at least one lens the analysis used.")
        .max(MAX_LENSES)
        .describe("the lenses the analysis used (names, aliases or ids)"),
    },
    GapsView,
    (args) => {
      const used = catalogue.resolveAll(args.lenses);
      return gapsView(used, graph.gaps(used.map((l) => l.id)));
    },
  );

  return server;
}

/**
 * Serves `server` on a stdio transport over `stdin` and `stdout` until the client closes its end
 * of stdin (or the transport fails); then closes the server and resolves. Writes nothing to
 * `stdout` but protocol messages.
 */
export async function serveStdio(server: McpServer, stdin: Readable, stdout: Writable): Promise<void> {
  const transport = new StdioServerTransport(stdin, stdout);
  const closed = new Promise<void>((resolve) => {
    transport.onclose = resolve;
  });
  const end = () => void server.close();
  stdin.once("end", end);
  stdin.once("close", end);
  await server.connect(transport);
  await closed;
  stdin.off("end", end);
  stdin.off("close", end);
}

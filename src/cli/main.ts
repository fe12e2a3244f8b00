import { readFile } from "node:fs/promises";
import { Readable, Writable } from "node:stream";
import { Command, CommanderError, Option } from "commander";
import type { DestinationStream } from "pino";
import type { LensGraph } from "../catalogue/graph.js";
import type { Ranking } from "../catalogue/search.js";
import { type OpenCatalogue, openCatalogue } from "../catalogue/snapshot.js";
import { functionWordCount } from "../catalogue/text.js";
import {
  contrastsView,
  gapsView,
  journeyView,
  lensBriefView,
  rankingView,
  searchView,
} from "../catalogue/views.js";
import { type Config, loadConfig } from "../config.js";
import type { EngineName } from "../engines/index.js";
import { ErrorCode, LensbotError, ModelUnavailableError, UnknownLensError } from "../errors.js";
import { prepareProblem } from "../pipeline/input.js";
import type { Sink } from "../pipeline/ports.js";
import { totalUsage } from "../pipeline/schemas.js";
import {
  renderAnalysis,
  renderContrasts,
  renderDigest,
  renderFrames,
  renderGaps,
  renderJourney,
  renderLens,
  renderModes,
  renderSuggestion,
  renderSynthesis,
} from "./render.js";

/** Where the CLI reads and writes; injectable so tests run it in-process. */
export interface CliIO {
  stdout: { write(chunk: string): unknown };
  stderr: { write(chunk: string): unknown; isTTY?: boolean };
  stdin: AsyncIterable<string | Buffer> & { isTTY?: boolean };
  /** Environment variables; default: the process's own (read in config.ts). */
  env?: NodeJS.ProcessEnv;
  /** Source of random numbers in [0, 1) for `lens random`; default Math.random. */
  random?: () => number;
}

function defaultIO(): CliIO {
  // `lens suggest | head` closes the pipe early: stop quietly instead of crashing on EPIPE.
  process.stdout.on("error", (err: NodeJS.ErrnoException) => {
    if (err.code === "EPIPE") process.exit(0);
    throw err;
  });
  return { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin };
}

/** Bad usage: printed with a hint, exit code 2. */
class UsageError extends Error {}

const USAGE_HINT =
  'Give the problem as an argument, with --file PATH, or on stdin. Example: lens analyze "Our API is stuck at 350 ms despite caching"';

/** A positive whole number of lenses to list, from an option's text. */
function parseLimit(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    throw new UsageError(`--limit must be a whole number of at least 1, not "${value}".`);
  return n;
}

/**
 * Text with no evidence for any lens and hardly a common English word ("the", "is", "because")
 * is not a problem description: keyboard mashing, an identifier, a hash.
 */
function checkReadable(text: string, ranking: Ranking): void {
  if (ranking.fit === "none" && functionWordCount(text) < 3) {
    throw new UsageError(
      "That does not read as a description of a problem: no lens matches it and it has almost no ordinary words. Describe what happens, what you tried and what you need.",
    );
  }
}

/** "a to b" or two separate arguments, as two lens names. */
function twoLenses(words: string[]): [string, string] {
  const at = words.findIndex((w) => w.toLowerCase() === "to");
  if (at > 0 && at < words.length - 1) return [words.slice(0, at).join(" "), words.slice(at + 1).join(" ")];
  if (words.length === 2) return [words[0] as string, words[1] as string];
  throw new UsageError(
    'Give two lenses: lens journey "pace layering" "five whys" (or: lens journey pace layering to five whys)',
  );
}

async function readProblemText(words: string[], file: string | undefined, io: CliIO): Promise<string> {
  if (file) {
    try {
      return await readFile(file, "utf8");
    } catch (err) {
      throw new UsageError(`Cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
  }
  if (words.length > 0) return words.join(" ");
  if (io.stdin.isTTY) return "";
  let text = "";
  for await (const chunk of io.stdin) text += chunk.toString();
  return text;
}

/**
 * The `lens` command: suggest, analyze, show, search, modes, frames, random, contrast, journey,
 * gaps, digest, feedback, and mcp (the same tools served to an MCP client over stdio until it
 * closes stdin). Returns the process exit code: 0 done, 1 failure, 2 bad usage (empty, binary or
 * meaningless text, unknown lens, bad option or subcommand).
 */
export async function main(argv: string[], io: CliIO = defaultIO()): Promise<number> {
  let config: Config;
  let opened: OpenCatalogue | undefined;
  try {
    config = loadConfig(io.env);
  } catch (err) {
    io.stderr.write(`lens: ${(err as Error).message}\n`);
    return 1;
  }
  // Loaded on first use, from the build's snapshot when it matches the lens files.
  const open = () => {
    opened ??= openCatalogue(config.lensesDir);
    return opened;
  };
  const getCatalogue = () => open().catalogue;
  const getIndex = () => open().index;
  // The graph library loads only for the commands that walk the graph.
  let graph: LensGraph | undefined;
  const getGraph = async () => {
    const { LensGraph } = await import("../catalogue/graph.js");
    graph ??= new LensGraph(getCatalogue());
    return graph;
  };
  const json = (value: unknown) => out(JSON.stringify(value));
  const out = (s: string) => io.stdout.write(s.endsWith("\n") ? s : `${s}\n`);
  const progress = (s: string) => {
    if (io.stderr.isTTY) io.stderr.write(`${s}\n`);
  };

  const problemFrom = async (words: string[], opts: { file?: string }) => {
    const raw = await readProblemText(words, opts.file, io);
    if (!raw.trim()) throw new UsageError(`No problem text. ${USAGE_HINT}`);
    return prepareProblem(raw, { maxChars: config.maxProblemChars });
  };
  const engineOption = () =>
    new Option(
      "--engine <name>",
      "offline or claude (default: claude when ANTHROPIC_API_KEY is set)",
    ).choices(["offline", "claude"]);

  const program = new Command("lens")
    .description("Apply named thinking lenses to a problem your team is stuck on.")
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) })
    .showHelpAfterError();

  program
    .command("suggest")
    .description("Rank the thinking modes and lenses that fit a problem.")
    .argument("[text...]", "the problem (or use --file, or stdin)")
    .option("--file <path>", "read the problem from a file")
    .option("--json", "print one JSON object: {lenses, modes}")
    .option("--limit <n>", "how many lenses to list", "10")
    .action(async (words: string[], opts: { file?: string; json?: boolean; limit: string }) => {
      const limit = parseLimit(opts.limit);
      const problem = await problemFrom(words, opts);
      const ranking = getIndex().rank(problem.text);
      checkReadable(problem.text, ranking);
      if (opts.json) {
        json({ ...rankingView(ranking, Math.max(limit, 20)), notes: problem.notes });
        return;
      }
      for (const note of problem.notes) out(`Note: ${note}`);
      if (ranking.fit !== "clear") {
        out(
          ranking.fit === "none"
            ? "No lens fits this clearly; the best matches below are weak. Add what happens, what you tried and what it costs."
            : "Nothing fits strongly; these lenses match a few of your words.",
        );
      }
      out("Thinking modes:");
      for (const m of ranking.modes.slice(0, 3)) {
        out(`  ${m.mode.emoji} ${m.mode.name} (${Math.round(m.match_score * 100)}%): ${m.lenses.join(", ")}`);
      }
      out("Lenses:");
      for (const r of ranking.lenses.slice(0, limit)) {
        out(`  ${r.score.toFixed(2)}  ${r.lens.name}: ${r.lens.summary}`);
      }
    });

  program
    .command("analyze")
    .alias("analyse")
    .description("Run the full pipeline: mode suggestion, one analysis per lens, synthesis.")
    .argument("[text...]", "the problem (or use --file, or stdin)")
    .option("--file <path>", "read the problem from a file")
    .option("--json", "print the whole result as one JSON object")
    .option("--lenses <ids>", "comma-separated lens names or ids to apply instead of suggested ones")
    .addOption(engineOption())
    .action(
      async (
        words: string[],
        opts: { file?: string; json?: boolean; lenses?: string; engine?: EngineName },
      ) => {
        const catalogue = getCatalogue();
        const lensIds = opts.lenses
          ? catalogue
              .resolveAll(
                opts.lenses
                  .split(",")
                  .map((s) => s.trim())
                  .filter(Boolean),
              )
              .map((l) => l.id)
          : undefined;
        const problem = await problemFrom(words, opts);
        if (!lensIds) checkReadable(problem.text, getIndex().rank(problem.text));
        // Loaded here so `suggest`, `show` and `search` start fast without the SDK.
        const { createEngine, defaultEngineName } = await import("../engines/index.js");
        const { runPipeline } = await import("../pipeline/run.js");
        const engine = await createEngine(opts.engine ?? defaultEngineName(config), config, open());
        const name = (id: string) => catalogue.get(id)?.name ?? id;
        if (!opts.json) for (const note of problem.notes) out(`Note: ${note}\n`);
        const sink: Sink = {
          suggestion: (s) => {
            progress(
              `lens: ${engine.name} engine, ${s.lenses.length} lenses: ${s.lenses.map((l) => l.name).join(", ")}`,
            );
            if (!opts.json) out(`${renderSuggestion(s)}\n`);
          },
          lensStarted: (lens) => progress(`lens: analysing ${lens.name} …`),
          lensDone: (a) => {
            progress(`lens: ${a.lens_name} ✓`);
            if (!opts.json) out(`${renderAnalysis(a)}\n`);
          },
          lensFailed: (lens, err) => {
            progress(`lens: ${lens.name} ✗`);
            if (!opts.json) out(`== ${lens.name}: analysis failed (${err.message})\n`);
          },
          synthesisStarted: () => progress("lens: synthesising …"),
          synthesis: (s) => {
            if (!opts.json) out(renderSynthesis(s, name));
          },
        };
        const result = await runPipeline({
          problem,
          catalogue,
          index: getIndex(),
          engine,
          sink,
          concurrency: config.concurrency,
          ...(lensIds && { lensIds }),
        });
        if (opts.json) out(JSON.stringify(result, null, 2));
        else if (result.usage.length > 0) {
          const t = totalUsage(result.usage);
          progress(
            `lens: ${t.calls} model calls; tokens in ${t.input_tokens}, cache read ${t.cache_read_input_tokens}, cache write ${t.cache_creation_input_tokens}, out ${t.output_tokens}`,
          );
        }
      },
    );

  program
    .command("show")
    .description("Show one lens in full.")
    .argument("<lens...>", "lens name, alias or id")
    .option("--json", "print the lens as JSON")
    .action((words: string[], opts: { json?: boolean }) => {
      const [lens] = getCatalogue().resolveAll([words.join(" ")]);
      if (lens) out(opts.json ? JSON.stringify(lens, null, 2) : renderLens(lens));
    });

  program
    .command("search")
    .description("Search the lens catalogue by words.")
    .argument("<query...>", "words to look for")
    .option("--json", "print results as JSON")
    .action((words: string[], opts: { json?: boolean }) => {
      const hits = getIndex().search(words.join(" "));
      if (opts.json) {
        json(searchView(hits));
      } else if (hits.length === 0) {
        out(`No lens matches "${words.join(" ")}". Try "lens modes" to browse.`);
      } else {
        for (const h of hits) out(`${h.lens.name} [${h.lens.id}]: ${h.lens.summary}`);
      }
    });

  program
    .command("modes")
    .description("List the thinking modes and their core lenses.")
    .option("--json", "print modes as JSON")
    .action((opts: { json?: boolean }) => {
      const modes = getCatalogue().modes;
      out(opts.json ? JSON.stringify(modes, null, 2) : renderModes(modes));
    });

  program
    .command("frames")
    .description("List the thematic frames and their lenses.")
    .option("--json", "print frames as JSON")
    .action((opts: { json?: boolean }) => {
      const catalogue = getCatalogue();
      if (!opts.json) return void out(renderFrames(catalogue));
      json(
        catalogue.frames.map((f) => ({
          ...f,
          lenses: catalogue.lenses.filter((l) => l.frames.includes(f.id)).map((l) => l.id),
        })),
      );
    });

  program
    .command("random")
    .description("A random lens, as a provocation: how would it see your problem?")
    .option("--json", "print the lens as JSON")
    .action(async (opts: { json?: boolean }) => {
      const lens = (await getGraph()).random(io.random ?? Math.random);
      if (opts.json) json(lensBriefView(lens));
      else
        out(
          `${lens.name}: ${lens.summary}\nAsk: ${lens.questions[0] ?? ""}\n(lens show ${lens.id} for more)`,
        );
    });

  program
    .command("contrast")
    .description("The lenses that pull against a lens, and the tension with each.")
    .argument("<lens...>", "lens name, alias or id")
    .option("--json", "print as JSON")
    .action(async (words: string[], opts: { json?: boolean }) => {
      const [lens] = getCatalogue().resolveAll([words.join(" ")]);
      if (!lens) return;
      const contrasts = (await getGraph()).contrasts(lens.id);
      if (!opts.json) return void out(renderContrasts(lens, contrasts));
      json(contrastsView(lens, contrasts));
    });

  program
    .command("journey")
    .description("The shortest path of related and contrasting lenses from one lens to another.")
    .argument("<lenses...>", 'two lenses: "a" "b", or a to b')
    .option("--json", "print as JSON")
    .action(async (words: string[], opts: { json?: boolean }) => {
      const [from, to] = getCatalogue().resolveAll(twoLenses(words));
      if (!from || !to) throw new UsageError("Give two different lenses.");
      const steps = (await getGraph()).journey(from.id, to.id);
      if (!opts.json) return void out(renderJourney(from, to, steps));
      json(journeyView(from, to, steps));
    });

  program
    .command("gaps")
    .description("What an analysis with these lenses leaves out, and which lens would widen it most.")
    .requiredOption("--lenses <names>", "comma-separated lens names or ids the analysis used")
    .option("--json", "print as JSON")
    .action(async (opts: { lenses: string; json?: boolean }) => {
      const used = getCatalogue().resolveAll(
        opts.lenses
          .split(",")
          .map((s) => s.trim())
          .filter(Boolean),
      );
      if (used.length === 0) throw new UsageError("Name at least one lens with --lenses.");
      const gaps = (await getGraph()).gaps(used.map((l) => l.id));
      if (!opts.json) return void out(renderGaps(used, gaps));
      json(gapsView(used, gaps));
    });

  program
    .command("mcp")
    .description(
      "Serve the lens tools to an MCP client (Claude Desktop, Claude Code) over stdio: the pipeline's three steps, lens look-up and search, and the lens graph.",
    )
    .addOption(engineOption())
    .action(async (opts: { engine?: EngineName }) => {
      // stdout carries the protocol from here on: logs and messages go to stderr only.
      if (!(io.stdin instanceof Readable) || !(io.stdout instanceof Writable)) {
        throw new UsageError("lens mcp talks over the process's stdin and stdout.");
      }
      const { createEngine, defaultEngineName } = await import("../engines/index.js");
      const { withGraph } = await import("../catalogue/graph.js");
      const { createLensMcpServer, serveStdio } = await import("../mcp/server.js");
      const { createLogger } = await import("../logger.js");
      const log = createLogger(config.logLevel, io.stderr as DestinationStream);
      const engine = await createEngine(opts.engine ?? defaultEngineName(config), config, open());
      const library = withGraph(open());
      const pkg = JSON.parse(await readFile(new URL("../../package.json", import.meta.url), "utf8"));
      const server = createLensMcpServer({
        library,
        engine,
        maxProblemChars: config.maxProblemChars,
        timeouts: config.timeouts,
        random: io.random ?? Math.random,
        log,
        version: String(pkg.version),
      });
      log.info(
        { engine: engine.name, lenses: library.catalogue.lenses.length },
        "lens mcp: serving the lens tools on stdio",
      );
      await serveStdio(server, io.stdin, io.stdout);
    });

  program
    .command("digest")
    .description(
      "A retro digest of the analyses lensbot ran: what recurred, actions that came back, questions for the retro. Reads the records in REDIS_URL.",
    )
    .option("--since <duration>", "how far back: 24h, 7d, 2w", "7d")
    .option(
      "--channel <id>",
      "one channel (with its digest's sources when it has one); default: every channel",
    )
    .option("--team <id>", "the Slack workspace id, when records of several are kept")
    .option("--json", "print the digest as one JSON object")
    .addOption(engineOption())
    .action(
      async (opts: {
        since: string;
        channel?: string;
        team?: string;
        json?: boolean;
        engine?: EngineName;
      }) => {
        // Loaded here: Redis and the SDKs are for this command only.
        const { digestFromRedis, parseSince } = await import("./digest.js");
        const sinceMs = parseSince(opts.since);
        const { createEngine, defaultEngineName } = await import("../engines/index.js");
        const { withGraph } = await import("../catalogue/graph.js");
        const engine = await createEngine(opts.engine ?? defaultEngineName(config), config, open());
        const digest = await digestFromRedis({
          config,
          library: withGraph(open()),
          engine,
          sinceMs,
          ...(opts.channel && { channel: opts.channel }),
          ...(opts.team && { team: opts.team }),
        });
        out(opts.json ? JSON.stringify(digest, null, 2) : renderDigest(digest));
      },
    );

  program
    .command("feedback")
    .description(
      "The 👍/👎 people gave lens cards and syntheses in Slack, per lens. Reads the records in REDIS_URL.",
    )
    .option("--since <duration>", "how far back: 24h, 7d, 30d", "30d")
    .option("--team <id>", "the Slack workspace id, when records of several are kept")
    .option("--json", "print [{id, name, up, down}] as JSON")
    .action(async (opts: { since: string; team?: string; json?: boolean }) => {
      const { feedbackFromRedis, parseSince } = await import("./digest.js");
      const { withGraph } = await import("../catalogue/graph.js");
      const tallies = await feedbackFromRedis({
        config,
        library: withGraph(open()),
        sinceMs: parseSince(opts.since),
        ...(opts.team && { team: opts.team }),
      });
      if (opts.json) return void json(tallies);
      if (tallies.length === 0) return void out(`No feedback in the last ${opts.since}.`);
      for (const t of tallies)
        out(`${t.name.padEnd(36)} 👍 ${String(t.up).padStart(3)}   👎 ${String(t.down).padStart(3)}`);
    });

  try {
    await program.parseAsync(argv, { from: "user" });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version are "errors" to commander but a success to the user.
      return err.exitCode === 0 ? 0 : 2;
    }
    if (err instanceof UsageError || err instanceof UnknownLensError) {
      io.stderr.write(`lens: ${err.message}\n`);
      return 2;
    }
    if (err instanceof ModelUnavailableError) {
      io.stderr.write(
        `lens: ${err.message} Try again later, or run it without the model: --engine offline\n`,
      );
      return 1;
    }
    if (err instanceof LensbotError) {
      io.stderr.write(`lens: ${err.message}\n`);
      const usage: string[] = [ErrorCode.ConfigInvalid, ErrorCode.EmptyInput, ErrorCode.UnreadableInput];
      return usage.includes(err.code) ? 2 : 1;
    }
    io.stderr.write(`lens: unexpected error: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}

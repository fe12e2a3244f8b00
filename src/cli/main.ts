import { readFile } from "node:fs/promises";
import { Command, CommanderError, Option } from "commander";
import type { Catalogue } from "../catalogue/catalogue.js";
import type { CatalogueIndex } from "../catalogue/search.js";
import { openCatalogue } from "../catalogue/snapshot.js";
import { type Config, loadConfig } from "../config.js";
import type { EngineName } from "../engines/index.js";
import { ErrorCode, LensbotError, UnknownLensError } from "../errors.js";
import { prepareProblem } from "../pipeline/input.js";
import type { Sink } from "../pipeline/ports.js";
import { renderAnalysis, renderLens, renderModes, renderSuggestion, renderSynthesis } from "./render.js";

/** Where the CLI reads and writes; injectable so tests run it in-process. */
export interface CliIO {
  stdout: { write(chunk: string): unknown };
  stderr: { write(chunk: string): unknown; isTTY?: boolean };
  stdin: AsyncIterable<string | Buffer> & { isTTY?: boolean };
  /** Environment variables; default: the process's own (read in config.ts). */
  env?: NodeJS.ProcessEnv;
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
 * The `lens` command: suggest, analyze, show, search, modes. Returns the process exit code:
 * 0 done, 1 failure, 2 bad usage (empty text, unknown lens, bad option).
 */
export async function main(argv: string[], io: CliIO = defaultIO()): Promise<number> {
  let config: Config;
  let opened: { catalogue: Catalogue; index: CatalogueIndex } | undefined;
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
      const problem = await problemFrom(words, opts);
      const ranking = getIndex().rank(problem.text);
      const limit = Math.max(1, Number.parseInt(opts.limit, 10) || 10);
      if (opts.json) {
        out(
          JSON.stringify({
            lenses: ranking.lenses.slice(0, Math.max(limit, 20)).map((r) => ({
              id: r.lens.id,
              name: r.lens.name,
              aliases: r.lens.aliases,
              score: Math.round(r.score * 1000) / 1000,
            })),
            modes: ranking.modes.map((m) => ({
              id: m.mode.id,
              name: m.mode.name,
              match_score: m.match_score,
              lenses: m.lenses,
            })),
            notes: problem.notes,
          }),
        );
        return;
      }
      for (const note of problem.notes) out(`Note: ${note}`);
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
        // Loaded here so `suggest`, `show` and `search` start fast without the SDK.
        const { createEngine, defaultEngineName } = await import("../engines/index.js");
        const { runPipeline } = await import("../pipeline/run.js");
        const engine = createEngine(opts.engine ?? defaultEngineName(config), config, catalogue);
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
        out(JSON.stringify(hits.map((h) => ({ id: h.lens.id, name: h.lens.name, score: h.score }))));
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
    if (err instanceof LensbotError) {
      io.stderr.write(`lens: ${err.message}\n`);
      return err.code === ErrorCode.ConfigInvalid || err.code === ErrorCode.EmptyInput ? 2 : 1;
    }
    io.stderr.write(`lens: unexpected error: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}

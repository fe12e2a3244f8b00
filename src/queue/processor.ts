import type { WebClient } from "@slack/web-api";
import { type Job, UnrecoverableError } from "bullmq";
import type { Catalogue } from "../catalogue/catalogue.js";
import type { CatalogueIndex } from "../catalogue/search.js";
import { ErrorCode, LensbotError } from "../errors.js";
import { prepareProblem } from "../pipeline/input.js";
import type { Engine } from "../pipeline/ports.js";
import { runPipeline } from "../pipeline/run.js";
import { type Problem, totalUsage } from "../pipeline/schemas.js";
import { ThreadPublisher } from "../slack/publisher.js";
import { buildTranscript, readThread, type UserNames } from "../slack/thread.js";
import type { AnalysisRecord, RecordStore } from "../store/records.js";
import { type AnalysisJob, AnalysisJobSchema } from "./jobs.js";

/** What the processor needs; built once per worker process. */
export interface ProcessorDeps {
  client: WebClient;
  store: RecordStore;
  catalogue: Catalogue;
  index: CatalogueIndex;
  engine: Engine;
  names: UserNames;
  /** The bot's own bot_id, so its earlier cards are summarised in transcripts. */
  ownBotId?: string;
  maxProblemChars: number;
  threadTokens: number;
  concurrency: number;
  logger: { info(o: object, msg?: string): void; error(o: object, msg?: string): void };
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

const THREAD_QUESTION = "What is going wrong in this thread, and what should the team do next?";

/** Error codes that will fail the same way on every attempt: no BullMQ retry. */
const FINAL_CODES: ReadonlySet<string> = new Set([
  ErrorCode.ModelOutputInvalid,
  ErrorCode.ModelUnavailable, // the SDK already retried 429/5xx with backoff
  ErrorCode.EmptyInput,
  ErrorCode.UnknownLens,
  ErrorCode.ConfigInvalid,
]);

/** A message for people: the coded message when we have one, never raw error text. */
function userMessage(err: unknown): string {
  if (err instanceof LensbotError && err.code !== ErrorCode.Internal) return err.message;
  return "Something went wrong while analysing this thread.";
}

async function buildProblem(deps: ProcessorDeps, job: AnalysisJob): Promise<Problem> {
  if (!job.readThread) return prepareProblem(job.question, { maxChars: deps.maxProblemChars });
  const messages = await readThread(deps.client, job.channel, job.threadTs);
  const userIds = [
    ...new Set(
      messages.flatMap((m) => [m.user, ...[...m.text.matchAll(/<@([UW][A-Z0-9]+)/g)].map((x) => x[1])]),
    ),
  ];
  const names = new Map<string, string>();
  for (const id of userIds) if (id) names.set(id, await deps.names.name(id));
  const transcript = buildTranscript(messages, names, {
    budgetTokens: deps.threadTokens,
    ...(deps.ownBotId && { ownBotId: deps.ownBotId }),
  });
  const question = job.question.trim() || THREAD_QUESTION;
  return prepareProblem(question, {
    maxChars: deps.maxProblemChars,
    context: transcript.text,
    notes: transcript.notes,
  });
}

/**
 * Builds the BullMQ processor for analysis jobs: validate the payload, read the thread if asked,
 * run the lens pipeline with a ThreadPublisher as sink, and keep the record in Redis.
 *
 * Errors that cannot succeed on retry become `UnrecoverableError`. On the last attempt the thread
 * gets an error card with a reference id and a Retry button; the detail goes only to the log.
 */
export function createProcessor(deps: ProcessorDeps) {
  const now = deps.now ?? Date.now;
  return async (job: Job): Promise<{ runId: string; lenses: string[] }> => {
    const parsed = AnalysisJobSchema.safeParse(job.data);
    if (!parsed.success) {
      deps.logger.error({ jobId: job.id, issues: parsed.error.issues }, "invalid analysis job payload");
      throw new UnrecoverableError("invalid job payload");
    }
    const payload = parsed.data;
    const target = { runId: payload.runId, channel: payload.channel, threadTs: payload.threadTs };
    const publisher = new ThreadPublisher(
      {
        client: deps.client,
        store: deps.store,
        catalogue: deps.catalogue,
        ...(deps.sleep && { sleep: deps.sleep }),
      },
      target,
    );
    const initial = (): AnalysisRecord => ({
      ...target,
      requester: payload.userId,
      job: payload,
      analyses: [],
      status: "queued",
      createdAt: payload.requestedAt,
      updatedAt: now(),
    });

    try {
      const earlier = await deps.store.getRun(payload.runId);
      const extending = payload.trigger === "apply_lens" && earlier?.suggestion !== undefined;
      if (!extending) publisher.progress(() => ({ phase: "suggesting", lenses: [] }));
      const problem = extending && earlier?.problem ? earlier.problem : await buildProblem(deps, payload);
      await deps.store.updateRun(payload.runId, initial, (r) => {
        r.status = "running";
        r.problem = problem;
      });

      const result = await runPipeline({
        problem,
        catalogue: deps.catalogue,
        index: deps.index,
        engine: deps.engine,
        sink: publisher.sink(problem.notes),
        concurrency: deps.concurrency,
        ...(payload.lensIds && { lensIds: payload.lensIds }),
        ...(extending && earlier && { previous: earlier.analyses, previousSuggestion: earlier.suggestion }),
      });

      await publisher.drain();
      await deps.store.updateRun(payload.runId, initial, (r) => {
        r.status = "done";
        r.suggestion = result.suggestion;
        r.analyses = result.analyses;
        r.synthesis = result.synthesis;
      });
      await publisher.clearError();
      deps.logger.info(
        {
          runId: payload.runId,
          jobId: job.id,
          elapsedMs: result.elapsed_ms,
          tokens: totalUsage(result.usage),
        },
        "analysis done",
      );
      return { runId: payload.runId, lenses: result.analyses.map((a) => a.lens_id) };
    } catch (err) {
      await publisher.drain().catch(() => {}); // no stale posts may race a retry or the error card
      const final =
        err instanceof UnrecoverableError ||
        (err instanceof LensbotError && FINAL_CODES.has(err.code)) ||
        job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      deps.logger.error(
        { err, runId: payload.runId, jobId: job.id, attempt: job.attemptsMade + 1, final },
        "analysis failed",
      );
      if (final) {
        try {
          await publisher.error(payload.runId, userMessage(err));
          await publisher.failed("See the message below.");
          await deps.store.updateRun(payload.runId, initial, (r) => {
            r.status = "failed";
          });
        } catch (postErr) {
          deps.logger.error({ err: postErr, runId: payload.runId }, "could not post the failure message");
        }
        if (!(err instanceof UnrecoverableError)) throw new UnrecoverableError(userMessage(err));
      }
      throw err;
    }
  };
}

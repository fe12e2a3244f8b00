/** The digest builder, the offline retro and the digest's Block Kit: pure functions, no Redis. */
import { describe, expect, it } from "vitest";
import { buildDigest, retroRequest } from "../../src/digest/build.js";
import { offlineRetro } from "../../src/engines/offline/engine.js";
import type { AnalysisJob } from "../../src/queue/jobs.js";
import { digestMessages } from "../../src/slack/blocks/digest.js";
import { checkBlockKitLimits } from "../../src/slack/blocks/limits.js";
import type { AnalysisRecord } from "../../src/store/records.js";
import { catalogue, opened } from "../support/harness.js";

const START = Date.parse("2026-11-23T09:00:00Z");
const END = START + 7 * 86_400_000;

let n = 0;
/** A finished run record as the store returns it; `reframe` undefined makes it an offline run. */
function record(
  lenses: string[],
  opts: { reframe?: string; actions?: string[]; question?: string; context?: string } = {},
): AnalysisRecord {
  n++;
  const job: AnalysisJob = {
    runId: `r${n}`,
    trigger: "app_mention",
    channel: "C1",
    threadTs: `1700000000.${String(n).padStart(6, "0")}`,
    userId: "U1",
    question: opts.question ?? "Checkout fails. We retried.",
    readThread: Boolean(opts.context),
    requestedAt: START + n * 1000,
  };
  return {
    runId: job.runId,
    team: "T1",
    channel: "C1",
    threadTs: job.threadTs,
    requester: "U1",
    job,
    problem: { text: job.question, notes: [], ...(opts.context && { context: opts.context }) },
    suggestion: {
      source: "offline",
      modes: [{ id: "systems", name: "Systems thinking", emoji: "🔄", match_score: 0.5, reason: "x" }],
      lenses: lenses.map((id) => ({ id, name: catalogue.require(id).name, match_score: 0.5, reason: "x" })),
    },
    analyses: [],
    ...(opts.reframe !== undefined && {
      synthesis: {
        source: "model" as const,
        reframe: opts.reframe,
        root_cause: { statement: "x", lens_id: lenses[0] as string },
        insights: [{ lens_id: lenses[0] as string, insight: "x" }],
        actions: { immediate: opts.actions ?? [], short_term: [], long_term: [] },
        trade_offs: [],
        validation: [],
        why_earlier_attempts_fell_short: "x",
        constraint_check: [],
      },
    }),
    status: "done",
    createdAt: job.requestedAt,
    updatedAt: job.requestedAt,
  };
}

const build = (current: AnalysisRecord[]) =>
  buildDigest(
    {
      team: "T1",
      channel: "C9",
      sources: ["C1"],
      period: { start: START, end: END },
      tz: "UTC",
      current,
      previous: [],
      earlier: [],
    },
    opened,
  );

describe("offline retro", () => {
  it("names recurring lenses with their catalogue summary and asks their catalogue questions, citing the analyses", () => {
    const digest = build([
      record(["five-whys", "theory-of-constraints"]),
      record(["theory-of-constraints"]),
      record(["swiss-cheese-model"]),
    ]);
    const retro = offlineRetro(retroRequest(digest), catalogue);
    const toc = catalogue.require("theory-of-constraints");
    expect(retro.patterns).toEqual([
      { text: `Theory of Constraints (2 of 3): ${toc.summary}`, analyses: ["A1", "A2"] },
    ]);
    expect(retro.questions.length).toBeGreaterThanOrEqual(3);
    expect(retro.questions.length).toBeLessThanOrEqual(5);
    expect(retro.questions[0]).toEqual({ text: toc.questions[0], analyses: ["A1", "A2"] });
    const catalogueQuestions = new Set(
      ["five-whys", "theory-of-constraints", "swiss-cheese-model"].flatMap(
        (id) => catalogue.require(id).questions,
      ),
    );
    for (const q of retro.questions) expect(catalogueQuestions.has(q.text)).toBe(true);
  });

  it("says plainly when no lens came back, instead of calling one use a pattern", () => {
    const retro = offlineRetro(
      retroRequest(build([record(["five-whys"]), record(["swiss-cheese-model"])])),
      catalogue,
    );
    expect(retro.patterns).toEqual([
      {
        text: "No lens came back: each analysis of this period was seen through lenses of its own.",
        analyses: ["A1", "A2"],
      },
    ]);
  });
});

describe("digest content", () => {
  it("heads an offline thread run with the thread's opening message, not the bare question", () => {
    const digest = build([
      record(["five-whys"], {
        question: "why?",
        context: "Alice: Checkout is failing for a third of users. Declaring SEV-2.\nBob: pods look fine",
      }),
    ]);
    expect(digest.analyses[0]?.headline).toBe("Checkout is failing for a third of users.");
  });

  it("never lets text from a problem or the model ping the channel or smuggle a link", () => {
    const digest = build([
      record(["five-whys"], { reframe: "Tell <!channel> and @here to read https://evil.example/x now" }),
    ]);
    digest.analyses[0]!.permalink = "https://evil.example/archives/C1/p1";
    const { main } = digestMessages(digest, "digest-x");
    const text = JSON.stringify(main);
    expect(text).not.toContain("<!channel>");
    expect(text).not.toMatch(/(?<![\w\u200d])@here/);
    expect(text).not.toContain("https://evil.example");
    // A permalink that is not Slack's is not linked.
    expect(text).toContain("• A1 ");
  });

  it("an empty period is a short note without buttons; a late digest says so", () => {
    const empty = buildDigest(
      {
        team: "T1",
        channel: "C9",
        sources: ["C1", "C2"],
        period: { start: START, end: END },
        tz: "Europe/Paris",
        late: true,
        current: [],
        previous: [],
        earlier: [],
      },
      opened,
    );
    const { main, more } = digestMessages(empty, "digest-y");
    expect(more).toEqual([]);
    const text = JSON.stringify(main);
    expect(text).toContain("No analyses from <#C1>, <#C2> in this period");
    expect(text).toContain("Posted late");
    expect(text).toContain("Mon 23 Nov, 10:00 to Mon 30 Nov, 10:00 (Europe/Paris)");
    expect(text).not.toContain("digest_feedback_up");
    expect(checkBlockKitLimits(main)).toEqual([]);
  });
});

/**
 * Run records as finished analyses leave them, written through the real RecordStore (so digests
 * read exactly what the pipeline writes): a job, a suggestion, one analysis per lens and a model
 * synthesis, status done.
 */
import type { RecordStore } from "../../src/store/records.js";
import type { FakeSlack } from "../fakes/slack.js";
import { catalogue } from "./harness.js";

export interface SeededRun {
  runId: string;
  channel: string;
  threadTs: string;
  createdAt: number;
}

let seq = 0;

/** Writes one finished run created at `at` (ms) in `channel`, with the given lenses and actions. */
export async function seedRun(
  store: RecordStore,
  run: {
    team?: string;
    channel: string;
    at: number;
    lenses: string[];
    reframe: string;
    actions?: string[];
    threadTs?: string;
    status?: "done" | "failed";
    /** Who asked (default U0ASKER). */
    user?: string;
  },
): Promise<SeededRun> {
  const n = ++seq;
  const runId = `seed-${n}-${run.at}`;
  const threadTs = run.threadTs ?? `${Math.floor(run.at / 1000)}.${String(n).padStart(6, "0")}`;
  await store.createRun({
    runId,
    trigger: "slash_command",
    teamId: run.team ?? "T0TEST",
    channel: run.channel,
    threadTs,
    userId: run.user ?? "U0ASKER",
    question: `${run.reframe} (the problem as typed)`,
    readThread: false,
    requestedAt: run.at,
  });
  const lenses = run.lenses.map((id) => catalogue.require(id));
  await store.saveSuggestion(runId, {
    source: "model",
    modes: [
      { id: lenses[0]?.modes[0] ?? "systems", name: "mode", emoji: "🧭", match_score: 0.8, reason: "fits" },
    ],
    lenses: lenses.map((l) => ({ id: l.id, name: l.name, match_score: 0.7, reason: "fits" })),
  });
  for (const l of lenses) {
    await store.saveAnalysis(runId, {
      source: "model",
      lens_id: l.id,
      lens_name: l.name,
      beliefs: [
        {
          belief: `${l.name} applies`,
          confidence: 0.7,
          reasoning: "because",
          evidence: [],
          lateral_connections: [],
          implications: ["so"],
        },
      ],
      quality: { specificity: 0.8, novelty: 0.7, actionability: 0.8, coherence: 0.9, overall: 0.8 },
      refined: false,
    });
  }
  await store.saveSynthesis(
    runId,
    {
      source: "model",
      reframe: run.reframe,
      root_cause: { statement: "a cause", lens_id: lenses[0]?.id ?? "" },
      insights: lenses.map((l) => ({ lens_id: l.id, insight: "an insight" })),
      actions: { immediate: run.actions ?? [], short_term: [], long_term: [] },
      trade_offs: [],
      validation: [],
      why_earlier_attempts_fell_short: "they treated symptoms",
      constraint_check: [],
    },
    lenses.map((l) => l.id),
  );
  await store.setStatus(runId, run.status ?? "done");
  return { runId, channel: run.channel, threadTs, createdAt: run.at };
}

/** Lenses a busy period's analyses rotate through (three per analysis). */
const BUSY_LENSES = [
  "theory-of-constraints",
  "five-whys",
  "swiss-cheese-model",
  "goodharts-law",
  "feedback-loops",
  "second-order-thinking",
  "circuit-breaker",
  "blast-radius",
];

/**
 * Seeds `count` finished analyses spread evenly over [from, to) in `channel`, each with a thread
 * in the fake Slack (so permalinks resolve), three rotating lenses, and two actions: one shared by
 * every analysis and one of `wordy` length (long text tests Slack's limits).
 */
export async function seedBusyPeriod(
  store: RecordStore,
  slack: FakeSlack,
  channel: string,
  { from, to, count = 60, wordy = false }: { from: number; to: number; count?: number; wordy?: boolean },
): Promise<SeededRun[]> {
  const runs: SeededRun[] = [];
  for (let i = 0; i < count; i++) {
    const story =
      "the checkout service times out under load while retries pile up behind one slow dependency ";
    runs.push(
      await seedRun(store, {
        channel,
        at: from + Math.floor(((to - from) * i) / count),
        lenses: [0, 1, 3].map((k) => BUSY_LENSES[(i + k) % BUSY_LENSES.length] as string),
        reframe: `Problem ${i}: ${wordy ? story.repeat(6) : story}`.trim(),
        actions: [
          "Add a circuit breaker to the payment client",
          wordy
            ? `Write runbook ${i} ${"with every step ".repeat(20)}`
            : `Cap retries per request with jitter (${i % 4})`,
        ],
        threadTs: slack.seedThread(channel, [{ user: "U0ASKER", text: `problem ${i}` }]).thread_ts,
      }),
    );
  }
  return runs;
}

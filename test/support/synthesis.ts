/**
 * A full model synthesis of a 4-lens run on the bundled dashboard problem, as the Claude engine
 * returns it: every part, five attempts, three risks (one of them hostile text), the rubric.
 */
import { modelSynthesis as fromOutput, type ModelSynthesis } from "../../src/pipeline/schemas.js";

/** Model text that tries mentions, a broadcast and links: it must come out defused. */
export const HOSTILE_RISK =
  "<!channel> <@U123> <https://evil.example|click> @here see https://phish.example/login";

/** A full synthesis of a 4-lens run, as the Claude engine returns it (every part, five attempts). */
export function fullSynthesis(): ModelSynthesis {
  const lenses = ["measure-before-optimising", "tail-at-scale", "observability", "mechanical-sympathy"];
  const attempts = [
    "put a Redis cache in front of the aggregate queries",
    "rewrote the two slowest SQL queries",
    "added composite indexes on the events table",
    "micro-optimised the serialisation code",
    "tuned the connection pool size",
  ];
  return fromOutput(
    {
      recommendation: {
        summary:
          "Trace one request end to end before any more tuning: the endpoint waits on four services and nobody knows which one holds the 350 ms.",
        rationale: [
          "Five local optimisations bought 30% together.",
          "The fan-out makes the slowest call the floor.",
        ],
      },
      confidence: {
        level: "medium",
        justification: "The fan-out explains the plateau; which service dominates is not yet measured.",
        near_certain: ["Local tuning has hit diminishing returns"],
        uncertain: [{ point: "Which of the four services is slowest", why: "There is no trace" }],
      },
      reframe: "This is a waiting problem, not a computing problem.",
      root_cause: { statement: "The endpoint waits on its slowest dependency.", lens_id: "tail-at-scale" },
      insights: lenses.map((id) => ({ lens_id: id, insight: `What ${id} shows about the dashboard.` })),
      attempts: attempts.map((attempt, i) => ({
        attempt,
        fell_short_because: `Attempt ${i} tuned the endpoint's own work, which is not where it waits.`,
        lens_id: lenses[i % 4]!,
      })),
      options: [
        {
          option: "Parallelise the four calls",
          chance_of_target: 0.55,
          reasoning: "Removes the sum of waits.",
        },
        { option: "More caching", chance_of_target: 0.05, reasoning: "Already tried: 5%." },
      ],
      actions: {
        immediate: ["Add a trace to GET /v2/dashboard"],
        short_term: ["Call the four services in parallel"],
        long_term: ["Give each service a latency budget"],
      },
      breakthrough_path: {
        steps: [
          { step: "Trace 1% of requests", duration: "2 days", outcome: "Where the 350 ms goes" },
          { step: "Parallelise the fan-out", duration: "1 week", outcome: "p50 near the slowest call" },
        ],
        expected_outcome: "p50 under 150 ms if no single service takes more than 120 ms.",
      },
      risks: [
        {
          risk: "A slow service still sets the floor",
          impact: "high",
          mitigation: "Budget per service, with a timeout",
        },
        {
          risk: "Parallel calls raise peak load",
          impact: "medium",
          mitigation: "Bound concurrency per request",
        },
        { risk: HOSTILE_RISK, impact: "low", mitigation: "Nothing to click" },
      ],
      trade_offs: ["Tracing costs some overhead."],
      validation: ["p50 under 150 ms for a week."],
      constraint_check: [
        { constraint: "No new infrastructure budget", status: "respected", note: "Code changes only." },
        { constraint: "Response format cannot change", status: "respected", note: "Same payload." },
        {
          constraint: "Under 150 ms before the release",
          status: "at_risk",
          note: "Depends on the slowest service.",
        },
      ],
    },
    {
      rubric: {
        originality: { score: 8, reasoning: "A waiting problem, not more tuning." },
        lens_relevance: { score: 9, reasoning: "Each lens is applied by name." },
        explanation: { score: 8, reasoning: "One reason per attempt." },
        actionability: { score: 7, reasoning: "Steps have durations and measures." },
        novelty: { score: 6, reasoning: "The fan-out floor is known to some." },
      },
      overall: 0.76,
      refined: false,
    },
  );
}

export const fullName = (id: string) =>
  ({
    "measure-before-optimising": "Measure Before Optimising",
    "tail-at-scale": "Tail at Scale",
    observability: "Observability",
    "mechanical-sympathy": "Mechanical Sympathy",
  })[id] ?? id;

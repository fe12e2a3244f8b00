/** Attempts named in a problem: verbs of trying, what was tried, and the effect when given. */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { attemptsIn, detectAttempts, MAX_ATTEMPTS } from "../../src/pipeline/attempts.js";

const labels = (text: string) => detectAttempts(text).map((a) => a.label);
const pairs = (text: string) => detectAttempts(text).map((a) => [a.label, a.effect]);

describe("detectAttempts", () => {
  it("finds the five attempts of the bundled dashboard problem, each with its measured effect", () => {
    const text = readFileSync(new URL("../../examples/dashboard-latency.txt", import.meta.url), "utf8");
    expect(pairs(text)).toEqual([
      ["put a Redis cache in front of the aggregate queries", "shaved off roughly 5%"],
      ["rewrote the two slowest SQL queries", "about 8% better"],
      ["added composite indexes on the events table", "about 12% better"],
      ["micro-optimised the serialisation code", "about 3%"],
      ["tuned the connection pool size", "about 2%"],
    ]);
    // Each keeps the line it came from.
    expect(detectAttempts(text)[2]?.quote).toBe(
      "- added composite indexes on the events table: about 12% better",
    );
  });

  it("splits a list after 'tried', keeping each item's parenthesised effect", () => {
    expect(
      pairs(
        "We tried caching (5%), query tuning (8%), indexes (12%), code (3%) and pooling (2%), but p50 is still 350 ms.",
      ),
    ).toEqual([
      ["caching", "5%"],
      ["query tuning", "8%"],
      ["indexes", "12%"],
      ["code", "3%"],
      ["pooling", "2%"],
    ]);
  });

  it("reads 'we added X and Y' as two attempts, but not a second verb that is no attempt", () => {
    expect(
      labels(
        "Deploys fail about once a week. We added a second reviewer and a Friday deploy freeze, but incidents keep happening.",
      ),
    ).toEqual(["added a second reviewer", "added a Friday deploy freeze"]);
    expect(labels("We added more developers last quarter and shipped fewer features.")).toEqual([
      "added more developers last quarter",
    ]);
    expect(labels("We've already bumped the pool size. Nothing changed.")).toEqual(["bumped the pool size"]);
  });

  it("reads incident-thread phrasing: speaker labels, a gerund at the start, effects after a comma or dash", () => {
    const thread = [
      "Bob Okafor: bumped the pool size to 50, no change",
      "Alice Moreno: Rolling back fraud-score now.",
      "chen: I restarted the pods - didn't help",
    ].join("\n");
    expect(pairs(thread)).toEqual([
      ["bumped the pool size to 50", "no change"],
      ["rolling back fraud-score", undefined],
      ["restarted the pods", "didn't help"],
    ]);
  });

  it("takes bullets under a line that introduces what was tried, even without a verb", () => {
    expect(
      pairs("Things we tried:\n- Redis cache: 5%\n- bigger instances (no change)\n\nThe team is tired."),
    ).toEqual([
      ["Redis cache", "5%"],
      ["bigger instances", "no change"],
    ]);
    // The same bullets under another heading are not attempts.
    expect(labels("Our stack:\n- Redis cache\n- bigger instances")).toEqual([]);
  });

  it("finds none where the text names none", () => {
    expect(labels("Checkout is failing for about a third of users since 14:05. Declaring SEV-2.")).toEqual(
      [],
    );
    expect(
      labels(
        "Hiring has stalled. Five senior engineers do all the interviews. Offers now take six weeks and we lost three good people to faster companies.",
      ),
    ).toEqual([]);
    expect(labels("")).toEqual([]);
  });

  it("keeps each attempt once, and at most MAX_ATTEMPTS", () => {
    expect(labels("We restarted the pods. Later we restarted the pods again.")).toEqual([
      "restarted the pods",
    ]);
    const many = Array.from({ length: 12 }, (_, i) => `- added cache layer ${i}`).join("\n");
    expect(labels(many)).toHaveLength(MAX_ATTEMPTS);
  });

  it("reads the problem and then its thread", () => {
    expect(
      attemptsIn({ text: "We added indexes.", context: "alice: Rolling back the deploy now." }).map(
        (a) => a.label,
      ),
    ).toEqual(["added indexes", "rolling back the deploy"]);
  });
});

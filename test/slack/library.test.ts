/**
 * The lens library in Slack: `/lens show|search|random|contrast|journey|modes|help` answered at
 * once and only to the person, through the real Bolt receiver; "Apply to a problem…" opens a
 * modal (views.open on the fake Web API) whose submission starts a run with that lens.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkBlockKitLimits } from "../../src/slack/blocks/limits.js";
import { parseLibraryCommand } from "../../src/slack/listeners/library.js";
import {
  buttonClick,
  catalogue,
  type Harness,
  interaction,
  nextTriggerId,
  opened,
  roots,
  slashCommand,
  startHarness,
  waitFor,
  waitForDone,
} from "../support/harness.js";

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

/** The ephemeral ack of `/lens <text>`: its text and blocks. */
async function ask(text: string): Promise<{ response_type?: string; text: string; blocks?: unknown[] }> {
  const res = await slashCommand(h.url, text);
  expect(res.status).toBe(200);
  return JSON.parse(res.text);
}

const body = (m: { text: string; blocks?: unknown[] }) => `${m.text}\n${JSON.stringify(m.blocks ?? [])}`;

describe("reading /lens text", () => {
  it("takes library commands only where they are short; a problem that starts with the same word stays a problem", () => {
    expect(parseLibraryCommand("show pace layering", opened)).toMatchObject({
      kind: "show",
      lens: { id: "pace-layering" },
    });
    expect(
      parseLibraryCommand("show me why checkout is slow when traffic peaks on Mondays", opened),
    ).toBeUndefined();
    expect(
      parseLibraryCommand("search is slow since we moved to the new cluster and nobody knows why", opened),
    ).toBeUndefined();
    expect(parseLibraryCommand("random", opened)).toEqual({ kind: "random" });
    expect(parseLibraryCommand("random failures in CI", opened)).toBeUndefined();
    expect(parseLibraryCommand("journey five whys to theory of constraints", opened)).toMatchObject({
      kind: "journey",
      from: { id: "five-whys" },
      to: { id: "theory-of-constraints" },
    });
    expect(parseLibraryCommand("show pace layring", opened)).toEqual({
      kind: "unknown",
      input: "pace layring",
      suggestions: expect.arrayContaining(["Pace Layering"]),
    });
  });
});

/** Opens the modal from a library answer in `channel` and returns it as Slack would send it back. */
async function openModal(channel: string, lensId = "five-whys") {
  const before = h.slack.modals().length;
  await interaction(h.url, {
    type: "block_actions",
    trigger_id: nextTriggerId(),
    user: { id: "U0ASKER", name: "asker" },
    channel: { id: channel, name: "c" },
    team: { id: "T0TEST", domain: "test" },
    container: { type: "message", is_ephemeral: true },
    actions: [{ type: "button", action_id: "library_apply", block_id: "b", value: lensId, action_ts: "1" }],
    token: "legacy",
    api_app_id: "A0LENSBOT",
    response_url: h.slack.responseUrl(`apply-${nextTriggerId()}`),
  });
  return waitFor(() => h.slack.modals()[before], 5_000, "the modal");
}
/** Submits the modal with a thread link and/or a problem, as Slack sends view_submission. */
const submit = (modal: Record<string, unknown>, link: string, problem: string | null = null) =>
  interaction(h.url, {
    type: "view_submission",
    team: { id: "T0TEST", domain: "test" },
    user: { id: "U0ASKER", name: "asker" },
    api_app_id: "A0LENSBOT",
    token: "legacy",
    trigger_id: nextTriggerId(),
    view: {
      ...modal,
      state: {
        values: {
          thread: { link: { type: "url_text_input", value: link } },
          problem: { text: { type: "plain_text_input", value: problem } },
        },
      },
      hash: "1",
    },
  });

describe("/lens library commands", () => {
  it("show: the lens in full, only to the person, within Slack's limits, and nothing posted", async () => {
    const posts = h.slack.calls("chat.postMessage").length;
    const answer = await ask("show pace layering");
    const lens = catalogue.require("pace-layering");
    expect(answer.response_type).toBe("ephemeral");
    expect(body(answer)).toContain(lens.definition.slice(0, 60));
    expect(body(answer)).toContain(lens.origin.who);
    expect(body(answer)).toContain("library_apply");
    expect(checkBlockKitLimits(answer)).toEqual([]);
    expect(h.slack.calls("chat.postMessage")).toHaveLength(posts);
    expect(await h.queue.getJobCounts()).toMatchObject({ waiting: 0, active: 0 });
  });

  it("an unknown lens gets 'did you mean'", async () => {
    const answer = await ask("show pace layring");
    expect(answer.text).toBe('I do not know a lens called "pace layring". Did you mean *Pace Layering*?');
  });

  it("search, random, contrast, journey and modes answer from the catalogue and the graph", async () => {
    const search = await ask("search waiting queue bottleneck");
    const top = opened.index.search("waiting queue bottleneck", 8)[0]?.lens;
    expect(body(search)).toContain(`*${top?.name}*`);

    const random = await ask("random");
    expect(catalogue.lenses.some((l) => random.text === `A lens to try: ${l.name}`)).toBe(true);

    const contrast = await ask("contrast pace layering");
    for (const c of opened.graph.contrasts("pace-layering")) expect(body(contrast)).toContain(c.lens.name);

    const journey = await ask("journey five whys to theory of constraints");
    const steps = opened.graph.journey("five-whys", "theory-of-constraints") ?? [];
    expect(body(journey)).toContain(`in ${steps.length} step`);

    const modes = await ask("modes");
    for (const m of catalogue.modes) expect(body(modes)).toContain(m.name);
    for (const answer of [search, random, contrast, journey, modes])
      expect(checkBlockKitLimits(answer)).toEqual([]);
  });

  it("help (and an empty /lens) lists every subcommand with an example", async () => {
    for (const text of ["", "help"]) {
      const help = body(await ask(text));
      for (const example of [
        "/lens show",
        "/lens search",
        "/lens random",
        "/lens contrast",
        "/lens journey",
        "/lens modes",
        "/lens digest",
      ]) {
        expect(help).toContain(example);
      }
    }
  });

  it("Apply to a thread… with a problem typed in: a modal, then a run with exactly that lens", async () => {
    h.slack.addChannel("C0LIB", "lib");
    const modal = await openModal("C0LIB", "pace-layering");
    expect(modal).toMatchObject({
      callback_id: "library_apply_modal",
      title: { text: "Apply Pace Layering" },
    });
    const submitted = await submit(
      modal,
      "",
      "Our mobile app and backend release on different rhythms and the API keeps breaking old clients.",
    );
    expect(submitted.status).toBe(200);
    const root = await waitFor(() => roots(h, "C0LIB")[0], 5_000, "the root message");
    await waitForDone(h, "C0LIB", root.ts);
    const cards = h.slack.thread("C0LIB", root.ts).map(body).join("\n");
    expect(cards).toContain("Pace Layering");
    const run = await h.store.runForThread("C0LIB", root.ts, "T0TEST");
    expect(run?.suggestion?.lenses.map((l) => l.id)).toEqual(["pace-layering"]);
  });
});

describe("Apply to a thread…", () => {
  it("applies the lens to the thread a link names, read like the shortcut reads one", async () => {
    h.slack.addChannel("C0INCD", "incident", { members: ["U0ASKER"] });
    const { thread_ts } = h.slack.seedThread("C0INCD", [
      { user: "U0ASKER", text: "Checkout fails for a third of users since 14:05." },
      { user: "U0ASKER", text: "We restarted the pods twice; it comes back every time." },
    ]);
    const modal = await openModal("C0LIB");
    const res = await submit(
      modal,
      `https://fake-workspace.slack.com/archives/C0INCD/p${thread_ts.replace(".", "")}`,
    );
    expect(res.status).toBe(200);
    await waitForDone(h, "C0INCD", thread_ts);
    const run = await h.store.runForThread("C0INCD", thread_ts, "T0TEST");
    expect(run?.suggestion?.lenses.map((l) => l.id)).toEqual(["five-whys"]);
    expect(run?.problem?.context).toContain("We restarted the pods twice");
  });

  it("refuses a link to a conversation the person is not in, and a link that is not Slack's", async () => {
    h.slack.addChannel("C0SECRET2", "secret", { members: ["U0OTHER"] });
    const { thread_ts } = h.slack.seedThread("C0SECRET2", [{ user: "U0OTHER", text: "private matters" }]);
    const modal = await openModal("C0LIB");
    const outsider = await submit(
      modal,
      `https://fake-workspace.slack.com/archives/C0SECRET2/p${thread_ts.replace(".", "")}`,
    );
    expect(JSON.parse(outsider.text)).toEqual({
      response_action: "errors",
      errors: { thread: "I can only apply lenses to threads in conversations both you and I are in." },
    });
    const foreign = await submit(modal, "https://evil.example/archives/C0SECRET2/p1700000000000100");
    expect(JSON.parse(foreign.text).errors.thread).toContain("not a link to a Slack message");
    expect(await h.store.runForThread("C0SECRET2", thread_ts, "T0TEST")).toBeUndefined();
  });
});

describe("Widen the view", () => {
  it("applies the lens that widens the analysis most: one more card, the synthesis refreshed", async () => {
    await slashCommand(
      h.url,
      "Our dashboard API is stuck at 350 ms despite caching, indexes and pooling; we need 150 ms.",
      {
        channel_id: "C0WIDE",
      },
    );
    const root = await waitFor(() => roots(h, "C0WIDE")[0], 5_000, "the root");
    await waitForDone(h, "C0WIDE", root.ts);
    const before = await h.store.runForThread("C0WIDE", root.ts, "T0TEST");
    if (!before?.problem || !before.suggestion) throw new Error("the run has no problem or suggestion");
    const used = before.suggestion.lenses.map((l) => l.id);
    const fit = new Map(opened.index.rank(before.problem.text).lenses.map((r) => [r.lens.id, r.score]));
    const expected = opened.graph.widening(used, fit)?.lens;
    if (!expected) throw new Error("expected a lens to widen with");
    const synthesis = h.slack
      .thread("C0WIDE", root.ts)
      .find(
        (m) =>
          (m.metadata as { event_payload?: { slot?: string } } | undefined)?.event_payload?.slot ===
          "synthesis#0",
      );
    expect(JSON.stringify(synthesis?.blocks)).toContain("widen_view");

    await buttonClick(h.url, {
      actionId: "widen_view",
      value: before.runId,
      userId: "U0ASKER",
      channel: "C0WIDE",
      messageTs: synthesis?.ts ?? "",
      threadTs: root.ts,
      triggerId: "widen-1",
    });
    const told = await waitFor(
      () => h.slack.responses().find((r) => r.id === "action-widen-1"),
      5_000,
      "the answer",
    );
    expect(told.body.text).toContain(`Widening the view with *${expected.name}*`);
    const after = await waitFor(
      async () => {
        const r = await h.store.runForThread("C0WIDE", root.ts, "T0TEST");
        return r?.status === "done" && r.synthesisOf?.includes(expected.id) ? r : undefined;
      },
      10_000,
      "the widened run",
    );
    expect(after.suggestion?.lenses.map((l) => l.id)).toEqual([...used, expected.id]);
    const thread = h.slack.thread("C0WIDE", root.ts);
    const slots = thread.map(
      (m) => (m.metadata as { event_payload?: { slot?: string } } | undefined)?.event_payload?.slot,
    );
    expect(slots).toContain(`lens:${expected.id}#0`);
    expect(slots.filter((x) => x === "synthesis#0")).toHaveLength(1);
    expect(thread.find((m) => m.ts === synthesis?.ts)?.edited).toBeDefined();
  });
});

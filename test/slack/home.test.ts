/**
 * App Home through the real Bolt receiver and the fake Web API: published on app_home_opened,
 * when the person browses the library there, and after their runs complete; always within
 * Slack's 100 blocks per view.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HOME_RECENT } from "../../src/slack/blocks/home.js";
import { checkViewLimits } from "../../src/slack/blocks/limits.js";
import { RecordStore } from "../../src/store/records.js";
import {
  catalogue,
  eventCallback,
  type Harness,
  interaction,
  nextTriggerId,
  roots,
  slashCommand,
  startHarness,
  waitFor,
  waitForDone,
} from "../support/harness.js";
import { seedRun } from "../support/records.js";

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

/** The next view published for `user` after `after` calls of views.publish. */
async function nextView(user: string, after: number): Promise<{ type: string; blocks: unknown[] }> {
  const call = await waitFor(
    () =>
      h.slack
        .calls("views.publish")
        .slice(after)
        .find((c) => c.args.user_id === user && !c.error),
    10_000,
    `a Home view for ${user}`,
  );
  return call.args.view as { type: string; blocks: unknown[] };
}

const text = (view: { blocks: unknown[] }) => JSON.stringify(view.blocks);

async function openHome(user: string) {
  const before = h.slack.calls("views.publish").length;
  await eventCallback(
    h.url,
    { type: "app_home_opened", user, channel: "D0HOME", tab: "home", event_ts: "1" },
    `Ev${nextTriggerId()}`,
  );
  return nextView(user, before);
}

/** A block action from the Home tab (no channel, no message). */
function homeAction(user: string, action: Record<string, unknown>) {
  return interaction(h.url, {
    type: "block_actions",
    trigger_id: nextTriggerId(),
    user: { id: user, name: "u", team_id: "T0TEST" },
    team: { id: "T0TEST", domain: "test" },
    container: { type: "view", view_id: "V1" },
    view: { id: "V1", type: "home" },
    actions: [{ block_id: "b", action_ts: "1", ...action }],
    token: "legacy",
    api_app_id: "A0LENSBOT",
  });
}

describe("App Home", () => {
  it("for a person with no analyses: how to use it, an empty list, the library; within limits", async () => {
    const view = await openHome("U0NEW");
    expect(view.type).toBe("home");
    expect(text(view)).toContain("No analyses yet");
    expect(text(view)).toContain("How to use lensbot");
    expect(text(view)).toContain("home_browse_mode");
    expect(checkViewLimits(view)).toEqual([]);
  });

  it("for a person with 50 analyses: the latest ten, linked; digests of public channels they are in; within limits", async () => {
    const store = new RecordStore(h.redis, { prefix: h.recordPrefix, ttlSeconds: 3_600 });
    h.slack.addChannel("C0MINE", "mine", { members: ["U0BUSY"] });
    h.slack.addChannel("C0ELSE", "else");
    const now = Date.now();
    for (let i = 0; i < 50; i++) {
      const threadTs = h.slack.seedThread("C0MINE", [{ user: "U0BUSY", text: `problem ${i}` }]).thread_ts;
      await seedRun(store, {
        channel: "C0MINE",
        at: now - (50 - i) * 1000,
        lenses: ["theory-of-constraints", "five-whys"],
        reframe: `Reframe number ${i} ${"of a long problem ".repeat(20)}`,
        threadTs,
        user: "U0BUSY",
      });
    }
    for (const channel of ["C0MINE", "C0ELSE"]) {
      await h.digests.save({
        team: "T0TEST",
        channel,
        cadence: "weekly",
        weekday: 1,
        time: "09:00",
        tz: "UTC",
        sources: [channel],
        quiet: false,
        anchorMs: now,
        configuredBy: "U0BUSY",
        updatedAt: now,
      });
    }
    const view = await openHome("U0BUSY");
    expect(checkViewLimits(view)).toEqual([]);
    const body = text(view);
    for (let i = 49; i > 49 - HOME_RECENT; i--) expect(body).toContain(`Reframe number ${i} `);
    expect(body).not.toContain("Reframe number 39 ");
    expect(body).toMatch(/<https:\/\/fake-workspace\.slack\.com\/archives\/C0MINE\/p\d+\|Reframe number 49/);
    expect(body).toContain("<#C0MINE>: weekly on Monday at 09:00 (UTC)");
    expect(body).not.toContain("<#C0ELSE>");
  });

  it("browses the library by mode, a page at a time, and searches", async () => {
    const mode = catalogue.modes.find(
      (m) => catalogue.lenses.filter((l) => l.modes.includes(m.id)).length > 10,
    );
    if (!mode) throw new Error("expected a mode with more than ten lenses");
    const lenses = catalogue.lenses.filter((l) => l.modes.includes(mode.id));
    let before = h.slack.calls("views.publish").length;
    await homeAction("U0NEW", {
      type: "static_select",
      action_id: "home_browse_mode",
      selected_option: { text: { type: "plain_text", text: mode.name }, value: mode.id },
    });
    const first = await nextView("U0NEW", before);
    expect(text(first)).toContain(`page 1 of ${Math.ceil(lenses.length / 10)}`);
    expect(text(first)).toContain(lenses[0]?.name);
    const next = (first.blocks as { block_id?: string; elements?: { action_id: string; value: string }[] }[])
      .find((b) => b.block_id === "home_paging")
      ?.elements?.find((e) => e.action_id === "home_page:1");
    expect(next).toBeDefined();
    before = h.slack.calls("views.publish").length;
    await homeAction("U0NEW", {
      type: "button",
      action_id: "home_page:1",
      value: next?.value,
      text: { type: "plain_text", text: "Next" },
    });
    const second = await nextView("U0NEW", before);
    expect(text(second)).toContain("page 2 of");
    expect(text(second)).toContain(lenses[10]?.name);

    before = h.slack.calls("views.publish").length;
    await homeAction("U0NEW", {
      type: "plain_text_input",
      action_id: "home_search",
      value: "bottleneck queue",
    });
    const found = await nextView("U0NEW", before);
    expect(text(found)).toContain('Lenses for \\"bottleneck queue\\"');
    expect(checkViewLimits(found)).toEqual([]);
  });

  it("is refreshed after the person's run completes", async () => {
    const before = h.slack.calls("views.publish").length;
    await slashCommand(h.url, "Our nightly batch job overruns into business hours since the data doubled", {
      channel_id: "C0HOMERUN",
      user_id: "U0RUNNER",
    });
    const root = await waitFor(() => roots(h, "C0HOMERUN")[0]);
    await waitForDone(h, "C0HOMERUN", root.ts);
    const view = await nextView("U0RUNNER", before);
    expect(text(view)).toContain("Our nightly batch job overruns into business hours");
  });
});

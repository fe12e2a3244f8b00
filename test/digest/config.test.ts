import { describe, expect, it } from "vitest";
import {
  cronPattern,
  type DigestConfig,
  DigestConfigSchema,
  describeSchedule,
  fireTimes,
  isOffWeek,
  lastPeriod,
  nextFire,
  parseDigestCommand,
  periodEndingAt,
} from "../../src/digest/config.js";

const base: DigestConfig = {
  team: "T1",
  channel: "C1",
  cadence: "weekly",
  weekday: 1,
  time: "09:30",
  tz: "Europe/Paris",
  sources: ["C1"],
  quiet: false,
  anchorMs: 0,
  configuredBy: "U1",
  updatedAt: 0,
};

describe("parseDigestCommand", () => {
  it("reads schedules with defaults for what is left out", () => {
    expect(parseDigestCommand("on weekly mon 09:30")).toEqual({
      action: "on",
      cadence: "weekly",
      weekday: 1,
      time: "09:30",
    });
    expect(parseDigestCommand("on")).toEqual({ action: "on", cadence: "weekly", weekday: 1, time: "09:00" });
    expect(parseDigestCommand("on daily 7:05")).toEqual({ action: "on", cadence: "daily", time: "07:05" });
    expect(parseDigestCommand("on biweekly Friday 16:00")).toEqual({
      action: "on",
      cadence: "biweekly",
      weekday: 5,
      time: "16:00",
    });
    expect(parseDigestCommand("on monthly 15 08:00")).toEqual({
      action: "on",
      cadence: "monthly",
      monthDay: 15,
      time: "08:00",
    });
  });

  it("says what was expected for nonsense", () => {
    const funday = parseDigestCommand("on weekly funday 25:00");
    expect(funday).toMatchObject({ action: "error" });
    expect(funday.action === "error" && funday.error).toMatch(/"funday".*weekday \(mon-sun\)/);
    expect(parseDigestCommand("on weekly mon 25:00")).toEqual({
      action: "error",
      error: "25:00 is not a time of day: expected HH:MM, from 00:00 to 23:59.",
    });
    expect(parseDigestCommand("on monthly 31")).toMatchObject({
      action: "error",
      error: expect.stringMatching(/1 to 28/),
    });
    expect(parseDigestCommand("on daily mon")).toMatchObject({
      action: "error",
      error: expect.stringMatching(/only a time/),
    });
    expect(parseDigestCommand("sometimes")).toMatchObject({
      action: "error",
      error: expect.stringMatching(/expected on, sources/),
    });
    expect(parseDigestCommand("quiet maybe")).toMatchObject({ action: "error" });
    expect(parseDigestCommand("off now")).toMatchObject({ action: "error" });
  });

  it("takes source channels only as Slack channel references", () => {
    expect(parseDigestCommand("sources <#C0INC|incidents> <#C0OPS|ops> <#C0INC|incidents>")).toEqual({
      action: "sources",
      channels: ["C0INC", "C0OPS"],
    });
    expect(parseDigestCommand("sources #incidents")).toMatchObject({
      action: "error",
      error: expect.stringMatching(/not a channel/),
    });
    expect(parseDigestCommand("sources")).toMatchObject({ action: "error" });
  });

  it("reads the other verbs", () => {
    expect(parseDigestCommand("quiet on")).toEqual({ action: "quiet", quiet: true });
    expect(parseDigestCommand("QUIET off")).toEqual({ action: "quiet", quiet: false });
    for (const verb of ["off", "now", "status"] as const)
      expect(parseDigestCommand(` ${verb} `)).toEqual({ action: verb });
    expect(parseDigestCommand("")).toEqual({ action: "help" });
  });
});

describe("schedules", () => {
  it("turns a config into a cron pattern read in its time zone", () => {
    expect(cronPattern(base)).toBe("30 9 * * 1");
    expect(cronPattern({ ...base, cadence: "daily" })).toBe("30 9 * * *");
    expect(cronPattern({ ...base, cadence: "monthly", monthDay: 3 })).toBe("30 9 3 * *");
    expect(describeSchedule(base)).toBe("weekly on Monday at 09:30 (Europe/Paris)");
  });

  it("fires at the local time across a daylight-saving change", () => {
    // Paris leaves summer time on Sunday 25 October 2026: 09:30 is 07:30 UTC before, 08:30 after.
    const { previous, next } = fireTimes(base, Date.parse("2026-10-21T12:00:00Z"));
    expect(new Date(previous).toISOString()).toBe("2026-10-19T07:30:00.000Z");
    expect(new Date(next).toISOString()).toBe("2026-10-26T08:30:00.000Z");
  });

  it("covers [previous fire, fire): an analysis exactly at a fire time opens the next period", () => {
    const fire = Date.parse("2026-11-30T08:30:00Z"); // Monday 09:30 in Paris
    expect(periodEndingAt(base, fire)).toEqual({ start: Date.parse("2026-11-23T08:30:00Z"), end: fire });
    expect(lastPeriod(base, fire)).toEqual({ start: fire - 7 * 86_400_000, end: fire });
    expect(lastPeriod(base, fire - 1).end).toBe(fire - 7 * 86_400_000);
  });

  it("posts a biweekly digest every other week, covering two weeks", () => {
    const anchor = Date.parse("2026-11-16T08:30:00Z");
    const biweekly = { ...base, cadence: "biweekly" as const, anchorMs: anchor };
    const week = 7 * 86_400_000;
    expect(isOffWeek(biweekly, anchor)).toBe(false);
    expect(isOffWeek(biweekly, anchor + week)).toBe(true);
    expect(isOffWeek(biweekly, anchor + 2 * week)).toBe(false);
    expect(periodEndingAt(biweekly, anchor + 2 * week)).toEqual({ start: anchor, end: anchor + 2 * week });
    expect(nextFire(biweekly, anchor + 1)).toBe(anchor + 2 * week);
    expect(lastPeriod(biweekly, anchor + week + 1).end).toBe(anchor);
  });

  it("validates stored configs", () => {
    expect(DigestConfigSchema.safeParse(base).success).toBe(true);
    expect(DigestConfigSchema.safeParse({ ...base, time: "25:00" }).success).toBe(false);
    expect(DigestConfigSchema.safeParse({ ...base, sources: [] }).success).toBe(false);
  });
});

import { CronExpressionParser } from "cron-parser";
import { z } from "zod";

/**
 * Retro digests: how often a channel gets one, and from which channels' analyses. One config per
 * (team, channel), kept in Redis (see `DigestStore`); the schedule itself is a BullMQ job
 * scheduler built from it (see `cronPattern`).
 */
export const CADENCES = ["daily", "weekly", "biweekly", "monthly"] as const;
export type Cadence = (typeof CADENCES)[number];

const DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"] as const;
const DAY_NAMES = ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"];

export const DigestConfigSchema = z.object({
  team: z.string().min(1),
  channel: z.string().min(1),
  cadence: z.enum(CADENCES),
  /** Day of the week (0 = Sunday) for weekly and biweekly digests. */
  weekday: z.number().int().min(0).max(6).optional(),
  /** Day of the month (1-28, so every month has it) for monthly digests. */
  monthDay: z.number().int().min(1).max(28).optional(),
  /** Local time of day, HH:MM (24 h). */
  time: z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/),
  /** IANA time zone the time is in (the configuring person's Slack time zone). */
  tz: z.string().min(1),
  /** Channels whose analyses feed the digest (default: the channel itself). */
  sources: z.array(z.string().min(1)).min(1),
  /** Skip periods without analyses instead of posting a short note. */
  quiet: z.boolean(),
  /** Biweekly digests post on the weeks an even number of weeks from this fire time (ms). */
  anchorMs: z.number().int().nonnegative(),
  configuredBy: z.string().min(1),
  /** ms since the epoch */
  updatedAt: z.number().int().nonnegative(),
});
export type DigestConfig = z.infer<typeof DigestConfigSchema>;

/** What `/lens digest …` asks for, parsed; `error` says what was expected instead. */
export type DigestCommand =
  | { action: "on"; cadence: Cadence; weekday?: number; monthDay?: number; time: string }
  | { action: "sources"; channels: string[] }
  | { action: "quiet"; quiet: boolean }
  | { action: "off" | "now" | "status" }
  | { action: "help" }
  | { action: "error"; error: string };

export const DIGEST_USAGE = [
  "Retro digests bring a period's analyses back to this channel:",
  "• `/lens digest on weekly mon 09:30`: daily, weekly, biweekly or monthly; a weekday (mon-sun) for weekly and biweekly, a day of the month (1-28) for monthly; a time (HH:MM, your Slack time zone).",
  "• `/lens digest sources #incidents #oncall`: the channels whose analyses feed it (default: this one).",
  "• `/lens digest quiet on|off`: skip periods without analyses, or post a short note.",
  "• `/lens digest now`: post one for the last period. `/lens digest status`, `/lens digest off`.",
].join("\n");

const DEFAULTS = { weekday: 1, monthDay: 1, time: "09:00" };

/**
 * Parses the text after `/lens digest` (raw command text, with channels escaped as
 * `<#C123|name>`). Never throws: nonsense comes back as `{action: "error"}` with a sentence that
 * says what was expected.
 */
export function parseDigestCommand(text: string): DigestCommand {
  const words = text.trim().split(/\s+/).filter(Boolean);
  const [verb, ...rest] = words.map((w) => w.toLowerCase());
  switch (verb) {
    case undefined:
    case "help":
      return { action: "help" };
    case "off":
    case "now":
    case "status":
      return rest.length === 0
        ? { action: verb }
        : { action: "error", error: `\`/lens digest ${verb}\` takes nothing after it.` };
    case "quiet":
      if (rest.length === 1 && (rest[0] === "on" || rest[0] === "off"))
        return { action: "quiet", quiet: rest[0] === "on" };
      return { action: "error", error: "Expected `/lens digest quiet on` or `/lens digest quiet off`." };
    case "sources":
      return parseSources(words.slice(1));
    case "on":
      return parseSchedule(rest);
    default:
      return {
        action: "error",
        error: `I do not know \`/lens digest ${words[0]}\`: expected on, sources, quiet, now, status or off.`,
      };
  }
}

function parseSources(words: string[]): DigestCommand {
  if (words.length === 0)
    return { action: "error", error: "Name at least one channel: `/lens digest sources #incidents`." };
  const channels: string[] = [];
  for (const word of words) {
    const match = /^<#([CG][A-Z0-9]+)(?:\|[^>]*)?>$/.exec(word);
    if (!match) {
      return {
        action: "error",
        error: `"${word.slice(0, 40)}" is not a channel: pick channels from Slack's autocomplete (they start with #).`,
      };
    }
    if (!channels.includes(match[1] as string)) channels.push(match[1] as string);
  }
  if (channels.length > 10) return { action: "error", error: "At most 10 source channels per digest." };
  return { action: "sources", channels };
}

function parseSchedule(words: string[]): DigestCommand {
  let cadence: Cadence | undefined;
  let weekday: number | undefined;
  let monthDay: number | undefined;
  let time: string | undefined;
  for (const word of words) {
    if ((CADENCES as readonly string[]).includes(word) && !cadence) {
      cadence = word as Cadence;
      continue;
    }
    const day = DAYS.findIndex((d, i) => word === d || word === DAY_NAMES[i]);
    if (day >= 0 && weekday === undefined) {
      weekday = day;
      continue;
    }
    const clock = /^(\d{1,2}):(\d{2})$/.exec(word);
    if (clock && time === undefined) {
      const [h, m] = [Number(clock[1]), Number(clock[2])];
      if (h > 23 || m > 59)
        return {
          action: "error",
          error: `${word} is not a time of day: expected HH:MM, from 00:00 to 23:59.`,
        };
      time = `${String(h).padStart(2, "0")}:${clock[2]}`;
      continue;
    }
    if (/^\d{1,2}$/.test(word) && monthDay === undefined) {
      const n = Number(word);
      if (n < 1 || n > 28)
        return { action: "error", error: `${word} is not a day I can use every month: expected 1 to 28.` };
      monthDay = n;
      continue;
    }
    return {
      action: "error",
      error: `I did not understand "${word.slice(0, 40)}": expected daily, weekly, biweekly or monthly, a weekday (mon-sun), a day of the month (1-28) and a time (HH:MM).`,
    };
  }
  const c = cadence ?? (monthDay !== undefined ? "monthly" : weekday !== undefined ? "weekly" : "weekly");
  if (c === "daily" && (weekday !== undefined || monthDay !== undefined))
    return {
      action: "error",
      error: "A daily digest takes only a time, e.g. `/lens digest on daily 17:00`.",
    };
  if (c === "monthly" && weekday !== undefined)
    return { action: "error", error: "A monthly digest takes a day of the month (1-28), not a weekday." };
  if ((c === "weekly" || c === "biweekly") && monthDay !== undefined)
    return { action: "error", error: `A ${c} digest takes a weekday (mon-sun), not a day of the month.` };
  return {
    action: "on",
    cadence: c,
    ...(c === "weekly" || c === "biweekly" ? { weekday: weekday ?? DEFAULTS.weekday } : {}),
    ...(c === "monthly" ? { monthDay: monthDay ?? DEFAULTS.monthDay } : {}),
    time: time ?? DEFAULTS.time,
  };
}

/** Whether `tz` is an IANA time zone this runtime knows. */
export function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat("en", { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/**
 * The cron pattern of a digest (minute hour day-of-month month day-of-week), read in `config.tz`.
 * Biweekly digests fire weekly; `isOffWeek` skips every other fire.
 */
export function cronPattern(config: Pick<DigestConfig, "cadence" | "weekday" | "monthDay" | "time">): string {
  const [h, m] = config.time.split(":").map(Number);
  switch (config.cadence) {
    case "daily":
      return `${m} ${h} * * *`;
    case "weekly":
    case "biweekly":
      return `${m} ${h} * * ${config.weekday ?? DEFAULTS.weekday}`;
    case "monthly":
      return `${m} ${h} ${config.monthDay ?? DEFAULTS.monthDay} * *`;
  }
}

/** The fire times (ms) of a digest just before and just after `atMs` (strictly). */
export function fireTimes(config: DigestConfig, atMs: number): { previous: number; next: number } {
  const options = { currentDate: new Date(atMs), tz: config.tz };
  return {
    previous: CronExpressionParser.parse(cronPattern(config), options).prev().getTime(),
    next: CronExpressionParser.parse(cronPattern(config), options).next().getTime(),
  };
}

const WEEK_MS = 7 * 86_400_000;

/** For a biweekly digest, whether the fire at `fireMs` is one of the skipped weeks. */
export function isOffWeek(config: DigestConfig, fireMs: number): boolean {
  if (config.cadence !== "biweekly") return false;
  return Math.round((fireMs - config.anchorMs) / WEEK_MS) % 2 !== 0;
}

/**
 * The period a digest fired at `fireMs` covers: analyses created in [start, end), where end is
 * the fire time and start the fire before it (two weekly fires back for biweekly). An analysis
 * created exactly at a fire time belongs to the period that begins there.
 */
export function periodEndingAt(config: DigestConfig, fireMs: number): { start: number; end: number } {
  let start = fireTimes(config, fireMs).previous;
  if (config.cadence === "biweekly") start = fireTimes(config, start).previous;
  return { start, end: fireMs };
}

/** The next fire time (ms) after `atMs` that posts a digest (biweekly: skipping the off weeks). */
export function nextFire(config: DigestConfig, atMs: number): number {
  const next = fireTimes(config, atMs).next;
  return isOffWeek(config, next) ? fireTimes(config, next).next : next;
}

/** The latest period that has ended by `nowMs` (what `/lens digest now` and the CLI report on). */
export function lastPeriod(config: DigestConfig, nowMs: number): { start: number; end: number } {
  let end = fireTimes(config, nowMs + 1).previous;
  if (isOffWeek(config, end)) end = fireTimes(config, end).previous;
  return periodEndingAt(config, end);
}

/** "weekly on Monday at 09:30 (Europe/Paris)", for confirmations and status. */
export function describeSchedule(config: DigestConfig): string {
  const at = `at ${config.time} (${config.tz})`;
  switch (config.cadence) {
    case "daily":
      return `daily ${at}`;
    case "weekly":
      return `weekly on ${capitalise(DAY_NAMES[config.weekday ?? 1] ?? "")} ${at}`;
    case "biweekly":
      return `every other ${capitalise(DAY_NAMES[config.weekday ?? 1] ?? "")} ${at}`;
    case "monthly":
      return `monthly on day ${config.monthDay ?? 1} ${at}`;
  }
}

const capitalise = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

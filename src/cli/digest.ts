import { collectDigest } from "../app/digest.js";
import type { Library } from "../catalogue/graph.js";
import type { Config } from "../config.js";
import { type Digest, type Tally, tallyFeedback } from "../digest/build.js";
import { ErrorCode, LensbotError } from "../errors.js";
import type { Engine } from "../pipeline/ports.js";
import { connectRedis } from "../runtime.js";
import { DigestStore } from "../store/digests.js";
import { RecordStore } from "../store/records.js";

/** `--since` durations: a whole number of minutes, hours, days or weeks ("90m", "24h", "7d", "2w"). */
const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 } as const;

/**
 * Parses a `--since` duration into ms.
 * @throws LensbotError `unreadable_input` for anything else, saying what was expected.
 */
export function parseSince(text: string): number {
  const match = /^(\d{1,4})([mhdw])$/.exec(text.trim());
  if (!match || Number(match[1]) === 0) {
    throw new LensbotError(
      ErrorCode.UnreadableInput,
      `--since ${JSON.stringify(text)} is not a duration: expected a number and a unit, such as 24h, 7d or 2w.`,
    );
  }
  return Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS];
}

/** Where the Redis of `url` is, without credentials (for messages). */
function where(url: string): string {
  try {
    const u = new URL(url.replace(/^rediss?\+cluster:/, "redis:"));
    return u.host || "the configured Redis";
  } catch {
    return "the configured Redis";
  }
}

/**
 * Runs `fn` with the stores of the deployment's Redis (`REDIS_URL`, `LENSBOT_REDIS_PREFIX`), then
 * disconnects.
 * @throws LensbotError `store_unavailable` when Redis does not answer within `LENSBOT_REDIS_TIMEOUT_MS`.
 */
async function withStores<T>(
  config: Config,
  fn: (stores: { records: RecordStore; digests: DigestStore }) => Promise<T>,
): Promise<T> {
  const redis = connectRedis(config.redisUrl, "commands", config.redisTimeoutMs);
  redis.on("error", () => {});
  try {
    const ready = await Promise.race([
      new Promise<boolean>((r) => (redis.status === "ready" ? r(true) : redis.once("ready", () => r(true)))),
      new Promise<boolean>((r) => setTimeout(() => r(false), config.redisTimeoutMs).unref()),
    ]);
    if (!ready) {
      throw new LensbotError(
        ErrorCode.StoreUnavailable,
        `Cannot reach Redis at ${where(config.redisUrl)} (REDIS_URL).`,
      );
    }
    return await fn({
      records: new RecordStore(redis, { prefix: config.redisPrefix }),
      digests: new DigestStore(redis, { prefix: config.redisPrefix }),
    });
  } finally {
    redis.disconnect();
  }
}

/**
 * The workspace whose records to read: `team` when given, else the only one with records.
 * @throws LensbotError `unreadable_input` when several have records and none was chosen.
 */
function pickTeam(all: readonly { team: string }[], team: string | undefined): string {
  const teams = [...new Set(all.map((c) => c.team))];
  if (!team && teams.length > 1) {
    throw new LensbotError(
      ErrorCode.UnreadableInput,
      `Records of several workspaces are here (${teams.join(", ")}): choose one with --team.`,
    );
  }
  return team ?? teams[0] ?? "-";
}

/**
 * `lens feedback`: the 👍/👎 people gave lens cards and syntheses in the last `sinceMs`, per lens,
 * most liked first (each person's latest vote on each card).
 * @throws as `withStores` and `pickTeam`.
 */
export async function feedbackFromRedis(
  input: { config: Config; library: Library; sinceMs: number; team?: string },
  now: () => number = Date.now,
): Promise<Tally[]> {
  return withStores(input.config, async ({ records }) => {
    const team = pickTeam(await records.channelsWithRuns(), input.team);
    const events = await records.feedbackSince(now() - input.sinceMs, team);
    return tallyFeedback(events, (id) => input.library.catalogue.get(id)?.name ?? id);
  });
}

/**
 * The digest `lens digest` prints: the analyses of the last `sinceMs` from the records in Redis
 * (`REDIS_URL`, `LENSBOT_REDIS_PREFIX`), built as the digest worker builds them. With a channel
 * that has a digest configured, its sources and time zone are used (the same digest Slack gets);
 * with a channel without one, that channel alone; with none, every channel of the workspace.
 * @throws LensbotError `store_unavailable` when Redis does not answer within `LENSBOT_REDIS_TIMEOUT_MS`; `unreadable_input`
 *   when several workspaces have records and no `team` was given.
 */
export async function digestFromRedis(
  input: {
    config: Config;
    library: Library;
    engine: Engine;
    sinceMs: number;
    channel?: string;
    team?: string;
  },
  now: () => number = Date.now,
): Promise<Digest> {
  return withStores(input.config, async ({ records, digests }) => {
    const all = await records.channelsWithRuns();
    const team = pickTeam(all, input.team);
    const known = all.filter((c) => c.team === team && (!input.channel || c.channel === input.channel));
    const configured = input.channel ? await digests.get(team, input.channel) : undefined;
    const sources =
      configured?.sources ?? (input.channel ? [input.channel] : known.map((c) => c.channel).sort());
    const end = now();
    return await collectDigest(
      { records, library: input.library, engine: input.engine },
      {
        team,
        channel: input.channel ?? "all",
        sources,
        period: { start: end - input.sinceMs, end },
        tz: configured?.tz ?? Intl.DateTimeFormat().resolvedOptions().timeZone ?? "UTC",
      },
    );
  });
}

import type { Cluster, Redis } from "ioredis";
import type { LensAnalysis, ModeSuggestion, Problem, Synthesis } from "../pipeline/schemas.js";
import type { AnalysisJob } from "../queue/jobs.js";
import { keys } from "./keys.js";
import { scanKeys } from "./scan.js";

/** Where a run is in its life: the states of the run's state machine. */
export type RunStatus = "queued" | "suggesting" | "analysing" | "synthesising" | "done" | "failed";

/** What lensbot remembers of one run in one thread (follow-ups, digests and retries read it). */
export interface AnalysisRecord {
  runId: string;
  /** The workspace, when Slack told us (DMs may not). */
  team?: string;
  channel: string;
  threadTs: string;
  requester: string;
  /** The job that created the run (follow-ups copy its target). */
  job: AnalysisJob;
  problem?: Problem;
  /** The suggestion, with every lens of the run (follow-ups add to it). */
  suggestion?: ModeSuggestion;
  /** The analyses saved so far, in the suggestion's lens order. */
  analyses: LensAnalysis[];
  synthesis?: Synthesis;
  /** The lens ids the saved synthesis covers (a synthesis of fewer lenses is stale). */
  synthesisOf?: string[];
  status: RunStatus;
  /** A short note for the status line (e.g. "the model service is busy; retrying in 40 s"). */
  note?: string;
  /** ms since the epoch */
  createdAt: number;
  updatedAt: number;
}

export type Vote = "up" | "down";

/** One 👍/👎 on a card: the run, the card (a lens id, or "synthesis"), who, and when (ms). */
export interface FeedbackEvent {
  runId: string;
  target: string;
  userId: string;
  vote: Vote;
  at: number;
}

/** What a slot claim found (see `RecordStore.claimSlot`). */
export type SlotClaim =
  | { state: "claimed" }
  | { state: "posted"; ts: string }
  /** Claimed earlier (by someone else long ago, or by this owner) and never recorded: look for the message before posting. */
  | { state: "stale"; owner: string }
  | { state: "busy" };

const JSON_FIELDS = ["job", "problem", "suggestion", "synthesis", "synthesisOf"] as const;

/** Creates the run hash only if it does not exist. KEYS: run. ARGV: ttl ms, field, value, ... */
const CREATE = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1`;

/** Writes fields of an existing run hash (never recreates an expired one). KEYS: run. ARGV: ttl ms, field, value, ... */
const WRITE = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1`;

/**
 * Claims a message slot before posting. KEYS: slots. ARGV: slot, owner, now ms, stale ms, ttl ms.
 * Returns {state} or {state, ts|owner}.
 */
const CLAIM = `
local v = redis.call('HGET', KEYS[1], ARGV[1])
local mine = 'claim:' .. ARGV[2] .. ':' .. ARGV[3]
if not v then
  redis.call('HSET', KEYS[1], ARGV[1], mine)
  redis.call('PEXPIRE', KEYS[1], ARGV[5])
  return {'claimed'}
end
if string.sub(v, 1, 3) == 'ts:' then return {'posted', string.sub(v, 4)} end
local owner, at = string.match(v, '^claim:(.*):(%d+)$')
if owner == ARGV[2] or (at and tonumber(ARGV[3]) - tonumber(at) >= tonumber(ARGV[4])) then
  redis.call('HSET', KEYS[1], ARGV[1], mine)
  return {'stale', owner or ''}
end
return {'busy'}`;

/** Takes (or keeps) a lock for one token. KEYS: lock. ARGV: token, ttl ms. */
const LOCK = `
local v = redis.call('GET', KEYS[1])
if v and v ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1`;

/** Releases a lock only if this token holds it. KEYS: lock. ARGV: token. */
const UNLOCK = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

type Scripted = (Redis | Cluster) & {
  lensbotCreate(key: string, ttlMs: number, ...fieldsAndValues: string[]): Promise<number>;
  lensbotWrite(key: string, ttlMs: number, ...fieldsAndValues: string[]): Promise<number>;
  lensbotClaim(
    key: string,
    slot: string,
    owner: string,
    now: number,
    staleMs: number,
    ttlMs: number,
  ): Promise<string[]>;
  lensbotLock(key: string, token: string, ttlMs: number): Promise<number>;
  lensbotUnlock(key: string, token: string): Promise<number>;
};

/**
 * Redis-backed records of runs. Each run is one hash (its state machine and a checkpoint per
 * step: problem, suggestion, one field per lens analysis, synthesis), written field by field the
 * moment each exists, so a retried, stalled or resumed job continues from the last checkpoint.
 * Beside it: the run's message slots (claimed atomically before posting, so no interleaving of
 * jobs can post a slot twice), its feedback and its lock. Every write is a single command or a
 * script on one key; nothing reads, changes and writes back.
 */
export class RecordStore {
  readonly #redis: Scripted;
  readonly #k: ReturnType<typeof keys>;
  readonly #ttlMs: number;
  readonly #now: () => number;

  /** @param ttlSeconds how long records live after their last write (default 30 days). */
  constructor(
    redis: Redis | Cluster,
    options: { prefix?: string; ttlSeconds?: number; now?: () => number } = {},
  ) {
    this.#redis = redis as Scripted;
    this.#k = keys(options.prefix ?? "lensbot");
    this.#ttlMs = (options.ttlSeconds ?? 30 * 86_400) * 1000;
    this.#now = options.now ?? Date.now;
    const define = (name: string, lua: string, numberOfKeys = 1) => {
      if (!(name in redis)) redis.defineCommand(name, { numberOfKeys, lua });
    };
    define("lensbotCreate", CREATE);
    define("lensbotWrite", WRITE);
    define("lensbotClaim", CLAIM);
    define("lensbotLock", LOCK);
    define("lensbotUnlock", UNLOCK);
  }

  /** The key prefix, for other stores that share this deployment's namespace. */
  get keys(): ReturnType<typeof keys> {
    return this.#k;
  }

  /**
   * Creates the run (status `queued`) and indexes it by thread and channel, unless it exists.
   * @returns true when this call created it.
   */
  async createRun(job: AnalysisJob): Promise<boolean> {
    const now = this.#now();
    const created = await this.#redis.lensbotCreate(
      this.#k.run(job.runId),
      this.#ttlMs,
      ...flatten({
        runId: job.runId,
        team: job.teamId ?? "",
        channel: job.channel,
        threadTs: job.threadTs,
        requester: job.userId,
        job: JSON.stringify(job),
        status: "queued",
        createdAt: String(job.requestedAt),
        updatedAt: String(now),
      }),
    );
    await this.#index(job.teamId, job.channel, job.threadTs, job.runId, job.requestedAt, job.userId);
    return created === 1;
  }

  async #index(
    team: string | undefined,
    channel: string,
    threadTs: string,
    runId: string,
    at: number,
    user: string,
  ) {
    const add = (zset: string) =>
      this.#redis
        .multi()
        .zadd(zset, at, runId)
        .zremrangebyscore(zset, "-inf", `(${this.#now() - this.#ttlMs}`)
        .pexpire(zset, this.#ttlMs)
        .exec();
    await Promise.all([
      this.#redis.set(this.#k.thread(team ?? "-", channel, threadTs), runId, "PX", this.#ttlMs),
      add(this.#k.channelRuns(team ?? "-", channel)),
      add(this.#k.userRuns(team ?? "-", user)),
    ]);
  }

  /** The latest `limit` runs a person asked for, newest first; expired ones are skipped. */
  async runsOfUser(user: string, limit: number, team?: string): Promise<AnalysisRecord[]> {
    const ids = await this.#redis.zrevrange(this.#k.userRuns(team ?? "-", user), 0, limit - 1);
    const records = await Promise.all(ids.map((id) => this.getRun(id)));
    return records.filter((r): r is AnalysisRecord => r !== undefined);
  }

  async getRun(runId: string): Promise<AnalysisRecord | undefined> {
    const hash = await this.#redis.hgetall(this.#k.run(runId));
    if (!hash.runId) return undefined;
    const parsed: Record<string, unknown> = {};
    for (const f of JSON_FIELDS) if (hash[f]) parsed[f] = JSON.parse(hash[f] as string);
    const suggestion = parsed.suggestion as ModeSuggestion | undefined;
    const analyses = (suggestion?.lenses ?? []).flatMap((l) => {
      const raw = hash[`analysis:${l.id}`];
      return raw ? [JSON.parse(raw) as LensAnalysis] : [];
    });
    return {
      runId: hash.runId,
      ...(hash.team && { team: hash.team }),
      channel: hash.channel ?? "",
      threadTs: hash.threadTs ?? "",
      requester: hash.requester ?? "",
      job: parsed.job as AnalysisJob,
      ...(parsed.problem !== undefined && { problem: parsed.problem as Problem }),
      ...(suggestion && { suggestion }),
      analyses,
      ...(parsed.synthesis !== undefined && { synthesis: parsed.synthesis as Synthesis }),
      ...(parsed.synthesisOf !== undefined && { synthesisOf: parsed.synthesisOf as string[] }),
      status: (hash.status ?? "queued") as RunStatus,
      ...(hash.note && { note: hash.note }),
      createdAt: Number(hash.createdAt ?? 0),
      updatedAt: Number(hash.updatedAt ?? 0),
    };
  }

  async #write(runId: string, fields: Record<string, string>): Promise<void> {
    await this.#redis.lensbotWrite(
      this.#k.run(runId),
      this.#ttlMs,
      ...flatten({ ...fields, updatedAt: String(this.#now()) }),
    );
  }

  /** Moves the run to `status`, with an optional note for the status line (cleared when absent). */
  async setStatus(runId: string, status: RunStatus, note = ""): Promise<void> {
    await this.#write(runId, { status, note });
  }

  async saveProblem(runId: string, problem: Problem): Promise<void> {
    await this.#write(runId, { problem: JSON.stringify(problem) });
  }

  /** Saves the suggestion, which lists every lens of the run (a follow-up saves it again with more). */
  async saveSuggestion(runId: string, suggestion: ModeSuggestion): Promise<void> {
    await this.#write(runId, { suggestion: JSON.stringify(suggestion) });
  }

  async saveAnalysis(runId: string, analysis: LensAnalysis): Promise<void> {
    await this.#write(runId, { [`analysis:${analysis.lens_id}`]: JSON.stringify(analysis) });
  }

  /** Saves the synthesis with the lens ids it covers. */
  async saveSynthesis(runId: string, synthesis: Synthesis, lensIds: string[]): Promise<void> {
    await this.#write(runId, { synthesis: JSON.stringify(synthesis), synthesisOf: JSON.stringify(lensIds) });
  }

  /** The latest run in a thread, if any. */
  async runForThread(channel: string, threadTs: string, team?: string): Promise<AnalysisRecord | undefined> {
    const runId = await this.#redis.get(this.#k.thread(team ?? "-", channel, threadTs));
    return runId ? this.getRun(runId) : undefined;
  }

  /** Run records of a channel created in [fromMs, toMs), oldest first; expired ones are skipped. */
  async runsInChannel(
    channel: string,
    fromMs: number,
    toMs: number,
    team?: string,
  ): Promise<AnalysisRecord[]> {
    const ids = await this.#redis.zrangebyscore(
      this.#k.channelRuns(team ?? "-", channel),
      fromMs,
      `(${toMs}`,
    );
    const records = await Promise.all(ids.map((id) => this.getRun(id)));
    return records.filter((r): r is AnalysisRecord => r !== undefined);
  }

  /**
   * Every (team, channel) with run records, found by scanning the channel indexes (SCAN, on every
   * master of a cluster). For the CLI's digests; the Slack app never needs it. Team "-" means
   * records whose team Slack did not say.
   */
  async channelsWithRuns(): Promise<{ team: string; channel: string }[]> {
    const pattern = this.#k.channelRuns("*", "*");
    const [head, tail] = pattern.split("*:*") as [string, string];
    return (await scanKeys(this.#redis, pattern)).flatMap((key) => {
      const [team, channel] = key.slice(head.length, key.length - tail.length).split(":");
      return team && channel ? [{ team, channel }] : [];
    });
  }

  /**
   * Deletes everything kept about one team (when lensbot is uninstalled there or its token is
   * revoked): its runs (record, message slots, votes, lock), their thread, channel and person
   * indexes, and its feedback log.
   * @returns how many runs were deleted.
   */
  async forgetTeam(team: string): Promise<number> {
    const k = this.#k;
    const indexes = (
      await Promise.all(
        [k.channelRuns(team, "*"), k.userRuns(team, "*"), k.thread(team, "*", "*")].map((p) =>
          scanKeys(this.#redis, p),
        ),
      )
    ).flat();
    const runIds = new Set<string>();
    for (const key of indexes) {
      if (key.endsWith(":runs")) for (const id of await this.#redis.zrange(key, 0, -1)) runIds.add(id);
      else {
        const id = await this.#redis.get(key);
        if (id) runIds.add(id);
      }
    }
    for (const id of runIds) {
      // Only this team's runs: a run id found in its indexes is checked against the record.
      const owner = await this.#redis.hget(k.run(id), "team");
      if (owner !== null && owner !== team) continue;
      await this.#redis.del(k.run(id), k.slots(id), k.feedback(id), k.lock(id));
    }
    const remembered = [k.refused(team, "stream"), k.refused(team, "table")];
    for (const key of [...indexes, k.feedbackLog(team), ...remembered]) await this.#redis.del(key);
    return runIds.size;
  }

  /**
   * Remembers for `ttlMs` (default 12 h) that a workspace refused a Slack feature (a streamed
   * plan, a `table` block), so its next runs do not pay for a refused call each. Plans change
   * rarely; after the memory expires the feature is tried again.
   */
  async rememberRefusal(team: string, feature: "stream" | "table", ttlMs = 12 * 3600_000): Promise<void> {
    await this.#redis.set(this.#k.refused(team, feature), String(this.#now()), "PX", ttlMs);
  }

  /** Whether a workspace refused a Slack feature recently (see {@link rememberRefusal}). */
  async refused(team: string, feature: "stream" | "table"): Promise<boolean> {
    return (await this.#redis.exists(this.#k.refused(team, feature))) === 1;
  }

  /**
   * Claims a message slot before posting it, atomically: `claimed` (post it), `posted` (it exists:
   * edit it), `busy` (someone is posting it right now) or `stale` (claimed more than `staleMs` ago,
   * or earlier by this same owner, and no ts recorded: the post may have reached Slack with its
   * reply or its ts lost, so look for the message before posting again). The claim is then this
   * owner's.
   */
  async claimSlot(runId: string, slot: string, owner: string, staleMs = 30_000): Promise<SlotClaim> {
    const [state, value] = await this.#redis.lensbotClaim(
      this.#k.slots(runId),
      slot,
      owner,
      this.#now(),
      staleMs,
      this.#ttlMs,
    );
    if (state === "posted") return { state, ts: value ?? "" };
    if (state === "stale") return { state, owner: value ?? "" };
    return { state: state === "claimed" ? "claimed" : "busy" };
  }

  /**
   * Remembers a trigger (a Slack delivery, a click) for `ttlMs`.
   * @returns true the first time; false for a duplicate within the window.
   */
  async claimTrigger(key: string, ttlMs: number): Promise<boolean> {
    return (await this.#redis.set(this.#k.trigger(key), "1", "PX", ttlMs, "NX")) === "OK";
  }

  /** Forgets a trigger, so the same one counts as new again (after the work it started failed). */
  async forgetTrigger(key: string): Promise<void> {
    await this.#redis.del(this.#k.trigger(key));
  }

  /** Records the ts of a posted slot (ending its claim). */
  async saveMessageTs(runId: string, slot: string, ts: string): Promise<void> {
    await this.#redis
      .multi()
      .hset(this.#k.slots(runId), slot, `ts:${ts}`)
      .pexpire(this.#k.slots(runId), this.#ttlMs)
      .exec();
  }

  /**
   * Whether the run's status slot is a streamed message (chat.startStream) still open for
   * appends, or one that was stopped; undefined when it is an ordinary message or not posted.
   */
  async streamState(runId: string): Promise<"open" | "closed" | undefined> {
    const v = await this.#redis.hget(this.#k.slots(runId), "stream");
    return v === "open" || v === "closed" ? v : undefined;
  }

  async setStreamState(runId: string, state: "open" | "closed"): Promise<void> {
    await this.#redis
      .multi()
      .hset(this.#k.slots(runId), "stream", state)
      .pexpire(this.#k.slots(runId), this.#ttlMs)
      .exec();
  }

  /** The ts of the message posted in `slot` for this run, if any. */
  async messageTs(runId: string, slot: string): Promise<string | undefined> {
    const v = await this.#redis.hget(this.#k.slots(runId), slot);
    return v?.startsWith("ts:") ? v.slice(3) : undefined;
  }

  /**
   * Takes the run's lock for `token` (or renews it when `token` already holds it), for `ttlMs`.
   * @returns false when another token holds it.
   */
  async lockRun(runId: string, token: string, ttlMs: number): Promise<boolean> {
    return (await this.#redis.lensbotLock(this.#k.lock(runId), token, ttlMs)) === 1;
  }

  /** Releases the run's lock if `token` holds it. */
  async unlockRun(runId: string, token: string): Promise<void> {
    await this.#redis.lensbotUnlock(this.#k.lock(runId), token);
  }

  /**
   * Records one person's 👍/👎 on one card of a run (`target`: a lens id, or "synthesis"): the
   * card's vote per person (a later vote replaces theirs) and an event with who and when in the
   * team's feedback log, which `feedbackSince` reads.
   */
  async recordVote(runId: string, target: string, userId: string, vote: Vote, team?: string): Promise<void> {
    const at = this.#now();
    const log = this.#k.feedbackLog(team ?? "-");
    const event: FeedbackEvent = { runId, target, userId, vote, at };
    await Promise.all([
      this.#redis
        .multi()
        .hset(this.#k.feedback(runId), `${target}:${userId}`, vote)
        .pexpire(this.#k.feedback(runId), this.#ttlMs)
        .exec(),
      this.#redis
        .multi()
        .zadd(log, at, JSON.stringify(event))
        .zremrangebyscore(log, "-inf", `(${at - this.#ttlMs}`)
        .pexpire(log, this.#ttlMs)
        .exec(),
    ]);
  }

  /**
   * A team's feedback since `fromMs`, the latest vote of each person on each card only (a changed
   * mind counts once), oldest first.
   */
  async feedbackSince(fromMs: number, team?: string): Promise<FeedbackEvent[]> {
    const raw = await this.#redis.zrangebyscore(this.#k.feedbackLog(team ?? "-"), fromMs, "+inf");
    const latest = new Map<string, FeedbackEvent>();
    for (const line of raw) {
      const e = JSON.parse(line) as FeedbackEvent;
      latest.set(`${e.runId}|${e.target}|${e.userId}`, e);
    }
    return [...latest.values()].sort((a, b) => a.at - b.at);
  }

  /** Votes on one lens card: counts of up and down. */
  async votes(runId: string, lensId: string): Promise<{ up: number; down: number }> {
    const all = await this.#redis.hgetall(this.#k.feedback(runId));
    let up = 0;
    let down = 0;
    for (const [field, vote] of Object.entries(all)) {
      if (!field.startsWith(`${lensId}:`)) continue;
      if (vote === "up") up++;
      else if (vote === "down") down++;
    }
    return { up, down };
  }
}

function flatten(fields: Record<string, string>): string[] {
  return Object.entries(fields).flat();
}

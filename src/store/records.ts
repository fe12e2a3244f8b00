import type { Redis } from "ioredis";
import type { LensAnalysis, ModeSuggestion, Problem, Synthesis } from "../pipeline/schemas.js";
import type { AnalysisJob } from "../queue/jobs.js";
import { keys } from "./keys.js";

/** What lensbot remembers of one run in one thread (follow-ups and digests read it). */
export interface AnalysisRecord {
  runId: string;
  channel: string;
  threadTs: string;
  requester: string;
  job: AnalysisJob;
  problem?: Problem;
  suggestion?: ModeSuggestion;
  analyses: LensAnalysis[];
  synthesis?: Synthesis;
  status: "queued" | "running" | "done" | "failed";
  /** ms since the epoch */
  createdAt: number;
  updatedAt: number;
}

export type Vote = "up" | "down";

/**
 * Redis-backed records: analyses per run (with a retention TTL), the ts of every message a run
 * posted (so a retried job edits instead of re-posting), and 👍/👎 feedback per lens card.
 */
export class RecordStore {
  readonly #redis: Redis;
  readonly #k: ReturnType<typeof keys>;
  readonly #ttlSeconds: number;

  /** @param ttlSeconds how long records live after their last write (default 30 days). */
  constructor(redis: Redis, options: { prefix?: string; ttlSeconds?: number } = {}) {
    this.#redis = redis;
    this.#k = keys(options.prefix ?? "lensbot");
    this.#ttlSeconds = options.ttlSeconds ?? 30 * 86_400;
  }

  async getRun(runId: string): Promise<AnalysisRecord | undefined> {
    const raw = await this.#redis.get(this.#k.run(runId));
    return raw ? (JSON.parse(raw) as AnalysisRecord) : undefined;
  }

  /** Writes the record and indexes it by thread and by channel (time-ordered). */
  async putRun(record: AnalysisRecord): Promise<void> {
    await this.#redis
      .multi()
      .set(this.#k.run(record.runId), JSON.stringify(record), "EX", this.#ttlSeconds)
      .set(this.#k.thread(record.channel, record.threadTs), record.runId, "EX", this.#ttlSeconds)
      .zadd(this.#k.channelRuns(record.channel), record.createdAt, record.runId)
      .exec();
  }

  /** Applies `change` to the stored record (or `initial` when none exists) and saves it. */
  async updateRun(
    runId: string,
    initial: () => AnalysisRecord,
    change: (r: AnalysisRecord) => void,
    now = Date.now(),
  ): Promise<AnalysisRecord> {
    const record = (await this.getRun(runId)) ?? initial();
    change(record);
    record.updatedAt = now;
    await this.putRun(record);
    return record;
  }

  /** The latest run in a thread, if any. */
  async runForThread(channel: string, threadTs: string): Promise<AnalysisRecord | undefined> {
    const runId = await this.#redis.get(this.#k.thread(channel, threadTs));
    return runId ? this.getRun(runId) : undefined;
  }

  /** Run records of a channel created in [fromMs, toMs), oldest first; expired ones are skipped. */
  async runsInChannel(channel: string, fromMs: number, toMs: number): Promise<AnalysisRecord[]> {
    const ids = await this.#redis.zrangebyscore(this.#k.channelRuns(channel), fromMs, `(${toMs}`);
    const records = await Promise.all(ids.map((id) => this.getRun(id)));
    return records.filter((r): r is AnalysisRecord => r !== undefined);
  }

  /** The ts of the message posted in `slot` for this run, if any. */
  async messageTs(runId: string, slot: string): Promise<string | undefined> {
    return (await this.#redis.hget(this.#k.messages(runId), slot)) ?? undefined;
  }

  async saveMessageTs(runId: string, slot: string, ts: string): Promise<void> {
    await this.#redis
      .multi()
      .hset(this.#k.messages(runId), slot, ts)
      .expire(this.#k.messages(runId), this.#ttlSeconds)
      .exec();
  }

  /**
   * Claims a slot before posting, so two deliveries of one trigger cannot both post.
   * @returns true when this caller claimed it (and should post).
   */
  async claimSlot(runId: string, slot: string): Promise<boolean> {
    const results = await this.#redis
      .multi()
      .hsetnx(this.#k.messages(runId), `claim:${slot}`, "1")
      .expire(this.#k.messages(runId), this.#ttlSeconds)
      .exec();
    return results?.[0]?.[1] === 1;
  }

  async recordVote(runId: string, lensId: string, userId: string, vote: Vote): Promise<void> {
    await this.#redis
      .multi()
      .hset(this.#k.feedback(runId), `${lensId}:${userId}`, vote)
      .expire(this.#k.feedback(runId), this.#ttlSeconds)
      .exec();
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

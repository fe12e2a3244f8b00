import type { Cluster, Redis } from "ioredis";
import type { Digest } from "../digest/build.js";
import { type DigestConfig, DigestConfigSchema } from "../digest/config.js";
import { keys } from "./keys.js";
import type { Vote } from "./records.js";
import { scanKeys } from "./scan.js";

/** A digest as posted: where it is (its buttons are checked against this) and what it said. */
export interface PostedDigest {
  id: string;
  team: string;
  channel: string;
  /** ts of the digest's channel message. */
  ts: string;
  digest: Digest;
}

/**
 * Retro digests in Redis: one config per (team, channel), kept until turned off, and the digests
 * posted (for their buttons), kept for `ttlSeconds`. What a digest summarises are the run records
 * (`RecordStore.runsInChannel`); nothing of them is copied here except what the posted digest
 * showed.
 */
export class DigestStore {
  readonly #redis: Redis | Cluster;
  readonly #k: ReturnType<typeof keys>;
  readonly #ttlSeconds: number;

  /** @param ttlSeconds how long a posted digest can be voted on and discussed (default 90 days). */
  constructor(redis: Redis | Cluster, options: { prefix?: string; ttlSeconds?: number } = {}) {
    this.#redis = redis;
    this.#k = keys(options.prefix ?? "lensbot");
    this.#ttlSeconds = options.ttlSeconds ?? 90 * 86_400;
  }

  /** The channel's config, if a digest is on. A stored value that no longer parses counts as none. */
  async get(team: string, channel: string): Promise<DigestConfig | undefined> {
    const raw = await this.#redis.get(this.#k.digest(team, channel));
    if (!raw) return undefined;
    const parsed = DigestConfigSchema.safeParse(JSON.parse(raw));
    return parsed.success ? parsed.data : undefined;
  }

  /** Saves a config (validated first). @throws ZodError for an invalid one; nothing is stored then. */
  async save(config: DigestConfig): Promise<void> {
    const valid = DigestConfigSchema.parse(config);
    await this.#redis.set(this.#k.digest(valid.team, valid.channel), JSON.stringify(valid));
    await this.#redis.sadd(this.#k.digestChannels(valid.team), valid.channel);
  }

  async remove(team: string, channel: string): Promise<void> {
    await this.#redis.del(this.#k.digest(team, channel));
    await this.#redis.srem(this.#k.digestChannels(team), channel);
  }

  /** Every digest config of a team (for App Home), by channel id. */
  async listForTeam(team: string): Promise<DigestConfig[]> {
    const channels = (await this.#redis.smembers(this.#k.digestChannels(team))).sort();
    const configs = await Promise.all(channels.map((c) => this.get(team, c)));
    return configs.filter((c): c is DigestConfig => c !== undefined);
  }

  /**
   * Deletes a team's digest configs and the digests posted for it (with their votes).
   * @returns the channels whose digest was on, so their job schedulers can be removed too.
   */
  async forgetTeam(team: string): Promise<string[]> {
    const channels = await this.#redis.smembers(this.#k.digestChannels(team));
    for (const channel of channels) await this.#redis.del(this.#k.digest(team, channel));
    await this.#redis.del(this.#k.digestChannels(team));
    const posted = (await scanKeys(this.#redis, this.#k.digestPost("*"))).filter(
      (key) => !key.endsWith(":feedback"),
    );
    for (const key of posted) {
      if ((await this.#redis.hget(key, "team")) !== team) continue;
      // Two commands: the two keys need not share a cluster slot.
      await this.#redis.del(key);
      await this.#redis.del(`${key}:feedback`);
    }
    return channels;
  }

  /** Remembers a posted digest (same id again: overwritten, e.g. when a retry edited it). */
  async savePosted(posted: PostedDigest): Promise<void> {
    const key = this.#k.digestPost(posted.id);
    await this.#redis
      .multi()
      .hset(key, {
        team: posted.team,
        channel: posted.channel,
        ts: posted.ts,
        digest: JSON.stringify(posted.digest),
      })
      .expire(key, this.#ttlSeconds)
      .exec();
  }

  async getPosted(id: string): Promise<PostedDigest | undefined> {
    const hash = await this.#redis.hgetall(this.#k.digestPost(id));
    if (!hash.ts || !hash.digest) return undefined;
    return {
      id,
      team: hash.team ?? "",
      channel: hash.channel ?? "",
      ts: hash.ts,
      digest: JSON.parse(hash.digest) as Digest,
    };
  }

  /** Records one person's vote on a digest (a later vote replaces theirs). */
  async vote(id: string, userId: string, vote: Vote): Promise<void> {
    const key = this.#k.digestFeedback(id);
    await this.#redis.multi().hset(key, userId, vote).expire(key, this.#ttlSeconds).exec();
  }

  /** Votes on a digest: counts of up and down. */
  async votes(id: string): Promise<{ up: number; down: number }> {
    const all = Object.values(await this.#redis.hgetall(this.#k.digestFeedback(id)));
    return { up: all.filter((v) => v === "up").length, down: all.filter((v) => v === "down").length };
  }
}

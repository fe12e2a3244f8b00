import { createHash } from "node:crypto";
import type Anthropic from "@anthropic-ai/sdk";

/**
 * Orders concurrent requests that share a cached prefix so that only the first one pays to write
 * it. A prompt-cache entry can only be read once the response that writes it has begun, so
 * requests sent at the same moment would each write the same prefix (prompt-caching docs,
 * "cache entries are available after the first response begins"). The first request for a key
 * leads; others with the same key wait until the leader's response has begun (or failed, or
 * `maxWaitMs` passed), then go, and read the prefix from the cache.
 *
 * Keys cover what the service's cache depends on: the model, the output format (changing
 * `output_config.format` invalidates the cache) and every byte up to the last `cache_control`
 * marker. A begun key is remembered for `ttlMs` (less than the cache's 5-minute lifetime).
 */
export class CacheGate {
  readonly #entries = new Map<string, { begun: Promise<void>; at: number }>();
  readonly #ttlMs: number;
  readonly #maxWaitMs: number;
  readonly #now: () => number;

  constructor(options: { ttlMs?: number; maxWaitMs?: number; now?: () => number } = {}) {
    this.#ttlMs = options.ttlMs ?? 4 * 60_000;
    this.#maxWaitMs = options.maxWaitMs ?? 30_000;
    this.#now = options.now ?? Date.now;
  }

  /**
   * Waits until a request with this key may go. Returns `begun` and `failed` for the caller to
   * report its own response's start (a leader's followers are released by it) or failure (the
   * next caller leads instead); both are no-ops for a follower.
   */
  async enter(key: string, signal: AbortSignal): Promise<{ begun(): void; failed(): void }> {
    const now = this.#now();
    const entry = this.#entries.get(key);
    if (entry && now - entry.at < this.#ttlMs) {
      await waitAtMost(entry.begun, this.#maxWaitMs, signal);
      return { begun: () => {}, failed: () => {} };
    }
    let release!: () => void;
    const begun = new Promise<void>((resolve) => {
      release = resolve;
    });
    this.#entries.set(key, { begun, at: now });
    this.#prune(now);
    return {
      begun: () => release(),
      failed: () => {
        if (this.#entries.get(key)?.begun === begun) this.#entries.delete(key);
        release();
      },
    };
  }

  #prune(now: number): void {
    for (const [key, entry] of this.#entries) if (now - entry.at >= this.#ttlMs) this.#entries.delete(key);
  }
}

async function waitAtMost(promise: Promise<void>, ms: number, signal: AbortSignal): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
  });
  const aborted = new Promise<void>((resolve) =>
    signal.addEventListener("abort", () => resolve(), { once: true }),
  );
  try {
    await Promise.race([promise, timeout, aborted]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The cache key of a request (see `CacheGate`), or undefined when nothing in it is marked for
 * caching: a SHA-256 over the model, the output format and the text up to the last marker.
 */
export function cacheKey(
  model: string,
  system: readonly Anthropic.TextBlockParam[],
  messages: readonly Anthropic.MessageParam[],
  format: unknown,
): string | undefined {
  const blocks: { text: string; marked: boolean }[] = system.map((b) => ({
    text: b.text,
    marked: b.cache_control != null,
  }));
  for (const m of messages) {
    if (typeof m.content === "string") blocks.push({ text: m.content, marked: false });
    else
      for (const c of m.content)
        blocks.push({
          text: c.type === "text" ? c.text : c.type,
          marked: "cache_control" in c && c.cache_control != null,
        });
  }
  const last = blocks.map((b) => b.marked).lastIndexOf(true);
  if (last < 0) return undefined;
  const hash = createHash("sha256").update(model).update("\0").update(JSON.stringify(format)).update("\0");
  for (const b of blocks.slice(0, last + 1)) hash.update(b.text).update("\0");
  return hash.digest("hex");
}

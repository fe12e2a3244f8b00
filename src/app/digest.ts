import { createHash } from "node:crypto";
import type { WebClient } from "@slack/web-api";
import type { Catalogue } from "../catalogue/catalogue.js";
import type { Library } from "../catalogue/graph.js";
import { buildDigest, type Digest, type DigestScope, retroRequest } from "../digest/build.js";
import { offlineRetro } from "../engines/offline/engine.js";
import type { Engine } from "../pipeline/ports.js";
import { digestMessages } from "../slack/blocks/digest.js";
import { ThreadPublisher } from "../slack/publisher.js";
import { withRateLimit } from "../slack/rate-limit.js";
import type { DigestStore } from "../store/digests.js";
import type { AnalysisRecord, RecordStore } from "../store/records.js";

/** How many periods back "earlier" reaches, for actions that came back. */
const EARLIER_PERIODS = 4;

/**
 * Every run record of `sources` created in [from, to), oldest first, each once (a run is indexed
 * under the one channel it ran in, so sources never overlap; the check is cheap insurance).
 */
async function recordsOf(
  records: RecordStore,
  team: string,
  sources: readonly string[],
  from: number,
  to: number,
): Promise<AnalysisRecord[]> {
  if (to <= from) return [];
  const lists = await Promise.all(sources.map((c) => records.runsInChannel(c, from, to, team)));
  const seen = new Set<string>();
  return lists
    .flat()
    .filter((r) => !seen.has(r.runId) && seen.add(r.runId))
    .sort((a, b) => a.createdAt - b.createdAt);
}

/**
 * Builds the digest of a period from the run records: the period itself, the period of the same
 * length before it (for up/down) and the four before that (for actions that came back), with the
 * 👍/👎 people gave its analyses' cards; then,
 * when given, each analysis's thread link and the engine's cross-analysis retro. A retro the
 * engine cannot give (model down, malformed answer) falls back to the offline retro, labelled
 * as such; the digest is never lost to it.
 * @throws Redis errors as they come (the caller's job is retried).
 */
export async function collectDigest(
  deps: {
    records: RecordStore;
    library: Library;
    engine?: Engine;
    permalink?: (channel: string, ts: string) => Promise<string | undefined>;
    logger?: { warn(o: object, msg?: string): void };
    signal?: AbortSignal;
  },
  scope: DigestScope,
): Promise<Digest> {
  const { start, end } = scope.period;
  const length = end - start;
  const [current, previous, earlier, feedback] = await Promise.all([
    recordsOf(deps.records, scope.team, scope.sources, start, end),
    recordsOf(deps.records, scope.team, scope.sources, start - length, start),
    recordsOf(deps.records, scope.team, scope.sources, start - EARLIER_PERIODS * length, start),
    deps.records.feedbackSince(start, scope.team),
  ]);
  const digest = buildDigest({ ...scope, current, previous, earlier, feedback }, deps.library);
  if (deps.permalink) {
    const link = deps.permalink;
    for (let i = 0; i < digest.analyses.length; i += 10) {
      await Promise.all(
        digest.analyses.slice(i, i + 10).map(async (a) => {
          const url = await link(a.channel, a.threadTs).catch(() => undefined);
          if (url) a.permalink = url;
        }),
      );
    }
  }
  if (digest.analyses.length > 0) {
    const req = retroRequest(digest);
    try {
      digest.retro = deps.engine
        ? await deps.engine.retro(req, { signal: deps.signal ?? new AbortController().signal })
        : offlineRetro(req, deps.library.catalogue);
    } catch (err) {
      if (deps.signal?.aborted) throw err;
      deps.logger?.warn(
        { err: err instanceof Error ? err.message : String(err), team: scope.team, channel: scope.channel },
        "the engine's retro failed; using the offline retro",
      );
      digest.retro = offlineRetro(req, deps.library.catalogue);
    }
  }
  return digest;
}

/** The id of the scheduled digest of one channel for the period ending at `endMs`. */
export function digestId(team: string, channel: string, endMs: number): string {
  return `digest-${createHash("sha256").update(`${team}:${channel}:${endMs}`).digest("hex").slice(0, 24)}`;
}

/** The permalink of a message (a thread's root), through the Web API, rate limits waited out. */
export function permalinkFor(client: WebClient) {
  return async (channel: string, ts: string): Promise<string | undefined> =>
    (await withRateLimit(() => client.chat.getPermalink({ channel, message_ts: ts }))).permalink;
}

/**
 * Posts a digest in its channel, idempotently under `id`: the main message at the top of the
 * channel and, when it left things out, the full lists as a reply in its thread. A retried job
 * edits what it posted before instead of posting again (see `ThreadPublisher`). The posted digest
 * is remembered for its buttons.
 * @returns the ts of the main message.
 * @throws SlackError when Slack refuses a post (e.g. `not_in_channel` after lensbot was removed).
 */
export async function postDigest(
  deps: {
    client: WebClient;
    records: RecordStore;
    digests: DigestStore;
    catalogue: Catalogue;
    owner: string;
  },
  digest: Digest,
  id: string,
): Promise<string> {
  const { main, more } = digestMessages(digest, id);
  const base = { client: deps.client, store: deps.records, catalogue: deps.catalogue, owner: deps.owner };
  const [ts] = await new ThreadPublisher(base, { runId: id, channel: digest.channel }).publish("digest", [
    main,
  ]);
  if (!ts) throw new Error("the digest was not posted");
  await deps.digests.savePosted({ id, team: digest.team, channel: digest.channel, ts, digest });
  if (more.length > 0) {
    await new ThreadPublisher(base, { runId: id, channel: digest.channel, threadTs: ts }).publish(
      "more",
      more,
    );
  }
  return ts;
}

import type { WebClient } from "@slack/web-api";
import type { Library } from "../catalogue/graph.js";
import { headlineOf } from "../digest/build.js";
import type { LogSink } from "../logger.js";
import { type Browse, HOME_RECENT, homeView } from "../slack/blocks/home.js";
import { withRateLimit } from "../slack/rate-limit.js";
import type { DigestStore } from "../store/digests.js";
import type { RecordStore } from "../store/records.js";

/**
 * Publishes a person's App Home (`views.publish`): their recent analyses with links to their
 * threads, the digests of public channels they are in, and the lens library. Called when they
 * open the tab, when they browse in it, and after each of their runs completes.
 */
export class HomeTab {
  readonly #deps: { records: RecordStore; digests: DigestStore; library: Library; logger: LogSink };

  constructor(deps: { records: RecordStore; digests: DigestStore; library: Library; logger: LogSink }) {
    this.#deps = deps;
  }

  /**
   * Builds and publishes the view. A part that cannot be read (a permalink, the person's
   * channels) is left out rather than failing the whole tab.
   * @throws Web API errors of `views.publish` (rate limits are waited out).
   */
  async publish(client: WebClient, team: string | undefined, user: string, browse?: Browse): Promise<void> {
    const { records, digests, library } = this.#deps;
    const [runs, configs, channels] = await Promise.all([
      records.runsOfUser(user, HOME_RECENT, team),
      team ? digests.listForTeam(team) : Promise.resolve([]),
      this.#channelsOf(client, user),
    ]);
    const recent = await Promise.all(
      runs.map(async (r) => ({
        headline: headlineOf(r),
        lenses: (r.suggestion?.lenses ?? []).map((l) => l.name),
        channel: r.channel,
        status: r.status,
        createdAt: r.createdAt,
        permalink: await withRateLimit(() =>
          client.chat.getPermalink({ channel: r.channel, message_ts: r.threadTs }),
        )
          .then((res) => res.permalink)
          .catch(() => undefined),
      })),
    );
    const view = homeView({
      recent,
      digests: configs.filter((c) => channels.has(c.channel)),
      ...(browse && { browse }),
      library,
    });
    await withRateLimit(() => client.views.publish({ user_id: user, view }));
  }

  /** The public channels the person is in (`users.conversations`), or none if Slack will not say. */
  async #channelsOf(client: WebClient, user: string): Promise<Set<string>> {
    try {
      const res = await withRateLimit(() =>
        client.users.conversations({ user, types: "public_channel", exclude_archived: true, limit: 999 }),
      );
      return new Set((res.channels ?? []).flatMap((c) => (c.id ? [c.id] : [])));
    } catch (err) {
      this.#deps.logger.warn(
        { err: (err as Error).message },
        "could not list a person's channels for App Home",
      );
      return new Set();
    }
  }
}

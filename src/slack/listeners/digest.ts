import type { App, BlockAction, ButtonAction, RespondFn, SlashCommand } from "@slack/bolt";
import type { WebClient } from "@slack/web-api";
import type { Queue } from "bullmq";
import { periodLabel, when } from "../../digest/build.js";
import {
  DIGEST_USAGE,
  type DigestCommand,
  type DigestConfig,
  describeSchedule,
  fireTimes,
  isTimeZone,
  lastPeriod,
  nextFire,
  parseDigestCommand,
} from "../../digest/config.js";
import type { LogSink } from "../../logger.js";
import { enqueueDigestNow, scheduleDigest, unscheduleDigest } from "../../queue/digest.js";
import { dedupeKey } from "../../queue/jobs.js";
import type { DigestStore, PostedDigest } from "../../store/digests.js";
import type { RecordStore } from "../../store/records.js";
import { DIGEST_ACTIONS, discussionMessage } from "../blocks/digest.js";
import { withRateLimit } from "../rate-limit.js";
import { withTimeout } from "../timeout.js";

export interface DigestListenerDeps {
  /** The digest queue (its job schedulers live there). */
  queue: Queue;
  digests: DigestStore;
  /** For remembering clicks (a discussion is opened once). */
  records: RecordStore;
  logger: LogSink;
  now: () => number;
  /** How long one Redis step may take before the person is told storage is away (ms). */
  redisTimeoutMs: number;
}

/** Whether `/lens <text>` is a digest command (the rest of /lens is a problem to analyse). */
export const isDigestCommand = (text: string) => /^\s*digest(\s|$)/i.test(text);

const STORAGE_AWAY =
  "Sorry, my storage did not answer just now, so nothing was recorded. Please try again in a minute.";

/** Something the person did wrong or cannot do: told to them alone, and nothing changed. */
class Refusal extends Error {}

const channelList = (ids: readonly string[]) => ids.map((id) => `<#${id}>`).join(", ");

/**
 * `/lens digest …` in a channel: configure that channel's retro digest. Acknowledges at once;
 * every outcome is answered to the person (ephemeral, through the response URL), and every
 * change is also posted in the channel, naming who made it, so everyone there sees it; when that
 * post fails (lensbot is not in the channel), the change is undone. Nonsense gets what was
 * expected, and nothing is stored.
 *
 * Who may configure: Slack only delivers a slash command from a channel's composer, so the
 * person can post in that channel (in a posting-restricted channel, only those allowed can).
 */
export async function digestCommand(
  deps: DigestListenerDeps,
  args: {
    command: SlashCommand;
    ack: (r?: { response_type: "ephemeral"; text: string }) => Promise<void>;
    client: WebClient;
    respond: RespondFn;
  },
): Promise<void> {
  const { command, ack, client, respond } = args;
  const parsed = parseDigestCommand(command.text.replace(/^\s*digest/i, ""));
  if (parsed.action === "help") {
    await ack({ response_type: "ephemeral", text: DIGEST_USAGE });
    return;
  }
  if (parsed.action === "error") {
    await ack({
      response_type: "ephemeral",
      text: `${parsed.error}\nType \`/lens digest help\` for every option.`,
    });
    return;
  }
  if (command.channel_id.startsWith("D")) {
    await ack({
      response_type: "ephemeral",
      text: "Digests are posted in channels: run `/lens digest on` in the channel that should get it.",
    });
    return;
  }
  await ack();
  const tell = (text: string) =>
    respond({ response_type: "ephemeral", replace_original: false, text }).catch((err: Error) =>
      deps.logger.warn({ err: err.message }, "could not answer a digest command"),
    );
  try {
    await tell(await run(deps, client, command, parsed));
  } catch (err) {
    if (err instanceof Refusal) {
      await tell(err.message);
      return;
    }
    const ref = command.trigger_id.slice(-8);
    deps.logger.error(
      { err, team: command.team_id, channel: command.channel_id, ref },
      "digest command failed",
    );
    await tell(
      `Sorry, I could not do that just now, so nothing was changed. Please try again in a minute (reference ${ref}).`,
    );
  }
}

async function run(
  deps: DigestListenerDeps,
  client: WebClient,
  command: SlashCommand,
  cmd: Exclude<DigestCommand, { action: "help" | "error" }>,
): Promise<string> {
  const team = command.team_id;
  const channel = command.channel_id;
  const user = command.user_id;
  const redis = <T>(p: Promise<T>) => withTimeout(p, deps.redisTimeoutMs, "Redis");
  const current = await redis(deps.digests.get(team, channel));
  const needsOn = () => {
    if (!current)
      throw new Refusal(
        "No digest is on in this channel. Turn one on first: `/lens digest on weekly mon 09:30`.",
      );
    return current;
  };

  switch (cmd.action) {
    case "status": {
      if (!current) return `No digest is on in this channel.\n${DIGEST_USAGE}`;
      return [
        `This channel gets a retro digest ${describeSchedule(current)}, from ${channelList(current.sources)}${current.quiet ? ", skipping empty periods" : ""}.`,
        `Next: ${when(nextFire(current, deps.now()), current.tz)}. Last changed by <@${current.configuredBy}>.`,
      ].join("\n");
    }
    case "on": {
      const tz = await timeZoneOf(client, user);
      const base = current ?? { sources: [channel], quiet: false };
      const draft = {
        team,
        channel,
        cadence: cmd.cadence,
        ...(cmd.weekday !== undefined && { weekday: cmd.weekday }),
        ...(cmd.monthDay !== undefined && { monthDay: cmd.monthDay }),
        time: cmd.time,
        tz,
        sources: base.sources,
        quiet: base.quiet,
        anchorMs: 0,
        configuredBy: user,
        updatedAt: deps.now(),
      } satisfies DigestConfig;
      const config = { ...draft, anchorMs: fireTimes(draft, deps.now()).next };
      await change(
        deps,
        client,
        current,
        config,
        `📅 <@${user}> turned on a retro digest here: ${describeSchedule(config)}, from ${channelList(config.sources)}. The first one comes ${when(config.anchorMs, tz)}. (\`/lens digest help\` for the options.)`,
      );
      return `Done: ${describeSchedule(config)} (your Slack time zone). Next digest: ${when(config.anchorMs, tz)}.`;
    }
    case "sources": {
      const on = needsOn();
      for (const id of cmd.channels) if (id !== channel) await checkSource(client, id);
      const config = { ...on, sources: cmd.channels, configuredBy: user, updatedAt: deps.now() };
      await change(
        deps,
        client,
        on,
        config,
        `📅 <@${user}> set this channel's retro digest to gather analyses from ${channelList(config.sources)}.`,
      );
      return `Done: the digest now gathers analyses from ${channelList(config.sources)}.`;
    }
    case "quiet": {
      const on = needsOn();
      const config = { ...on, quiet: cmd.quiet, configuredBy: user, updatedAt: deps.now() };
      const what = cmd.quiet
        ? "skips periods without analyses"
        : "posts a short note for periods without analyses";
      await change(
        deps,
        client,
        on,
        config,
        `📅 <@${user}> changed this channel's retro digest: it now ${what}.`,
      );
      return `Done: the digest now ${what}.`;
    }
    case "off": {
      const on = needsOn();
      await change(deps, client, on, undefined, `📅 <@${user}> turned off this channel's retro digest.`);
      return "Done: the digest is off. Earlier digests stay where they are.";
    }
    case "now": {
      const on = needsOn();
      const period = lastPeriod(on, deps.now());
      await redis(
        enqueueDigestNow(deps.queue, dedupeKey("digest", command.trigger_id), {
          team,
          channel,
          period,
          requestedBy: user,
          responseUrl: command.response_url,
        }),
      );
      return `Posting the digest of ${periodLabel({ period, tz: on.tz })} here in a moment.`;
    }
  }
}

/** The person's Slack time zone (`users.info` → `tz`). */
async function timeZoneOf(client: WebClient, user: string): Promise<string> {
  const res = await withRateLimit(() => client.users.info({ user }));
  const tz = res.user?.tz;
  if (!tz || !isTimeZone(tz)) {
    throw new Refusal(
      "I could not read a time zone from your Slack profile. Set one in your profile (Preferences → Language & region) and try again.",
    );
  }
  return tz;
}

/**
 * A source other than the digest's own channel must be a channel lensbot can see and a public
 * one: a private channel's analyses never leave it.
 */
async function checkSource(client: WebClient, id: string): Promise<void> {
  let info: { is_private?: boolean; is_im?: boolean; is_mpim?: boolean } | undefined;
  try {
    info = (await withRateLimit(() => client.conversations.info({ channel: id }))).channel;
  } catch (err) {
    const code = (err as { data?: { error?: string } }).data?.error;
    if (code === "channel_not_found") {
      throw new Refusal(
        `I cannot find <#${id}>: pick channels from Slack's autocomplete. Nothing was changed.`,
      );
    }
    throw err;
  }
  if (!info || info.is_private || info.is_im || info.is_mpim) {
    throw new Refusal(
      `<#${id}> is private, so its analyses stay there: only public channels (or this one) can feed a digest. Nothing was changed.`,
    );
  }
}

/**
 * Applies a change of the channel's digest (`next` undefined: off): the config in Redis, then the
 * job scheduler, then the notice in the channel. If the notice cannot be posted (lensbot is not in
 * the channel), the previous config and schedule are put back and the person is told why.
 */
async function change(
  deps: DigestListenerDeps,
  client: WebClient,
  previous: DigestConfig | undefined,
  next: DigestConfig | undefined,
  notice: string,
): Promise<void> {
  const redis = <T>(p: Promise<T>) => withTimeout(p, deps.redisTimeoutMs, "Redis");
  const apply = async (config: DigestConfig | undefined, team: string, channel: string) => {
    if (config) {
      await redis(deps.digests.save(config));
      await redis(scheduleDigest(deps.queue, config));
    } else {
      await redis(unscheduleDigest(deps.queue, team, channel));
      await redis(deps.digests.remove(team, channel));
    }
  };
  const where = (next ?? previous) as DigestConfig;
  await apply(next, where.team, where.channel);
  try {
    await withRateLimit(() =>
      client.chat.postMessage({
        channel: where.channel,
        text: notice,
        unfurl_links: false,
        unfurl_media: false,
      }),
    );
  } catch (err) {
    await apply(previous, where.team, where.channel);
    const code = (err as { data?: { error?: string } }).data?.error;
    if (code === "not_in_channel" || code === "channel_not_found") {
      throw new Refusal(
        "I am not in this channel, so I could not post digests here. Invite me first (`/invite @lensbot`), then run the command again. Nothing was changed.",
      );
    }
    throw err;
  }
}

/**
 * The digest buttons: 👍/👎 (one vote per person, a later one replaces theirs) and "Discuss in
 * thread" (opens the discussion once, in the digest's thread, with its retro questions). Each
 * click is checked against the posted digest it names: same team, channel and message, else the
 * person is told and nothing happens.
 */
export function registerDigestActions(app: App, deps: DigestListenerDeps): void {
  const authorised = async (
    body: BlockAction,
    id: string,
    respond: RespondFn,
  ): Promise<PostedDigest | undefined> => {
    const say = (text: string) =>
      respond({ response_type: "ephemeral", replace_original: false, text }).catch(() => {});
    let posted: PostedDigest | undefined;
    try {
      posted = await withTimeout(deps.digests.getPosted(id), deps.redisTimeoutMs, "Redis");
    } catch (err) {
      deps.logger.error({ err, digestId: id }, "could not read a posted digest");
      await say(STORAGE_AWAY);
      return undefined;
    }
    const messageTs = (body.message as { ts?: string } | undefined)?.ts;
    if (
      posted &&
      posted.team === body.team?.id &&
      posted.channel === body.channel?.id &&
      posted.ts === messageTs
    ) {
      return posted;
    }
    deps.logger.warn(
      { digestId: id, team: body.team?.id, channel: body.channel?.id, user: body.user?.id },
      "refused a digest action",
    );
    await say(
      posted
        ? "That button belongs to another digest, so I did nothing."
        : "That digest has expired or does not exist, so I did nothing.",
    );
    return undefined;
  };

  app.action<BlockAction<ButtonAction>>(
    /^digest_feedback_(up|down)$/,
    async ({ ack, body, action, respond }) => {
      await ack();
      const posted = await authorised(body, action.value ?? "", respond);
      if (!posted) return;
      const vote = action.action_id === DIGEST_ACTIONS.up ? "up" : "down";
      try {
        await withTimeout(deps.digests.vote(posted.id, body.user.id, vote), deps.redisTimeoutMs, "Redis");
      } catch (err) {
        deps.logger.error({ err, digestId: posted.id }, "could not record a digest vote");
        await respond({ response_type: "ephemeral", replace_original: false, text: STORAGE_AWAY }).catch(
          () => {},
        );
        return;
      }
      await respond({
        response_type: "ephemeral",
        replace_original: false,
        text:
          vote === "up"
            ? "Thanks! Noted 👍 for this digest."
            : "Thanks, noted 👎. It helps us tune what digests show.",
      }).catch(() => {});
    },
  );

  app.action<BlockAction<ButtonAction>>(
    DIGEST_ACTIONS.discuss,
    async ({ ack, body, action, client, respond }) => {
      await ack();
      const posted = await authorised(body, action.value ?? "", respond);
      if (!posted) return;
      const first = await withTimeout(
        deps.records.claimTrigger(`discuss:${posted.id}`, 90 * 86_400_000),
        deps.redisTimeoutMs,
        "Redis",
      ).catch(() => undefined);
      if (first === undefined) {
        await respond({ response_type: "ephemeral", replace_original: false, text: STORAGE_AWAY }).catch(
          () => {},
        );
        return;
      }
      if (!first) {
        await respond({
          response_type: "ephemeral",
          replace_original: false,
          text: "The discussion is already open in this digest's thread.",
        }).catch(() => {});
        return;
      }
      const message = discussionMessage(posted.digest, body.user.id);
      try {
        await withRateLimit(() =>
          client.chat.postMessage({
            channel: posted.channel,
            thread_ts: posted.ts,
            ...message,
            unfurl_links: false,
            unfurl_media: false,
          }),
        );
      } catch (err) {
        deps.logger.error({ err, digestId: posted.id }, "could not open a digest discussion");
        await deps.records.forgetTrigger(`discuss:${posted.id}`).catch(() => {});
        await respond({
          response_type: "ephemeral",
          replace_original: false,
          text: "Sorry, I could not post in this digest's thread just now. Please try again in a minute.",
        }).catch(() => {});
      }
    },
  );
}

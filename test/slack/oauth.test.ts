/**
 * Installs in many workspaces, through the real runtime (`start` with SLACK_CLIENT_ID): Bolt's
 * /slack/install and /slack/oauth_redirect against the fake's `oauth.v2.access`, installations
 * sealed in Redis, each workspace answered with its own bot token by the listeners and the
 * worker, one team unable to act on another's runs, and an uninstall that forgets one team while
 * the other keeps working.
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import type { Queue } from "bullmq";
import yaml from "js-yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.js";
import { createDigestQueue } from "../../src/queue/digest.js";
import { queuePrefix } from "../../src/queue/queue.js";
import { connectRedis, type RedisClient, type Running, start } from "../../src/runtime.js";
import { BOT_SCOPES } from "../../src/slack/app.js";
import { keys } from "../../src/store/keys.js";
import { scanKeys } from "../../src/store/scan.js";
import { FakeSlack } from "../fakes/slack.js";
import {
  buttonClick,
  deleteDeployment,
  eventCallback,
  freePort,
  messageText,
  quietLogger,
  REDIS_URL,
  SIGNING_SECRET,
  slashCommand,
  waitFor,
} from "../support/harness.js";

const CLIENT = { clientId: "1111.2222", clientSecret: "oauth-client-secret-for-tests" };
const ACME = { id: "TACME0001", name: "Acme", channel: "CACME0001", user: "UACME0001" };
const GLOBEX = { id: "TGLBX0001", name: "Globex", channel: "CGLBX0001", user: "UGLBX0001" };
const PROBLEM = "our checkout API is stuck at 900 ms despite caching, new indexes and a bigger pool";

let slack: FakeSlack;
let running: Running;
let redis: RedisClient;
let digestQueue: Queue;
let base: string;
const prefix = `oauth-${randomBytes(4).toString("hex")}`;
const k = keys(prefix);

beforeAll(async () => {
  slack = await FakeSlack.start();
  slack.enableOAuth(CLIENT);
  for (const team of [ACME, GLOBEX]) {
    slack.addChannel(team.channel, `eng-${team.name.toLowerCase()}`, { team: team.id, members: [team.user] });
    slack.addUser({
      id: team.user,
      name: team.name.toLowerCase(),
      real_name: `${team.name} Asker`,
      team: team.id,
    });
  }
  const config = loadConfig({
    SLACK_CLIENT_ID: CLIENT.clientId,
    SLACK_CLIENT_SECRET: CLIENT.clientSecret,
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    LENSBOT_TOKEN_KEY: randomBytes(32).toString("base64"),
    SLACK_API_URL: slack.apiUrl,
    REDIS_URL,
    LENSBOT_REDIS_PREFIX: prefix,
    LENSBOT_STREAMING: "off",
    PORT: String(await freePort()),
    LENSBOT_OPS_PORT: "0",
  });
  running = await start(config, quietLogger, { app: true, worker: true });
  base = `http://127.0.0.1:${running.port}`;
  redis = connectRedis(REDIS_URL, "commands");
  digestQueue = createDigestQueue(redis, queuePrefix(prefix));
});

afterAll(async () => {
  await running?.close();
  await digestQueue?.close();
  await redis?.quit();
  await slack?.close();
  await deleteDeployment(REDIS_URL, prefix);
});

/** The browser's part of an install: /slack/install, Slack's consent (the fake), then the redirect. */
async function install(team: { id: string; name: string }) {
  const start = await fetch(`${base}/slack/install`, { redirect: "manual" });
  const authorizeUrl = new URL(start.headers.get("location") ?? "");
  const cookie = (start.headers.get("set-cookie") ?? "").split(";")[0] ?? "";
  const state = authorizeUrl.searchParams.get("state") ?? "";
  const code = slack.authorizeInstall(team);
  const back = await fetch(`${base}/slack/oauth_redirect?code=${code}&state=${encodeURIComponent(state)}`, {
    headers: { cookie },
  });
  return { start, authorizeUrl, cookie, state, back: { status: back.status, text: await back.text() } };
}

/** Runs /lens in a team's channel and waits for its analysis to finish; returns the thread. */
async function lensIn(team: typeof ACME, text = PROBLEM) {
  const before = slack.messages(team.channel).length;
  const res = await slashCommand(`${base}/slack/events`, text, {
    team_id: team.id,
    channel_id: team.channel,
    user_id: team.user,
  });
  expect(res.status).toBe(200);
  const root = await waitFor(
    () =>
      slack
        .messages(team.channel)
        .slice(before)
        .find((m) => m.text.includes("checkout API")),
    10_000,
    `the /lens root in ${team.name}`,
  );
  await waitFor(
    () => slack.thread(team.channel, root.ts).some((m) => /\*Done\*/.test(messageText(m))),
    20_000,
    `the analysis in ${team.name} to finish`,
  );
  return root.ts;
}

describe("OAuth installs in two workspaces", () => {
  it("installs through /slack/install and /slack/oauth_redirect, with a single-use state and sealed tokens", async () => {
    const acme = await install(ACME);
    expect(acme.start.status).toBe(302);
    expect(acme.authorizeUrl.origin + acme.authorizeUrl.pathname).toBe(
      "https://slack.com/oauth/v2/authorize",
    );
    expect(acme.authorizeUrl.searchParams.get("client_id")).toBe(CLIENT.clientId);
    expect(acme.authorizeUrl.searchParams.get("scope")?.split(",")).toEqual(BOT_SCOPES);
    expect(acme.back.status).toBe(200);
    expect(acme.back.text).toContain("Thank you");
    const globex = await install(GLOBEX);
    expect(globex.back.status).toBe(200);

    const [acmeToken] = slack.tokensOf(ACME.id);
    const [globexToken] = slack.tokensOf(GLOBEX.id);
    expect(acmeToken).toMatch(/^xoxb-TACME0001-/);
    expect(globexToken).toMatch(/^xoxb-TGLBX0001-/);
    const sealed = await redis.get(k.installation(`T:${ACME.id}`));
    expect(sealed).toMatch(/^v1\./);
    expect(sealed).not.toContain(acmeToken);
    expect(sealed).not.toContain("Acme");
    expect(await redis.exists(k.installation(`T:${GLOBEX.id}`))).toBe(1);

    // The state is gone once used: replaying the redirect installs nothing.
    const code = slack.authorizeInstall(ACME);
    const replay = await fetch(
      `${base}/slack/oauth_redirect?code=${code}&state=${encodeURIComponent(acme.state)}`,
      { headers: { cookie: acme.cookie } },
    );
    expect(replay.status).toBe(400);
    expect(await replay.text()).toContain("slack_oauth_invalid_state");
    // A redirect without the browser's state cookie is refused too.
    const fresh = await fetch(`${base}/slack/install`, { redirect: "manual" });
    const state = new URL(fresh.headers.get("location") ?? "").searchParams.get("state") ?? "";
    const noCookie = await fetch(
      `${base}/slack/oauth_redirect?code=${slack.authorizeInstall(ACME)}&state=${encodeURIComponent(state)}`,
    );
    expect(noCookie.status).toBe(400);
    expect(slack.tokensOf(ACME.id)).toHaveLength(1);
    // The state store keeps states for 10 minutes at most.
    const ttl = await redis.ttl(k.oauthState(state));
    expect(ttl).toBeGreaterThan(500);
    expect(ttl).toBeLessThanOrEqual(600);
  });

  it("answers /lens in each workspace with that workspace's own token", async () => {
    const acmeThread = await lensIn(ACME);
    const globexThread = await lensIn(GLOBEX);
    const [acmeToken] = slack.tokensOf(ACME.id);
    const [globexToken] = slack.tokensOf(GLOBEX.id);
    const posts = slack.calls("chat.postMessage").filter((c) => !c.error);
    const acmePosts = posts.filter((c) => c.args.channel === ACME.channel);
    const globexPosts = posts.filter((c) => c.args.channel === GLOBEX.channel);
    // root, status, mode card, lens cards, synthesis
    expect(acmePosts.length).toBeGreaterThanOrEqual(5);
    expect(globexPosts.length).toBeGreaterThanOrEqual(5);
    expect(new Set(acmePosts.map((c) => c.token))).toEqual(new Set([acmeToken]));
    expect(new Set(globexPosts.map((c) => c.token))).toEqual(new Set([globexToken]));
    // The worker read each thread with its own token too, and no call was refused.
    expect(
      slack.calls().filter((c) => c.error === "invalid_auth" || c.error === "channel_not_found"),
    ).toEqual([]);
    expect(slack.thread(ACME.channel, acmeThread).some((m) => m.bot_id === `B${ACME.id}BOT`)).toBe(true);
    expect(slack.thread(GLOBEX.channel, globexThread).every((m) => m.team === GLOBEX.id)).toBe(true);
  });

  it("refuses a button from one workspace that names another workspace's run", async () => {
    const [acmeRun] = await redis.zrange(k.channelRuns(ACME.id, ACME.channel), 0, 0);
    const record = await redis.hgetall(k.run(acmeRun ?? ""));
    expect(record.team).toBe(ACME.id);
    const triggerId = `forged-${randomBytes(3).toString("hex")}`;
    const jobsBefore = await scanKeys(redis, `${queuePrefix(prefix)}:analysis:*retry*`);
    // Same channel id and thread as the run, but sent by Globex: still another team's record.
    const res = await buttonClick(`${base}/slack/events`, {
      actionId: "retry_analysis",
      value: acmeRun ?? "",
      userId: GLOBEX.user,
      channel: record.channel ?? "",
      messageTs: record.threadTs ?? "",
      threadTs: record.threadTs ?? "",
      triggerId,
      teamId: GLOBEX.id,
      responseUrl: slack.responseUrl(`action-${triggerId}`),
    });
    expect(res.status).toBe(200);
    const answer = await waitFor(
      () => slack.responses().find((r) => r.id === `action-${triggerId}`),
      5_000,
      "the refusal",
    );
    expect(String(answer.body.text)).toContain("belongs to another analysis");
    expect(await scanKeys(redis, `${queuePrefix(prefix)}:analysis:*retry*`)).toEqual(jobsBefore);
  });

  it("forgets a workspace on app_uninstalled (installation, records, digest) and keeps the other working", async () => {
    // A weekly digest in each workspace, so the uninstall has a job scheduler to remove.
    for (const team of [ACME, GLOBEX]) {
      const res = await slashCommand(`${base}/slack/events`, "digest on weekly mon 09:30", {
        team_id: team.id,
        channel_id: team.channel,
        user_id: team.user,
      });
      expect(res.status).toBe(200);
    }
    await waitFor(
      async () => (await digestQueue.getJobSchedulers()).length === 2 || undefined,
      5_000,
      "two digests",
    );
    const acmeKeys = async () =>
      (await scanKeys(redis, `${prefix}:*${ACME.id}*`)).filter((key) => !key.includes(":trigger:"));
    expect((await acmeKeys()).length).toBeGreaterThan(0);
    const acmeRuns = await redis.zrange(k.channelRuns(ACME.id, ACME.channel), 0, -1);
    expect(acmeRuns.length).toBeGreaterThan(0);

    slack.uninstall(ACME.id);
    const res = await eventCallback(
      `${base}/slack/events`,
      { type: "app_uninstalled", event_ts: String(Date.now() / 1000) },
      `Ev${randomBytes(4).toString("hex")}`,
      undefined,
      ACME.id,
    );
    expect(res.status).toBe(200);
    await waitFor(
      async () => ((await redis.exists(k.installation(`T:${ACME.id}`))) === 0 ? true : undefined),
      5_000,
      "Acme's installation to be deleted",
    );
    await waitFor(
      async () => ((await acmeKeys()).length === 0 ? true : undefined),
      5_000,
      "Acme's records to go",
    );
    for (const runId of acmeRuns) expect(await redis.exists(k.run(runId))).toBe(0);
    const schedulers = await waitFor(
      async () => {
        const left = await digestQueue.getJobSchedulers();
        return left.length === 1 ? left : undefined;
      },
      5_000,
      "Acme's digest scheduler to be removed",
    );
    expect(schedulers.map((s) => s.key)).toEqual([expect.stringContaining(GLOBEX.id)]);

    // Globex is untouched and still answered, with its own token.
    expect(await redis.exists(k.installation(`T:${GLOBEX.id}`))).toBe(1);
    expect(await redis.zcard(k.channelRuns(GLOBEX.id, GLOBEX.channel))).toBeGreaterThan(0);
    const thread = await lensIn(GLOBEX);
    const [globexToken] = slack.tokensOf(GLOBEX.id);
    const late = slack.thread(GLOBEX.channel, thread);
    expect(late.length).toBeGreaterThanOrEqual(4);
    expect(
      slack
        .calls("chat.postMessage")
        .filter((c) => c.args.channel === GLOBEX.channel)
        .every((c) => c.token === globexToken),
    ).toBe(true);
  });
});

describe("tokens_revoked", () => {
  const revoked = (tokens: { oauth?: string[]; bot?: string[] }) =>
    eventCallback(
      `${base}/slack/events`,
      { type: "tokens_revoked", tokens, event_ts: String(Date.now() / 1000) },
      `Ev${randomBytes(4).toString("hex")}`,
      undefined,
      GLOBEX.id,
    );

  it("changes nothing for user tokens alone, and forgets the workspace when its bot token goes", async () => {
    expect((await revoked({ oauth: [GLOBEX.user] })).status).toBe(200);
    expect(await redis.exists(k.installation(`T:${GLOBEX.id}`))).toBe(1);
    expect((await revoked({ bot: [`U${GLOBEX.id}BOT`] })).status).toBe(200);
    await waitFor(
      async () =>
        (await redis.exists(k.installation(`T:${GLOBEX.id}`))) === 0 &&
        (await redis.exists(k.channelRuns(GLOBEX.id, GLOBEX.channel))) === 0 &&
        (await digestQueue.getJobSchedulers()).length === 0
          ? true
          : undefined,
      5_000,
      "Globex's installation, runs and digest to be deleted",
    );
  });
});

describe("the scopes lensbot asks for", () => {
  it("are the manifest's bot scopes", () => {
    const manifest = yaml.load(readFileSync(new URL("../../manifest.yml", import.meta.url), "utf8")) as {
      oauth_config: { scopes: { bot: string[] } };
    };
    expect([...BOT_SCOPES].sort()).toEqual([...manifest.oauth_config.scopes.bot].sort());
  });
});

/** Installations sealed at rest and single-use OAuth states, on the real Redis. */
import { randomBytes } from "node:crypto";
import type { Installation } from "@slack/bolt";
import { InstallProvider, LogLevel } from "@slack/oauth";
import { WebClient } from "@slack/web-api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectRedis, type RedisClient } from "../../src/runtime.js";
import { InstalledWorkspaces } from "../../src/slack/workspaces.js";
import { RedisInstallationStore, RedisStateStore, TokenCipher } from "../../src/store/installations.js";
import { keys } from "../../src/store/keys.js";
import { deleteMatching, REDIS_URL } from "../support/harness.js";

let redis: RedisClient;
const prefix = `lensbot-test-installs-${randomBytes(4).toString("hex")}`;
const key = randomBytes(32);

beforeAll(async () => {
  redis = connectRedis(REDIS_URL, "commands");
  await new Promise((r) => (redis.status === "ready" ? r(undefined) : redis.once("ready", r)));
});
afterAll(async () => {
  await deleteMatching(redis, `${prefix}:*`);
  redis.disconnect();
});

const installation = (team: string, token: string): Installation<"v2", false> => ({
  team: { id: team, name: `Team ${team}` },
  enterprise: undefined,
  user: { id: "UADMIN", token: undefined, scopes: undefined },
  bot: { token, scopes: ["chat:write"], id: `B${team}`, userId: `U${team}` },
  isEnterpriseInstall: false,
  authVersion: "v2",
  appId: "A1",
  tokenType: "bot",
});

describe("TokenCipher", () => {
  const cipher = new TokenCipher(key);

  it("opens what it sealed, for the same binding only", () => {
    const sealed = cipher.seal("xoxb-secret", "k1");
    expect(sealed).toMatch(/^v1\.[\w-]+\.[\w-]+\.[\w-]+$/);
    expect(sealed).not.toContain("secret");
    expect(cipher.open(sealed, "k1")).toBe("xoxb-secret");
    expect(cipher.seal("xoxb-secret", "k1")).not.toBe(sealed); // a fresh IV each time
    expect(() => cipher.open(sealed, "k2")).toThrow();
  });

  it("refuses an altered value, another key and a short key", () => {
    const sealed = cipher.seal("xoxb-secret", "k1");
    const parts = sealed.split(".");
    const body = Buffer.from(parts[3] ?? "", "base64url");
    body[0] = (body[0] ?? 0) ^ 1;
    parts[3] = body.toString("base64url");
    expect(() => cipher.open(parts.join("."), "k1")).toThrow();
    expect(() => new TokenCipher(randomBytes(32)).open(sealed, "k1")).toThrow();
    expect(() => new TokenCipher(randomBytes(16))).toThrow(/32 bytes/);
  });
});

describe("RedisInstallationStore", () => {
  it("stores sealed, fetches per team, and deletes", async () => {
    const store = new RedisInstallationStore(redis, { prefix, key });
    await store.storeInstallation(installation("TA", "xoxb-token-a"));
    await store.storeInstallation(installation("TB", "xoxb-token-b"));
    const raw = await redis.get(keys(prefix).installation("T:TA"));
    expect(raw).not.toContain("xoxb-token-a");
    const a = await store.fetchInstallation({
      teamId: "TA",
      enterpriseId: undefined,
      isEnterpriseInstall: false,
    });
    expect(a.bot?.token).toBe("xoxb-token-a");
    // A sealed value moved under another team's key does not open.
    await redis.set(keys(prefix).installation("T:TC"), raw ?? "");
    await expect(
      store.fetchInstallation({ teamId: "TC", enterpriseId: undefined, isEnterpriseInstall: false }),
    ).rejects.toThrow();
    await store.deleteInstallation({ teamId: "TA", enterpriseId: undefined, isEnterpriseInstall: false });
    await expect(
      store.fetchInstallation({ teamId: "TA", enterpriseId: undefined, isEnterpriseInstall: false }),
    ).rejects.toThrow(/no installation/);
    const b = await store.fetchInstallation({
      teamId: "TB",
      enterpriseId: undefined,
      isEnterpriseInstall: false,
    });
    expect(b.bot?.token).toBe("xoxb-token-b");
  });
});

describe("RedisStateStore", () => {
  it("hands out a state usable once, kept with its install options and an expiry", async () => {
    const states = new RedisStateStore(redis, { prefix, ttlSeconds: 120 });
    const state = await states.generateStateParam({ scopes: ["chat:write"], metadata: "m" }, new Date());
    expect(state).toMatch(/^[\w-]{43}$/);
    const ttl = await redis.ttl(keys(prefix).oauthState(state));
    expect(ttl).toBeGreaterThan(100);
    expect(ttl).toBeLessThanOrEqual(120);
    await expect(states.verifyStateParam(new Date(), state)).resolves.toEqual({
      scopes: ["chat:write"],
      metadata: "m",
    });
    await expect(states.verifyStateParam(new Date(), state)).rejects.toThrow(/expired or was already used/);
    await expect(states.verifyStateParam(new Date(), "forged")).rejects.toThrow(
      /expired or was already used/,
    );
  });
});

describe("InstalledWorkspaces (workers' tokens, through Bolt's InstallProvider)", () => {
  const provider = (
    installationStore:
      | RedisInstallationStore
      | { fetchInstallation(): Promise<never>; storeInstallation(): Promise<void> },
  ) =>
    new InstallProvider({
      clientId: "1.2",
      clientSecret: "s",
      stateSecret: "x",
      installationStore,
      logLevel: LogLevel.ERROR,
    });
  const clientFor = (token: string) => new WebClient(token);

  it("gives a team's client, refuses a team without an installation, and retries a store that failed", async () => {
    const store = new RedisInstallationStore(redis, { prefix, key });
    await store.storeInstallation(installation("TW", "xoxb-token-w"));
    const workspaces = new InstalledWorkspaces(provider(store).authorize, clientFor);
    const ws = await workspaces.get("TW");
    expect(ws.botId).toBe("BTW");
    expect(await workspaces.get("TW")).toBe(ws); // same token: the same client and name cache
    await expect(workspaces.get("TNONE")).rejects.toMatchObject({
      code: "slack_not_installed",
      retryable: false,
    });
    const broken = {
      fetchInstallation: () => Promise.reject(new Error("Connection is closed.")),
      storeInstallation: () => Promise.resolve(),
    };
    const flaky = new InstalledWorkspaces(provider(broken).authorize, clientFor);
    await expect(flaky.get("TW")).rejects.toMatchObject({ code: "store_unavailable", retryable: true });
  });
});

import { describe, expect, it } from "vitest";
import { loadConfig, requireSlack } from "../src/config.js";
import { clusterNodes } from "../src/runtime.js";

describe("loadConfig", () => {
  it("applies defaults", () => {
    const c = loadConfig({});
    expect(c.redisUrl).toBe("redis://127.0.0.1:6379");
    expect(c.port).toBe(3000);
    expect(c.recordTtlSeconds).toBe(30 * 86_400);
    expect(c.anthropic.apiKey).toBeUndefined();
  });

  it("lists every bad variable in one error and never echoes values", () => {
    let message = "";
    try {
      loadConfig({ PORT: "http", SLACK_BOT_TOKEN: "xoxp-secret-user-token", LENSBOT_QUALITY_BAR: "2" });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain("PORT:");
    expect(message).toContain("SLACK_BOT_TOKEN: must start with xoxb-");
    expect(message).toContain("LENSBOT_QUALITY_BAR:");
    expect(message).not.toContain("xoxp-secret-user-token");
  });

  it("requires the Slack credentials only when the bot runs", () => {
    expect(() => requireSlack(loadConfig({}))).toThrow(/SLACK_BOT_TOKEN[\s\S]*SLACK_SIGNING_SECRET/);
    const slack = requireSlack(loadConfig({ SLACK_BOT_TOKEN: "xoxb-1", SLACK_APP_TOKEN: "xapp-1" }));
    expect(slack).toMatchObject({ mode: "single", botToken: "xoxb-1", appToken: "xapp-1" });
  });

  it("takes OAuth installs instead of one bot token, and says what is missing or conflicting", () => {
    const key = Buffer.alloc(32, 7).toString("base64");
    const oauth = requireSlack(
      loadConfig({
        SLACK_CLIENT_ID: "1.2",
        SLACK_CLIENT_SECRET: "s",
        SLACK_SIGNING_SECRET: "sig",
        LENSBOT_TOKEN_KEY: key,
      }),
    );
    expect(oauth).toMatchObject({ mode: "oauth", clientId: "1.2", clientSecret: "s" });
    expect(oauth.mode === "oauth" && oauth.tokenKey.length).toBe(32);
    expect(() =>
      requireSlack(
        loadConfig({ SLACK_CLIENT_ID: "1.2", SLACK_BOT_TOKEN: "xoxb-1", SLACK_APP_TOKEN: "xapp-1" }),
      ),
    ).toThrow(
      /SLACK_CLIENT_SECRET[\s\S]*SLACK_SIGNING_SECRET[\s\S]*LENSBOT_TOKEN_KEY[\s\S]*SLACK_BOT_TOKEN must be unset[\s\S]*SLACK_APP_TOKEN must be unset/,
    );
    expect(() => loadConfig({ LENSBOT_TOKEN_KEY: "c2hvcnQ=" })).toThrow(
      /LENSBOT_TOKEN_KEY: must be 32 bytes/,
    );
  });
});

describe("clusterNodes (REDIS_URL naming a Redis Cluster)", () => {
  it("reads seed nodes and credentials from redis+cluster:// URLs", () => {
    expect(clusterNodes("redis+cluster://10.0.0.1:7000,10.0.0.2:7001")).toEqual({
      nodes: [
        { host: "10.0.0.1", port: 7000 },
        { host: "10.0.0.2", port: 7001 },
      ],
      username: undefined,
      password: undefined,
      tls: false,
    });
    expect(clusterNodes("rediss+cluster://app:p%40ss@[::1]:7000")).toEqual({
      nodes: [{ host: "::1", port: 7000 }],
      username: "app",
      password: "p@ss",
      tls: true,
    });
    expect(clusterNodes("redis+cluster://:secret@h:1")?.password).toBe("secret");
  });

  it("leaves single-node URLs alone and refuses a node without a port", () => {
    expect(clusterNodes("redis://127.0.0.1:6379")).toBeUndefined();
    expect(() => clusterNodes("redis+cluster://h1:7000,h2")).toThrow(/host:port.*"h2"/);
  });
});

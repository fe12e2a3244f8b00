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

describe("loadConfig: model backends", () => {
  it("defaults to the anthropic backend with structured outputs left to the backend", () => {
    const c = loadConfig({});
    expect(c.modelBackend.name).toBe("anthropic");
    expect(c.modelBackend.structuredOutputs).toBe("auto");
  });

  it("reads bedrock's region, static keys and base URL, and vertex's project and region", () => {
    const bedrock = loadConfig({
      LENSBOT_MODEL_BACKEND: "bedrock",
      AWS_REGION: "eu-west-1",
      AWS_ACCESS_KEY_ID: "AKIDEXAMPLE",
      AWS_SECRET_ACCESS_KEY: "secret",
      ANTHROPIC_BEDROCK_BASE_URL: "http://127.0.0.1:4010",
    }).modelBackend;
    expect(bedrock.name).toBe("bedrock");
    expect(bedrock.bedrock).toMatchObject({
      region: "eu-west-1",
      accessKeyId: "AKIDEXAMPLE",
      secretAccessKey: "secret",
      baseURL: "http://127.0.0.1:4010",
    });
    const vertex = loadConfig({
      LENSBOT_MODEL_BACKEND: "vertex",
      CLOUD_ML_REGION: "global",
      ANTHROPIC_VERTEX_PROJECT_ID: "acme-ai",
      LENSBOT_STRUCTURED_OUTPUTS: "on",
    }).modelBackend;
    expect(vertex.vertex).toMatchObject({ region: "global", projectId: "acme-ai" });
    expect(vertex.structuredOutputs).toBe("on");
  });

  it("lists every missing backend variable with the other bad ones, never echoing secrets", () => {
    const message = (env: Record<string, string>) => {
      try {
        loadConfig(env);
      } catch (err) {
        return (err as Error).message;
      }
      throw new Error("loadConfig accepted it");
    };
    const bedrock = message({
      LENSBOT_MODEL_BACKEND: "bedrock",
      AWS_SECRET_ACCESS_KEY: "very-secret-key",
      PORT: "http",
    });
    expect(bedrock).toContain("AWS_REGION: required when LENSBOT_MODEL_BACKEND=bedrock");
    expect(bedrock).toContain("AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY: set both");
    expect(bedrock).toContain("PORT:");
    expect(bedrock).not.toContain("very-secret-key");
    const vertex = message({ LENSBOT_MODEL_BACKEND: "vertex" });
    expect(vertex).toContain("CLOUD_ML_REGION: required when LENSBOT_MODEL_BACKEND=vertex");
    expect(vertex).toContain("ANTHROPIC_VERTEX_PROJECT_ID: required when LENSBOT_MODEL_BACKEND=vertex");
    expect(message({ LENSBOT_MODEL_BACKEND: "azure" })).toContain("LENSBOT_MODEL_BACKEND:");
    expect(message({ LENSBOT_STRUCTURED_OUTPUTS: "yes" })).toContain("LENSBOT_STRUCTURED_OUTPUTS:");
  });
});

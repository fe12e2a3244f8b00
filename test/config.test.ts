import { describe, expect, it } from "vitest";
import { loadConfig, requireSlack } from "../src/config.js";

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
    expect(slack.botToken).toBe("xoxb-1");
  });
});

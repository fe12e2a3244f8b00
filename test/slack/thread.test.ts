import { describe, expect, it } from "vitest";
import { buildTranscript, decodeMrkdwn, estimateTokens, type ThreadMessage } from "../../src/slack/thread.js";

const names = new Map([
  ["U0ALICE", "Alice"],
  ["U0BOB", "Bob"],
]);

describe("decodeMrkdwn", () => {
  it("turns mentions, channels, links, broadcasts and entities into plain text", () => {
    const text =
      "<@U0ALICE> see <#C0123|incidents> and <https://status.example.com/x|the status page> &amp; <https://a.example> &lt;3 <!here> <!subteam^S0SRE|@sre>";
    expect(decodeMrkdwn(text, names)).toBe(
      "@Alice see #incidents and the status page (https://status.example.com/x) & https://a.example <3 @here @sre",
    );
  });

  it("keeps unknown user ids readable", () => {
    expect(decodeMrkdwn("ping <@U0ZED>", names)).toBe("ping @U0ZED");
  });
});

describe("buildTranscript", () => {
  const msg = (i: number, extra: Partial<ThreadMessage> = {}): ThreadMessage => ({
    ts: `1700000000.${String(i).padStart(6, "0")}`,
    user: i % 2 ? "U0ALICE" : "U0BOB",
    text: `message number ${i} ${"detail ".repeat(20)}`,
    ...extra,
  });

  it("keeps everything when it fits, with names and marked alerts", () => {
    const t = buildTranscript(
      [msg(0), { ts: "1", botId: "B0PAGER", subtype: "bot_message", text: "[ALERT] error rate 34%" }, msg(2)],
      names,
      { budgetTokens: 10_000 },
    );
    expect(t.omitted).toBe(0);
    expect(t.notes).toEqual([]);
    expect(t.text.split("\n")).toEqual([
      expect.stringMatching(/^Bob: message number 0/),
      "bot B0PAGER [bot alert]: [ALERT] error rate 34%",
      expect.stringMatching(/^Bob: message number 2/),
    ]);
  });

  it("keeps the first message, alerts and the latest messages within the budget, and says what was cut", () => {
    const messages = Array.from({ length: 300 }, (_, i) =>
      i === 150 ? { ts: "alert", botId: "B0PAGER", text: "[ALERT] disk full" } : msg(i),
    );
    const t = buildTranscript(messages, names, { budgetTokens: 1_000 });
    expect(estimateTokens(t.text)).toBeLessThanOrEqual(1_100); // the budget plus the cut markers
    expect(t.text).toContain("message number 0 ");
    expect(t.text).toContain("[ALERT] disk full");
    expect(t.text).toContain("message number 299 ");
    expect(t.text).not.toContain("message number 100 ");
    expect(t.text).toMatch(/\[… \d+ messages left out to fit the budget …\]/);
    expect(t.kept + t.omitted).toBe(300);
    expect(t.notes[0]).toContain(`The thread has 300 messages; ${t.omitted} from the middle were left out`);
  });

  it("summarises lensbot's own earlier cards in one line", () => {
    const t = buildTranscript(
      [msg(0), { ts: "2", botId: "B0LENS", text: "Suggested Systems thinking\nlong card body ..." }],
      names,
      { budgetTokens: 10_000, ownBotId: "B0LENS" },
    );
    expect(t.text).toContain("[lensbot posted earlier: Suggested Systems thinking]");
    expect(t.text).not.toContain("long card body");
  });

  it("shortens a single very long message", () => {
    const t = buildTranscript([msg(0, { text: "x".repeat(10_000) })], names, {
      budgetTokens: 10_000,
      maxMessageChars: 500,
    });
    expect(t.text.length).toBeLessThan(600);
    expect(t.text).toContain("[…]");
  });
});

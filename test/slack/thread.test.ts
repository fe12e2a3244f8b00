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
    expect(estimateTokens(t.text)).toBeLessThanOrEqual(1_000); // everything counted, markers too
    expect(t.text).toContain("message number 0 ");
    expect(t.text).toContain('[1 alert from bot B0PAGER: "[ALERT] disk full"]');
    expect(t.text).toContain("message number 299 ");
    expect(t.text).not.toContain("message number 100 ");
    expect(t.text).toMatch(/\[… \d+ messages left out to fit the budget …\]/);
    expect(t.kept + t.omitted).toBe(300);
    expect(t.text.split("\n")[1]).toContain("1 alert from"); // summaries sit right after the first message
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

describe("a 5,000-message thread with 10% alerts", () => {
  const messages: ThreadMessage[] = Array.from({ length: 5_000 }, (_, i) => {
    const ts = `1700000000.${String(i).padStart(6, "0")}`;
    if (i % 10 === 5)
      return { ts, botId: i % 20 === 5 ? "B0PAGER" : "B0GRAFANA", text: `[ALERT] checkout p99 ${i} ms` };
    return {
      ts,
      user: i % 2 ? "U0ALICE" : "U0BOB",
      text: `update ${i}: ${"still timing out on the fraud call ".repeat(3)}`,
    };
  });
  const question = messages[4_990]!;

  it("fits the budget with everything counted and keeps the question, the first and the latest messages", () => {
    const t = buildTranscript(messages, names, { budgetTokens: 6_000, questionTs: question.ts });
    expect(estimateTokens(t.text)).toBeLessThanOrEqual(6_000);
    const lines = t.text.split("\n");
    expect(lines[0]).toContain("update 0:");
    expect(t.text).toContain(`update 4990:`);
    expect(lines.at(-1)).toContain("update 4999:");
    // Alerts as one line per source with the count, the first and the last, not one by one.
    expect(t.text).toMatch(
      /\[250 alerts from bot B0PAGER; the first: "\[ALERT\] checkout p99 5 ms"; the last: "\[ALERT\] checkout p99 4985 ms"\]/,
    );
    expect(t.text).toMatch(/\[250 alerts from bot B0GRAFANA;/);
    expect(lines.filter((l) => l.includes("[bot alert]"))).toHaveLength(0);
    expect(t.notes[0]).toMatch(/The thread has 5000 messages/);
  });

  it("states the messages never read when the thread was read only in part", () => {
    const t = buildTranscript(messages.slice(0, 100), names, { budgetTokens: 6_000, unread: 4_900 });
    expect(t.text).toContain("[… 4900 messages in the middle of this thread were not read …]");
    expect(estimateTokens(t.text)).toBeLessThanOrEqual(6_000);
  });
});

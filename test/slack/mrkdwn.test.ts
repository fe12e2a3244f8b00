import { describe, expect, it } from "vitest";
import { escapeMrkdwn, sanitiseModelText, splitText, truncate } from "../../src/slack/mrkdwn.js";

const ZWJ = "\u200D";

describe("escapeMrkdwn", () => {
  it("escapes &, < and > (ampersand first, so entities are not double-read)", () => {
    expect(escapeMrkdwn("a & b < c > d")).toBe("a &amp; b &lt; c &gt; d");
    expect(escapeMrkdwn("&lt;")).toBe("&amp;lt;");
  });

  it("leaves everything else alone, including mrkdwn formatting and quotes", () => {
    expect(escapeMrkdwn(`*bold* _it_ ~s~ \`code\` "q" 'a' é 👍`)).toBe(
      `*bold* _it_ ~s~ \`code\` "q" 'a' é 👍`,
    );
  });

  it.each([
    ["<!channel>", "&lt;!channel&gt;"],
    ["<!here|here>", "&lt;!here|here&gt;"],
    ["<!everyone>", "&lt;!everyone&gt;"],
    ["<!subteam^S123|@team>", "&lt;!subteam^S123|@team&gt;"],
    ["<@U123>", "&lt;@U123&gt;"],
    ["<#C123|general>", "&lt;#C123|general&gt;"],
  ])("neutralises %s", (input, expected) => {
    expect(escapeMrkdwn(input)).toBe(expected);
  });
});

describe("sanitiseModelText", () => {
  const dangerous = [
    "<!channel>",
    "<!here|here>",
    "<!everyone>",
    "<!subteam^S0123ABC|@platform-team>",
    "<@U123>",
    "<@W0ABC|someone>",
    "<#C123|general>",
    "<https://evil.example|click>",
    "<mailto:a@b.example|mail>",
    "<!date^1392734382^{date}|Feb 18>",
  ];

  it.each(dangerous)("leaves no control syntax in %s", (input) => {
    const out = sanitiseModelText(`before ${input} after`);
    expect(out).not.toMatch(/[<>]/);
    expect(out.startsWith("before &lt;")).toBe(true);
    expect(out.endsWith("&gt; after")).toBe(true);
  });

  it("defangs the URL inside a would-be link label", () => {
    const out = sanitiseModelText("<https://evil.example|click>");
    expect(out).toBe("&lt;hxxps://evil[.]example|click&gt;");
    expect(out).not.toContain("https://");
  });

  it.each(["@here", "@channel", "@everyone", "@HERE", "@Channel"])("breaks the broadcast word %s", (word) => {
    const out = sanitiseModelText(`hey ${word}, look`);
    expect(out).toBe(`hey @${ZWJ}${word.slice(1)}, look`);
    expect(out).not.toMatch(/@(here|channel|everyone)\b/i);
  });

  it("does not touch words that merely start with a broadcast word, or ordinary @names", () => {
    expect(sanitiseModelText("@heretofore and @channels and @alice")).toBe(
      "@heretofore and @channels and @alice",
    );
  });

  it.each([
    ["see http://x.y", "see hxxp://x[.]y"],
    ["https://evil.example.com/login?next=/a&b=c", "hxxps://evil[.]example[.]com/login?next=/a&amp;b=c"],
    ["HTTPS://EVIL.EXAMPLE/x", "hxxps://EVIL[.]EXAMPLE/x"],
    ["ftp://files.example.org/pub", "fxp://files[.]example[.]org/pub"],
    ["ssh://host.internal", "ssh[:]//host[.]internal"],
    ["go to www.evil.test now", "go to www[.]evil[.]test now"],
    ["visit evil-site.com today", "visit evil-site[.]com today"],
    ["mail bob@corp.example", "mail bob@corp[.]example"],
    ["(https://a.example/b)", "(hxxps://a[.]example/b)"],
  ])("defangs bare URL %s", (input, expected) => {
    expect(sanitiseModelText(input)).toBe(expected);
  });

  it("keeps ordinary dotted words readable", () => {
    const text = "Use Node.js, e.g. v20.19, and read README.md; the p95 was 3.5s.";
    expect(sanitiseModelText(text)).toBe(text);
  });

  it("never leaves < or > or a live broadcast in mixed random input", () => {
    const pieces = [
      ...dangerous,
      "@here",
      "@channel",
      "http://a.b/c",
      "&",
      "<",
      ">",
      "text",
      " ",
      "\n",
      "*x*",
    ];
    let seed = 7;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (let i = 0; i < 300; i++) {
      const input = Array.from({ length: 8 }, () => pieces[Math.floor(rand() * pieces.length)]).join("");
      const out = sanitiseModelText(input);
      expect(out).not.toMatch(/[<>]/);
      expect(out).not.toMatch(/@(here|channel|everyone)\b/i);
      expect(out).not.toMatch(/https?:\/\//i);
      // Every & starts one of the three entities.
      expect(out.replace(/&(amp|lt|gt);/g, "")).not.toContain("&");
    }
  });
});

describe("truncate", () => {
  it("returns text that fits unchanged", () => {
    expect(truncate("short", 5)).toBe("short");
    expect(truncate("", 3)).toBe("");
  });

  it("cuts at a word boundary and appends …", () => {
    const out = truncate("the quick brown fox jumps over the lazy dog", 20);
    expect(out).toBe("the quick brown fox…");
    expect(out.length).toBeLessThanOrEqual(20);
  });

  it("hard-cuts one long word, still within the limit", () => {
    const out = truncate("a".repeat(100), 10);
    expect(out).toBe(`${"a".repeat(9)}…`);
  });

  it("never splits an entity or an emoji's surrogate pair", () => {
    const entity = truncate(`${"x".repeat(8)}&amp;yyyy`, 12);
    expect(entity).toBe(`${"x".repeat(8)}…`);
    const emoji = truncate(`${"x".repeat(8)}👍👍👍`, 10);
    expect(emoji).toBe(`${"x".repeat(8)}…`);
    expect(emoji.length).toBeLessThanOrEqual(10);
  });

  it("rejects a limit below 1", () => {
    expect(() => truncate("abc", 0)).toThrow(RangeError);
  });

  it("always respects the limit", () => {
    const text = "Lorem ipsum dolor sit amet, &amp; consectetur 👍 adipiscing elit ".repeat(20);
    for (let max = 1; max < text.length; max += 7) {
      const out = truncate(text, max);
      expect(out.length).toBeLessThanOrEqual(max);
      expect(out.endsWith("…")).toBe(true);
    }
  });
});

describe("splitText", () => {
  it("keeps every word, each piece within the limit, preferring line breaks", () => {
    const lines = Array.from({ length: 40 }, (_, i) => `line ${i} ${"word ".repeat(i % 7)}`.trim());
    const text = lines.join("\n");
    const parts = splitText(text, 100);
    expect(parts.length).toBeGreaterThan(1);
    for (const p of parts) expect(p.length).toBeLessThanOrEqual(100);
    expect(parts.join("\n").split(/\s+/)).toEqual(text.split(/\s+/));
    // Each piece starts at a line start.
    for (const p of parts) expect(p).toMatch(/^line \d+/);
  });

  it("hard-splits a text without spaces, losing nothing", () => {
    const text = "z".repeat(250);
    const parts = splitText(text, 100);
    expect(parts.map((p) => p.length)).toEqual([100, 100, 50]);
    expect(parts.join("")).toBe(text);
  });

  it("returns nothing for blank text and one piece for short text", () => {
    expect(splitText("   ", 100)).toEqual([]);
    expect(splitText(" hi ", 100)).toEqual(["hi"]);
  });
});

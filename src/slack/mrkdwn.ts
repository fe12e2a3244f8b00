/**
 * Making untrusted text (model output, user input) safe to put in Slack `mrkdwn` and `plain_text`.
 * Pure string functions, no Slack SDK.
 *
 * Slack's formatting reference ("Escaping text", docs.slack.dev/messaging/formatting-message-text)
 * says `&`, `<` and `>` are control characters: `<!channel>`, `<!here>`, `<!everyone>`,
 * `<!subteam^ID>`, `<@U…>`, `<#C…>`, `<!date…>` and `<url|label>` links are all built from `<…>`.
 * Escaping those three characters is therefore enough to stop text from forming any of them; the
 * remaining risks are the bare words `@channel`/`@here`/`@everyone` (parsed when a message is posted
 * with `link_names`) and bare URLs or domains, which Slack turns into links on its own and may unfurl.
 */

/** Zero-width joiner: invisible, but breaks the `@here` token so Slack cannot parse it as a mention. */
const ZWJ = "\u200D";

/**
 * Escapes `&`, `<` and `>` as `&amp;`, `&lt;`, `&gt;`, the only entities Slack decodes (it says not to
 * entity-encode anything else). Slack shows the escaped characters as typed, in `mrkdwn` and in
 * `plain_text` alike (it stores text in this escaped form), but nothing escaped can form a mention,
 * channel link, broadcast or `<url|label>` link.
 *
 * Not idempotent: escaping twice shows `&amp;` to the reader, so escape each piece of text once.
 */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/**
 * Schemes followed by `://`. The host is everything up to a path, query, fragment, whitespace or an
 * escaped entity (text is already escaped when this runs, so `&` starts `&lt;`/`&gt;`/`&amp;`).
 */
const SCHEME_URL = /\b([a-z][a-z0-9+.-]*):\/\/([^\s/?#|&]*)/gi;

/** `www.` hosts, which Slack links without a scheme. */
const WWW_HOST = /\bwww\.((?:[a-z0-9-]+\.)*[a-z0-9-]+)/gi;

/**
 * Bare domains with a top-level domain Slack is known to link, e.g. `evil.example.com` or
 * `login.zip`. A short list on purpose: `Node.js`, `e.g.` or `README.md` stay readable.
 */
const BARE_DOMAIN =
  /\b((?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+)(com|net|org|io|co|dev|app|ai|xyz|info|biz|me|ly|gg|sh|us|uk|de|ru|cn|top|site|online|link|click|zip|mov|page|cloud|tech|example)\b/gi;

const DEFANGED_SCHEME: Record<string, string> = { http: "hxxp", https: "hxxps", ftp: "fxp" };

const defangHost = (host: string) => host.replace(/\./g, "[.]");

/**
 * Defangs bare URLs so Slack can neither link nor unfurl them, while a reader can still see (and,
 * if they choose, retype) the address. The notation is the one used in security reports:
 *
 * - `http://evil.example/x` → `hxxp://evil[.]example/x` (`https` → `hxxps`, `ftp` → `fxp`, lower-cased;
 *   any other scheme keeps its name and loses the `:` as `scheme[:]//`)
 * - `www.evil.example` → `www[.]evil[.]example`
 * - `evil.example.com` → `evil[.]example[.]com` (only for common TLDs; see BARE_DOMAIN)
 *
 * Expects text that has already been through {@link escapeMrkdwn}.
 */
function defangUrls(text: string): string {
  return text
    .replace(SCHEME_URL, (_m, scheme: string, host: string) => {
      const known = DEFANGED_SCHEME[scheme.toLowerCase()];
      return (known ? `${known}://` : `${scheme}[:]//`) + defangHost(host);
    })
    .replace(WWW_HOST, (_m, rest: string) => `www[.]${defangHost(rest)}`)
    .replace(BARE_DOMAIN, (_m, labels: string, tld: string) => defangHost(labels) + tld);
}

/**
 * Makes model or user text safe for any Slack text field ({@link escapeMrkdwn} first, then):
 *
 * - `@channel`, `@here`, `@everyone` get a zero-width joiner after the `@`: they read the same but
 *   can never notify a channel, even if a caller posts with `link_names: true`;
 * - bare URLs and domains are defanged (`hxxps://evil[.]example`), so a model cannot plant a
 *   clickable or unfurling link (see defangUrls above for the exact notation).
 *
 * `*bold*`, `_italic_`, `` `code` `` and `>` quotes at line start of our own templates still work;
 * the model's own `*`/`_` formatting is left alone, since it cannot do harm.
 * Not idempotent (it escapes), so sanitise each piece of text exactly once.
 */
export function sanitiseModelText(text: string): string {
  const escaped = escapeMrkdwn(text);
  const noBroadcast = escaped.replace(/@(channel|here|everyone)\b/gi, `@${ZWJ}$1`);
  return defangUrls(noBroadcast);
}

const ELLIPSIS = "…";

/** True when `i` is between the two halves of a UTF-16 surrogate pair. */
function splitsSurrogate(text: string, i: number): boolean {
  if (i <= 0 || i >= text.length) return false;
  const before = text.charCodeAt(i - 1);
  return before >= 0xd800 && before <= 0xdbff;
}

/** If `i` falls inside an entity such as `&amp;`, returns the entity's start; otherwise `i`. */
function outsideEntity(text: string, i: number): number {
  const amp = text.lastIndexOf("&", i - 1);
  if (amp < 0 || i - amp > 8) return i;
  const m = /^&(?:amp|lt|gt|#\d+|#x[0-9a-f]+|[a-z]+);/i.exec(text.slice(amp, amp + 10));
  return m && amp + m[0].length > i ? amp : i;
}

/**
 * A cut position ≤ `limit` that does not split a surrogate pair or an `&…;` entity. Prefers, in
 * order, a line break and then a space in the last part of the window (from `limit * minFraction`);
 * falls back to a hard cut when the text has no break there (e.g. one very long word).
 */
function findCut(text: string, limit: number, preferLines: boolean, minFraction: number): number {
  if (limit >= text.length) return text.length;
  const floor = Math.floor(limit * minFraction);
  const window = text.slice(0, limit + 1);
  if (preferLines) {
    const nl = window.lastIndexOf("\n");
    if (nl > floor) return nl;
  }
  const ws = Math.max(window.lastIndexOf(" "), window.lastIndexOf("\n"), window.lastIndexOf("\t"));
  if (ws > floor) return ws;
  let cut = outsideEntity(text, limit);
  if (splitsSurrogate(text, cut)) cut -= 1;
  return cut;
}

/**
 * Shortens `text` to at most `maxChars` UTF-16 code units (what `.length` counts; never fewer
 * characters than Slack counts), cutting at a word boundary when one is near the end and appending
 * `…` so the cut is visible. Never splits an emoji's surrogate pair or an `&amp;`-style entity.
 * Text that already fits is returned unchanged.
 */
export function truncate(text: string, maxChars: number): string {
  if (!Number.isInteger(maxChars) || maxChars < 1)
    throw new RangeError(`maxChars must be ≥ 1, got ${maxChars}`);
  if (text.length <= maxChars) return text;
  const cut = findCut(text, maxChars - ELLIPSIS.length, false, 0.7);
  return text.slice(0, cut).trimEnd() + ELLIPSIS;
}

/**
 * Splits `text` into pieces of at most `maxChars`, at line breaks where possible, then spaces,
 * then anywhere (never inside an entity or surrogate pair). Nothing is dropped except the
 * whitespace at each split. Used to spread long text over several section blocks.
 */
export function splitText(text: string, maxChars: number): string[] {
  if (!Number.isInteger(maxChars) || maxChars < 16)
    throw new RangeError(`maxChars must be ≥ 16, got ${maxChars}`);
  const parts: string[] = [];
  let rest = text.trim();
  while (rest.length > maxChars) {
    const cut = findCut(rest, maxChars, true, 0.5);
    const head = rest.slice(0, cut).trimEnd();
    if (head) parts.push(head);
    rest = rest.slice(cut).trimStart();
  }
  if (rest) parts.push(rest);
  return parts;
}

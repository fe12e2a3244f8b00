/**
 * Finds the attempts a problem statement (or its thread) says were already made: "we added
 * indexes", "bumped the pool size, no change", "tried caching (5%), query tuning (8%)", a bullet
 * list under "What we have tried so far:", an incident thread's "Rolling back fraud-score now".
 * Pure text rules, no model: a verb of trying (or a list introduced as what was tried), what was
 * tried, and the measured effect when the text gives one. Both engines use it: the Claude
 * synthesis must explain each attempt found here, the offline synthesis asks each one the lenses'
 * questions.
 */

/** One attempt named in the problem. */
export interface Attempt {
  /** What was tried, as the text says it ("added composite indexes on the events table"), at most 80 characters. */
  label: string;
  /** What was tried, without the verb of trying ("composite indexes on the events table"). */
  what: string;
  /** The effect the text reports for it ("about 12% better", "no change"), when it gives one. */
  effect?: string;
  /** The line of the text it was found in, trimmed. */
  quote: string;
}

/** At most this many attempts are kept (the first ones named). */
export const MAX_ATTEMPTS = 8;
const MAX_LABEL = 80;

/**
 * Past-tense verbs of trying or changing something. "tried", "attempted" and "experimented with"
 * introduce what was tried; the others are the attempt itself ("added indexes").
 */
const INTRO_VERBS = ["tried", "attempted", "experimented with", "tested", "trialled", "trialed"];
const ACTION_VERBS = [
  "added",
  "put",
  "introduced",
  "implemented",
  "built",
  "wrote",
  "rewrote",
  "refactored",
  "redesigned",
  "reworked",
  "rearchitected",
  "optimised",
  "optimized",
  "micro-optimised",
  "micro-optimized",
  "tuned",
  "tweaked",
  "adjusted",
  "bumped",
  "raised",
  "increased",
  "doubled",
  "tripled",
  "halved",
  "reduced",
  "lowered",
  "decreased",
  "capped",
  "limited",
  "throttled",
  "enabled",
  "disabled",
  "turned on",
  "turned off",
  "switched",
  "moved",
  "migrated",
  "upgraded",
  "downgraded",
  "replaced",
  "swapped",
  "removed",
  "dropped",
  "restarted",
  "rebooted",
  "rolled back",
  "reverted",
  "redeployed",
  "scaled up",
  "scaled out",
  "scaled",
  "resized",
  "cached",
  "indexed",
  "sharded",
  "partitioned",
  "batched",
  "parallelised",
  "parallelized",
  "precomputed",
  "denormalised",
  "denormalized",
  "hired",
  "reorganised",
  "reorganized",
  "set up",
  "changed",
  "patched",
  "hotfixed",
  "instituted",
  "mandated",
  "enforced",
  "froze",
  "automated",
  "installed",
  "deployed",
];
/** Gerunds that start a line in incident threads ("Rolling back fraud-score now."). */
const GERUNDS = [
  "rolling back",
  "restarting",
  "reverting",
  "scaling up",
  "scaling out",
  "failing over",
  "redeploying",
  "disabling",
  "draining",
];

const alt = (words: readonly string[]) =>
  [...words]
    .sort((a, b) => b.length - a.length)
    .map((w) => w.replace(/[-]/g, "\\-").replace(/ /g, "\\s+"))
    .join("|");

const SUBJECT = String.raw`(?:(?:we|i|they|he|she|someone|the team|ops|you)(?:['’](?:ve|d))?\s+)?`;
const ADVERBS = String.raw`(?:(?:have|had|'ve|already|also|then|first|just|even|finally|recently|quickly|eventually|since|been|even)\s+)*`;
/** A verb of trying at the start of a clause, with an optional subject and adverbs. */
const VERB_AT = new RegExp(
  String.raw`(?:^|[,;]\s*|\b(?:and|then|but|so|also)\s+)${SUBJECT}${ADVERBS}\b(${alt(INTRO_VERBS)}|${alt(ACTION_VERBS)})\b\s*:?\s*`,
  "gi",
);
const GERUND_AT = new RegExp(String.raw`^(${alt(GERUNDS)})\b\s*`, "i");
const INTRO = new RegExp(String.raw`^(?:${alt(INTRO_VERBS)})$`, "i");

/** Words that say what follows is the attempt's effect, not more of the attempt. */
const EFFECT_WORDS =
  /\d\s*(?:%|ms\b|s\b|x\b|×|percent|seconds?|minutes?|hours?)|\b(?:no (?:change|effect|difference|improvement|luck)|didn'?t (?:help|work|change)|did not (?:help|work|change)|made (?:it|things) worse|helped|barely|slightly|marginal(?:ly)?|nothing|still|better|worse|faster|slower|improved|shaved|saved|gained|no better|not enough)\b/i;

/** A line that introduces a list of attempts: "What we have done so far:", "Things we tried:". */
const LIST_INTRO =
  /\b(?:tried|attempted|done so far|have done|did so far|so far we|already done|experimented|what we did|steps taken|changes made|mitigations?)\b[^:]*:\s*$/i;

const BULLET = /^\s*(?:[-*•·▪◦]|\d{1,2}[.)])\s+/;
/** "alice: ", "Bob Okafor (asked): ": a speaker label of a thread transcript (no verb of trying in it). */
const SPEAKER = /^([A-Z@][\w.'-]*(?:\s+[A-Z][\w.'-]*){0,2}|[a-z][\w.-]{1,24})(?:\s+\([^)]{1,20}\))?:\s+/;

/** Clause ends: the object of a verb stops at these. */
const CLAUSE_END =
  /\s*(?:[.;!?](?:\s|$)|:\s|\s[-–—]\s|,\s*(?:but|which|and it|though|yet|so|then)\b|,\s+(?=(?:no|not|didn|did not|still|only|barely|about|roughly|around|nearly|almost|~|\d))|\s+(?:and|then)\s+(?=[a-z]+ed\b)|\s+but\s|\s+which\s|\s*\(|\s*→|\s*->|$)/i;

function cleanLabel(text: string): string {
  let t = text
    .replace(/\s+/g, " ")
    .replace(/^[\s,:;-]+|[\s,:;.-]+$/g, "")
    .replace(/\s+(?:now|again|too|as well|first)$/i, "");
  if (t.length > MAX_LABEL) {
    const cut = t.slice(0, MAX_LABEL - 1);
    t = `${cut.slice(0, Math.max(cut.lastIndexOf(" "), MAX_LABEL / 2))}…`;
  }
  return t;
}

/** The effect reported right after an attempt, e.g. "(5%)", ": shaved off roughly 5%", ", no change". */
function effectAfter(rest: string): string | undefined {
  const paren = /^\s*\(([^)]{1,60})\)/.exec(rest);
  if (paren?.[1] && EFFECT_WORDS.test(paren[1])) return paren[1].trim();
  const tail = /^\s*(?::|[-–—→]|->|,|\bbut\b|\bwhich\b)\s*([^.;!?\n]{1,100})/i.exec(rest);
  const said = tail?.[1]?.trim().replace(/[,\s]+$/, "");
  return said && EFFECT_WORDS.test(said) ? said : undefined;
}

/** Splits "a second reviewer and a Friday deploy freeze" or "caching (5%), query tuning (8%)" into items. */
function splitItems(object: string, listy: boolean): string[] {
  const parts = listy
    ? object.split(/\s*,\s*(?:and\s+|or\s+)?|\s+(?:and|or)\s+/i)
    : object.split(/\s+and\s+(?=(?:a|an|the|our|some|more|another|extra|new)\s)/i);
  return parts.map((p) => p.trim()).filter((p) => p.length > 1);
}

/** Sentences of one line (a full stop followed by a space or the end; decimals are kept whole). */
function sentences(line: string): string[] {
  return line
    .split(/(?<=[.!?;])\s+(?=\S)/)
    .map((s) => s.trim())
    .filter(Boolean);
}

/** Attempts in one sentence, from its verbs of trying. */
function fromSentence(sentence: string, quote: string): Attempt[] {
  const out: Attempt[] = [];
  const gerund = GERUND_AT.exec(sentence);
  if (gerund?.[1]) {
    const rest = sentence.slice(gerund[0].length);
    const end = CLAUSE_END.exec(rest);
    const object = rest.slice(0, end?.index ?? rest.length);
    if (object.trim()) {
      const effect = effectAfter(rest.slice(object.length));
      out.push({
        label: cleanLabel(`${gerund[1].toLowerCase()} ${object}`),
        what: cleanLabel(object),
        quote,
        ...(effect && { effect }),
      });
    }
  }
  for (const m of sentence.matchAll(VERB_AT)) {
    const verb = (m[1] ?? "").toLowerCase().replace(/\s+/g, " ");
    const start = (m.index ?? 0) + m[0].length;
    const rest = sentence.slice(start);
    const intro = INTRO.test(verb);
    // After "tried", the list runs to the end of the clause, items split by commas and "and";
    // an item's parenthesised effect stays with it.
    if (intro) {
      const end = /[.;!?](?:\s|$)|\s[-–—]\s|,\s*(?:but|which|yet)\b|\s+but\s|\s+which\s/i.exec(rest);
      const list = rest.slice(0, end?.index ?? rest.length);
      for (const item of splitItems(list, true)) {
        const effect = effectAfter(item.slice(item.search(/\(|$/)));
        const name = item.replace(/\s*\([^)]*\)\s*$/, "");
        if (name.trim())
          out.push({ label: cleanLabel(name), what: cleanLabel(name), quote, ...(effect && { effect }) });
      }
      const after = effectAfter(rest.slice(list.length));
      const last = out.at(-1);
      if (after && last && !last.effect) last.effect = after;
      continue;
    }
    const end = CLAUSE_END.exec(rest);
    const object = rest.slice(0, end?.index ?? rest.length);
    if (!object.trim()) continue;
    const effect = effectAfter(rest.slice(object.length));
    for (const item of splitItems(object, false))
      out.push({
        label: cleanLabel(`${verb} ${item}`),
        what: cleanLabel(item),
        quote,
        ...(effect && { effect }),
      });
  }
  return out;
}

/** Strips a bullet mark and a thread speaker label from the start of a line. */
function bare(line: string): string {
  let t = line.replace(BULLET, "").trim();
  const speaker = SPEAKER.exec(t);
  if (speaker && !VERB_AT.test(`${speaker[1]}`)) t = t.slice(speaker[0].length);
  VERB_AT.lastIndex = 0;
  return t;
}

/**
 * The attempts `text` says were made, in the order it names them, without duplicates (same label,
 * ignoring case), at most {@link MAX_ATTEMPTS}. Bullets under a line that introduces what was tried
 * ("What we have done so far:") are attempts even without a verb ("- Redis cache: 5%"). Returns []
 * when the text names none.
 */
export function detectAttempts(text: string): Attempt[] {
  const found: Attempt[] = [];
  let inList = false;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line) {
      inList = false;
      continue;
    }
    const isBullet = BULLET.test(line);
    if (!isBullet && !/^\s/.test(raw)) inList = false;
    const body = bare(line);
    let here: Attempt[] = [];
    for (const sentence of sentences(body)) here.push(...fromSentence(sentence, line));
    if (here.length === 0 && inList && isBullet) {
      // A bullet under "What we tried:" without a verb of its own: the bullet is the attempt.
      const end = CLAUSE_END.exec(body);
      const name = body.slice(0, end?.index ?? body.length);
      const effect = effectAfter(body.slice(name.length));
      if (name.trim())
        here = [{ label: cleanLabel(name), what: cleanLabel(name), quote: line, ...(effect && { effect }) }];
    }
    found.push(...here);
    if (LIST_INTRO.test(line)) inList = true;
  }
  const seen = new Set<string>();
  return found
    .filter((a) => {
      const key = a.label.toLowerCase();
      if (a.label.length < 3 || seen.has(key)) return false;
      seen.add(key);
      return true;
    })
    .slice(0, MAX_ATTEMPTS);
}

/** The attempts named in a problem and its thread (the problem's first). */
export function attemptsIn(problem: { text: string; context?: string }): Attempt[] {
  return detectAttempts([problem.text, problem.context ?? ""].join("\n\n"));
}

import { stemmer } from "stemmer";
import { eng } from "stopword";

/**
 * Text analysis shared by the index, phrase matching and the catalogue lint: lower-cased word
 * tokens, Porter-stemmed (Porter, "An algorithm for suffix stripping", 1980).
 */

const STOPWORDS = new Set(eng);

/** Whether a lower-case word is a common English function word ("the", "on", "would"). */
export function isStopWord(word: string): boolean {
  return STOPWORDS.has(word);
}

/** Splits text into lower-case word tokens (letters and digits), keeping every word. */
export function tokens(text: string): string[] {
  return text
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter((t) => t.length > 0);
}

/** Lower-cases, drops stop words, one-letter tokens and bare numbers, and Porter-stems the rest. */
export function processTerm(term: string): string | null {
  const t = term.toLowerCase();
  if (t.length < 2 || STOPWORDS.has(t) || /^\d+$/.test(t)) return null;
  return stemmer(t);
}

/** Splits text into processed terms (the same analysis the index applies). */
export function analyse(text: string): string[] {
  const out: string[] = [];
  for (const raw of tokens(text)) {
    const t = processTerm(raw);
    if (t) out.push(t);
  }
  return out;
}

/** Every token stemmed, stop words kept: what multi-word signal phrases are matched against. */
export function stems(text: string): string[] {
  return tokens(text).map((t) => stemmer(t));
}

const SEGMENTER = new Intl.Segmenter("en", { granularity: "sentence" });

const LIST_ITEM = /^\s*(?:[-*•]|\d+[.)])\s+/;

/**
 * The sentences of a text, trimmed, in order. Lines wrapped by hand are joined back up, but a
 * blank line, a list item ("- ", "* ", "1. ") or a chat line ("ana: ...") starts a new unit (problems
 * are often bullet lists without full stops); each unit is then split by Unicode sentence
 * boundaries (`Intl.Segmenter`). List markers are dropped.
 */
export function sentences(text: string): string[] {
  const units: string[] = [];
  let current = "";
  for (const line of text.split(/\r?\n/)) {
    const starts =
      line.trim() === "" || LIST_ITEM.test(line) || /^\s*[\w.-]{1,40}( \[bot alert\])?: /.test(line);
    if (starts && current) {
      units.push(current);
      current = "";
    }
    const body = line.replace(LIST_ITEM, "").trim();
    current = current ? `${current} ${body}` : body;
  }
  if (current) units.push(current);
  const out: string[] = [];
  for (const unit of units) {
    for (const { segment } of SEGMENTER.segment(unit)) {
      const s = segment.trim();
      if (s) out.push(s);
    }
  }
  return out;
}

/** How many of the text's words are common English function words ("the", "is", "because"). */
export function functionWordCount(text: string): number {
  return tokens(text).filter((t) => STOPWORDS.has(t)).length;
}

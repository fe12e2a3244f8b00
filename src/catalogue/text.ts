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

/**
 * The sentences of a text, trimmed, in order: each line on its own (problems are often bullet
 * lists without full stops), then split by Unicode sentence boundaries (`Intl.Segmenter`).
 * Leading list markers ("- ", "* ", "1. ") are dropped.
 */
export function sentences(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split(/\r?\n+/)) {
    for (const { segment } of SEGMENTER.segment(line)) {
      const s = segment.trim().replace(/^(?:[-*•]|\d+[.)])\s+/, "");
      if (s) out.push(s);
    }
  }
  return out;
}

/** How many of the text's words are common English function words ("the", "is", "because"). */
export function functionWordCount(text: string): number {
  return tokens(text).filter((t) => STOPWORDS.has(t)).length;
}

import { ErrorCode, LensbotError } from "../errors.js";
import type { Problem } from "./schemas.js";

/** Default cap on the problem statement, in characters (about 4,000 tokens). */
export const DEFAULT_MAX_PROBLEM_CHARS = 16_000;

/**
 * Cuts `text` to at most `maxChars` characters, keeping the start (three quarters of the budget)
 * and the end (where people often put the actual question), with a visible marker in between.
 * Returns the text and, when something was cut, a note for the user.
 */
export function truncateMiddle(text: string, maxChars: number): { text: string; note?: string } {
  if (text.length <= maxChars) return { text };
  const head = Math.floor(maxChars * 0.75);
  const tail = maxChars - head;
  const cut = text.length - head - tail;
  const marker = `\n[… ${cut.toLocaleString("en-US")} characters cut …]\n`;
  return {
    text: `${text.slice(0, head)}${marker}${text.slice(text.length - tail)}`,
    note: `The problem was ${text.length.toLocaleString("en-US")} characters; the middle ${cut.toLocaleString("en-US")} were cut to fit the ${maxChars.toLocaleString("en-US")}-character limit.`,
  };
}

/**
 * Turns raw user text (and optional context such as a thread transcript) into a pipeline Problem.
 * @throws LensbotError `empty_input` when the text is empty or only whitespace.
 */
export function prepareProblem(
  raw: string,
  options: { maxChars?: number; context?: string; notes?: string[] } = {},
): Problem {
  const trimmed = raw.trim();
  if (!trimmed) throw new LensbotError(ErrorCode.EmptyInput, "There is no problem text to analyse.");
  const { text, note } = truncateMiddle(trimmed, options.maxChars ?? DEFAULT_MAX_PROBLEM_CHARS);
  const notes = [...(options.notes ?? []), ...(note ? [note] : [])];
  return options.context ? { text, context: options.context, notes } : { text, notes };
}

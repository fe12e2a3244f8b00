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
 * Whether text looks like binary data rather than writing: a NUL byte, or more than 5% of its
 * characters control characters (other than tab and line breaks) or U+FFFD, which is what
 * invalid UTF-8 decodes to.
 */
export function looksBinary(text: string): boolean {
  if (text.includes("\0")) return true;
  const control = text.match(/\p{Cc}/gu)?.length ?? 0;
  const breaks = text.match(/[\t\n\r]/g)?.length ?? 0;
  const replaced = text.match(/\ufffd/g)?.length ?? 0;
  return control - breaks + replaced > 0.05 * text.length;
}

/**
 * Turns raw user text (and optional context such as a thread transcript) into a pipeline Problem.
 * @throws LensbotError `empty_input` when the text is empty or only whitespace; `unreadable_input`
 *   when it looks like binary data.
 */
export function prepareProblem(
  raw: string,
  options: { maxChars?: number; context?: string; notes?: string[] } = {},
): Problem {
  const trimmed = raw.trim();
  if (!trimmed) throw new LensbotError(ErrorCode.EmptyInput, "There is no problem text to analyse.");
  if (looksBinary(trimmed)) {
    throw new LensbotError(
      ErrorCode.UnreadableInput,
      "That looks like binary data, not a description of a problem. Describe the problem in words.",
    );
  }
  const { text, note } = truncateMiddle(trimmed, options.maxChars ?? DEFAULT_MAX_PROBLEM_CHARS);
  const notes = [...(options.notes ?? []), ...(note ? [note] : [])];
  return options.context ? { text, context: options.context, notes } : { text, notes };
}

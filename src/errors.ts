/**
 * Coded errors, in one place. Each carries a stable `code` for logs and tests, a message for
 * people (safe to show in Slack or a terminal) and optional `detail` that only goes to logs.
 * Idea from bolt-js `errors.ts` (a code enum plus `asCodedError`).
 */
export const ErrorCode = {
  ConfigInvalid: "config_invalid",
  CatalogueInvalid: "catalogue_invalid",
  UnknownLens: "unknown_lens",
  EmptyInput: "empty_input",
  UnreadableInput: "unreadable_input",
  ModelOutputInvalid: "model_output_invalid",
  ModelUnavailable: "model_unavailable",
  StepTimeout: "step_timeout",
  Cancelled: "cancelled",
  SlackRefused: "slack_refused",
  SlackUnavailable: "slack_unavailable",
  /** lensbot is not (or no longer) installed in the workspace a job or event names. */
  SlackNotInstalled: "slack_not_installed",
  /** Redis, where records, digests and the queue live, did not answer. */
  StoreUnavailable: "store_unavailable",
  Internal: "internal",
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/**
 * Codes that will fail the same way however often they are retried. Everything else (a model or
 * Slack that is busy or unreachable, a step that timed out, an internal fault) is worth a retry.
 */
const FINAL: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  ErrorCode.ConfigInvalid,
  ErrorCode.CatalogueInvalid,
  ErrorCode.UnknownLens,
  ErrorCode.EmptyInput,
  ErrorCode.UnreadableInput,
  ErrorCode.ModelOutputInvalid,
  ErrorCode.Cancelled,
  ErrorCode.SlackRefused,
  ErrorCode.SlackNotInstalled,
]);

/** Base class for every error lensbot throws on purpose. */
export class LensbotError extends Error {
  readonly code: ErrorCode;
  /** Extra context for logs; never shown to end users. */
  readonly detail: unknown;

  constructor(code: ErrorCode, message: string, options: { detail?: unknown; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = "LensbotError";
    this.code = code;
    this.detail = options.detail;
  }

  /** Whether trying again later may succeed (see FINAL). */
  get retryable(): boolean {
    return !FINAL.has(this.code);
  }
}

/** A lens file, modes file or cross-reference in the catalogue is wrong. `problems` lists `file: field: message`. */
export class CatalogueError extends LensbotError {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(ErrorCode.CatalogueInvalid, `Lens catalogue is invalid:\n  - ${problems.join("\n  - ")}`);
    this.name = "CatalogueError";
    this.problems = problems;
  }
}

/** A lens name or id that the catalogue does not know; `suggestions` are the closest real names. */
export class UnknownLensError extends LensbotError {
  readonly input: string;
  readonly suggestions: string[];
  constructor(input: string, suggestions: string[]) {
    const hint =
      suggestions.length > 0 ? ` Did you mean ${suggestions.map((s) => `"${s}"`).join(", ")}?` : "";
    super(ErrorCode.UnknownLens, `Unknown lens "${input}".${hint}`);
    this.name = "UnknownLensError";
    this.input = input;
    this.suggestions = suggestions;
  }
}

/**
 * The model's answer was not valid JSON or broke the step's schema, even after one repair attempt.
 * The message is for people; the step, the schema problems (`issues`) and the raw answer are for logs.
 */
export class ModelOutputError extends LensbotError {
  readonly step: string;
  readonly issues: string[];
  constructor(step: string, issues: string[], raw?: string) {
    super(
      ErrorCode.ModelOutputInvalid,
      "The model's answer could not be used, even after asking it to repair it.",
      {
        detail: { step, issues: issues.slice(0, 10), ...(raw !== undefined && { raw: raw.slice(0, 2000) }) },
      },
    );
    this.name = "ModelOutputError";
    this.step = step;
    this.issues = issues;
  }
}

/** The model API could not be reached or kept failing after the SDK's own retries. */
export class ModelUnavailableError extends LensbotError {
  readonly status: number | undefined;
  constructor(step: string, status: number | undefined, cause: unknown) {
    super(
      ErrorCode.ModelUnavailable,
      `The model service could not be reached${status ? ` (HTTP ${status})` : ""}; it may be busy or down.`,
      { cause, detail: { step } },
    );
    this.name = "ModelUnavailableError";
    this.status = status;
  }
}

/** A pipeline step ran past its time limit (ms); the step is in `detail`, for logs. */
export class StepTimeoutError extends LensbotError {
  constructor(step: string, ms: number) {
    super(
      ErrorCode.StepTimeout,
      `A step of the analysis took longer than ${Math.round(ms / 1000)} s and was stopped.`,
      {
        detail: { step, ms },
      },
    );
    this.name = "StepTimeoutError";
  }
}

/** Work was cancelled through an AbortSignal. */
export class CancelledError extends LensbotError {
  constructor(reason?: unknown) {
    super(ErrorCode.Cancelled, "The analysis was cancelled.", { cause: reason });
    this.name = "CancelledError";
  }
}

/**
 * Slack answers that will not change on a retry: lensbot is not in the channel, the channel is gone
 * or archived, or Slack rejected what we sent. Others (`internal_error`, `fatal_error`,
 * `service_unavailable`, `request_timeout`, …) are passing.
 */
const SLACK_FINAL = new Set([
  "not_in_channel",
  "channel_not_found",
  "is_archived",
  "invalid_blocks",
  "invalid_blocks_format",
  "msg_too_long",
  "no_text",
  "too_many_attachments",
  "thread_not_found",
  "message_not_found",
  "cant_update_message",
  "restricted_action",
  "not_authed",
  "invalid_auth",
  "account_inactive",
  "token_revoked",
  "missing_scope",
  "ekm_access_denied",
  "team_access_not_granted",
  "user_not_found",
]);

/**
 * Slack refused or could not take a Web API call. `slackError` is Slack's error string (for
 * platform errors); the message for people says what to do, never Slack's raw answer.
 */
export class SlackError extends LensbotError {
  readonly slackError: string | undefined;
  readonly method: string;
  constructor(method: string, slackError: string | undefined, cause: unknown) {
    const final = slackError !== undefined && SLACK_FINAL.has(slackError);
    super(
      final ? ErrorCode.SlackRefused : ErrorCode.SlackUnavailable,
      slackError === "not_in_channel" || slackError === "channel_not_found"
        ? "I cannot post in this conversation. Invite me first (`/invite @lensbot`) and try again."
        : slackError === "is_archived"
          ? "This channel is archived, so I cannot post in it."
          : final
            ? "Slack refused one of my messages."
            : "Slack could not be reached just now.",
      { cause, detail: { method, slackError } },
    );
    this.name = "SlackError";
    this.slackError = slackError;
    this.method = method;
  }
}

/** Wraps anything thrown into a LensbotError, keeping coded errors as they are. */
export function asLensbotError(err: unknown): LensbotError {
  if (err instanceof LensbotError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new LensbotError(ErrorCode.Internal, "Something went wrong inside lensbot.", {
    detail: message,
    cause: err,
  });
}

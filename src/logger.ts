import { pino } from "pino";

/**
 * The process logger (pino, JSON lines on stdout). Anything that looks like a credential is
 * redacted wherever it appears in a logged object.
 */
export function createLogger(level: string) {
  return pino({
    level,
    redact: {
      paths: [
        "token",
        "*.token",
        "botToken",
        "*.botToken",
        "appToken",
        "*.appToken",
        "apiKey",
        "*.apiKey",
        "signingSecret",
        "*.signingSecret",
        "headers.authorization",
        "*.headers.authorization",
        "err.config.headers.Authorization",
      ],
      censor: "[redacted]",
    },
  });
}

export type Logger = ReturnType<typeof createLogger>;

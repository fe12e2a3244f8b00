import { type DestinationStream, type LoggerOptions, pino } from "pino";

/**
 * The process logger (pino, JSON lines on stdout, or on `destination` when given: `lens mcp` logs
 * to stderr because its stdout is the MCP protocol). Anything that looks like a credential is
 * redacted wherever it appears in a logged object.
 */
export function createLogger(level: string, destination?: DestinationStream) {
  const options: LoggerOptions = {
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
  };
  return destination ? pino(options, destination) : pino(options);
}

export type Logger = ReturnType<typeof createLogger>;

/**
 * What components log through: the pino logger in production, a recorder in tests. An object of
 * fields first (ids, never tokens or thread text), then the message.
 */
export interface LogSink {
  info(o: object, msg?: string): void;
  warn(o: object, msg?: string): void;
  error(o: object, msg?: string): void;
}

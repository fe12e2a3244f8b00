import { ErrorCode, type WebAPIRateLimitedError } from "@slack/web-api";

const isRateLimited = (err: unknown): err is WebAPIRateLimitedError =>
  typeof err === "object" && err !== null && (err as { code?: unknown }).code === ErrorCode.RateLimitedError;

/**
 * Runs a Web API call, and when Slack answers 429 waits out its Retry-After (seconds) and tries
 * again, up to `maxWaits` times. The client itself must be built with `rejectRateLimitedCalls:
 * true`, so rate limits surface here instead of being slept through inside the SDK (whose
 * default retries for up to half an hour).
 * @throws the last rate-limited error after `maxWaits` waits, or any other error at once.
 */
export async function withRateLimit<T>(
  call: () => Promise<T>,
  options: {
    sleep?: (ms: number) => Promise<void>;
    maxWaits?: number;
    onWait?: (seconds: number) => void;
  } = {},
): Promise<T> {
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const maxWaits = options.maxWaits ?? 5;
  for (let attempt = 0; ; attempt++) {
    try {
      return await call();
    } catch (err) {
      if (!isRateLimited(err) || attempt >= maxWaits) throw err;
      options.onWait?.(err.retryAfter);
      await sleep(Math.max(0, err.retryAfter) * 1000);
    }
  }
}

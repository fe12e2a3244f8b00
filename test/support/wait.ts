/**
 * Polls `check` every 25 ms until it returns a truthy value or `timeoutMs` passes: how tests and
 * their setup wait for a condition instead of sleeping. Depends on nothing, so vitest's global
 * setup can use it too.
 * @throws Error "timed out waiting for <what>" after `timeoutMs`; whatever `check` throws.
 */
export async function waitFor<T>(
  check: () => T | Promise<T>,
  timeoutMs = 10_000,
  what = "condition",
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

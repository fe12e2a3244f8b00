/** Every Redis key lensbot writes, in one place. `prefix` isolates deployments and tests. */
export function keys(prefix: string) {
  return {
    /** hash: message slot → ts, for idempotent posting */
    messages: (runId: string) => `${prefix}:run:${runId}:messages`,
    /** string (JSON): the run's analysis record */
    run: (runId: string) => `${prefix}:run:${runId}`,
    /** string: the run id of the latest analysis in a thread */
    thread: (channel: string, threadTs: string) => `${prefix}:thread:${channel}:${threadTs}`,
    /** sorted set: run ids of a channel by creation time (ms), for digests */
    channelRuns: (channel: string) => `${prefix}:channel:${channel}:runs`,
    /** hash: `${lensId}:${userId}` → "up" | "down" */
    feedback: (runId: string) => `${prefix}:run:${runId}:feedback`,
  };
}

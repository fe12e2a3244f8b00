/**
 * Every Redis key lensbot writes, in one place. `prefix` isolates deployments and tests.
 *
 * The keys of one run share the hash tag `{run:<id>}`, so on a Redis Cluster they live in one
 * slot and a script may touch several of them; no operation spans keys of different runs.
 */
export function keys(prefix: string) {
  const run = (runId: string) => `${prefix}:{run:${runId}}`;
  return {
    /** hash: the run's state machine and checkpoints (see `RecordStore`) */
    run,
    /** hash: message slot → `ts:<ts>` once posted, or `claim:<owner>:<ms>` while being posted */
    slots: (runId: string) => `${run(runId)}:slots`,
    /** hash: `${lensId}:${userId}` → "up" | "down" */
    feedback: (runId: string) => `${run(runId)}:feedback`,
    /** string: a trigger seen (Slack delivery or button click), kept for a while to drop duplicates */
    trigger: (key: string) => `${prefix}:trigger:${key}`,
    /** string: the token of the job that holds the run (follow-ups wait for it) */
    lock: (runId: string) => `${run(runId)}:lock`,
    /** string: the run id of the latest analysis in a thread */
    thread: (team: string, channel: string, threadTs: string) =>
      `${prefix}:thread:${team}:${channel}:${threadTs}`,
    /** sorted set: run ids a person asked for, by creation time (ms), for their App Home */
    userRuns: (team: string, user: string) => `${prefix}:user:${team}:${user}:runs`,
    /** set: the channels of a team with a digest config, for App Home */
    digestChannels: (team: string) => `${prefix}:digests:${team}`,
    /** string: a channel's retro digest config (JSON, see `DigestConfig`) */
    digest: (team: string, channel: string) => `${prefix}:digest:${team}:${channel}`,
    /** sorted set: a team's feedback events (JSON `FeedbackEvent`) by time (ms), trimmed to the retention */
    feedbackLog: (team: string) => `${prefix}:feedbacklog:${team}`,
    /** hash: one posted digest (team, channel, ts, the digest as JSON), what its buttons act on */
    digestPost: (digestId: string) => `${prefix}:digestpost:${digestId}`,
    /** hash: user id → "up" | "down", votes on one posted digest */
    digestFeedback: (digestId: string) => `${prefix}:digestpost:${digestId}:feedback`,
    /** string: present while a workspace is known to refuse a Slack feature (`stream`, `table`); expires */
    refused: (team: string, feature: string) => `${prefix}:refused:${team}:${feature}`,
    /** string: a workspace's (`T:<team>`) or organisation's (`E:<enterprise>`) installation, sealed (see `RedisInstallationStore`) */
    installation: (id: string) => `${prefix}:installation:${id}`,
    /** string: an OAuth state handed out by /slack/install (install options as JSON), single use, expiring */
    oauthState: (state: string) => `${prefix}:oauthstate:${state}`,
    /** sorted set: run ids of a channel by creation time (ms), for digests; trimmed to the retention */
    channelRuns: (team: string, channel: string) => `${prefix}:channel:${team}:${channel}:runs`,
  };
}

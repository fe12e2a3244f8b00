import { createHash } from "node:crypto";
import { z } from "zod";

/** The BullMQ queue every analysis goes through. */
export const ANALYSIS_QUEUE = "analysis";

/** What started a run. */
export const Trigger = z.enum([
  "slash_command",
  "app_mention",
  "message_shortcut",
  "direct_message",
  "apply_lens",
  "retry",
  "follow_up",
]);
export type Trigger = z.infer<typeof Trigger>;

/** Payload of one analysis job; checked when enqueued and again when a worker takes it. */
export const AnalysisJobSchema = z.object({
  /** Stable id of the run: the same Slack trigger always maps to the same run. */
  runId: z.string().min(1),
  trigger: Trigger,
  teamId: z.string().optional(),
  channel: z.string().min(1),
  /** The thread the run posts into (for /lens: the root message the listener posted). */
  threadTs: z.string().min(1),
  /** Who asked. */
  userId: z.string().min(1),
  /** The question or problem text as typed (may be empty when the thread itself is the problem). */
  question: z.string(),
  /** Read the thread with conversations.replies and give it to the pipeline as context. */
  readThread: z.boolean(),
  /** The message the question sits on (an @mention, the message a shortcut was used on): always kept. */
  questionTs: z.string().optional(),
  /** Lens ids to apply instead of suggested ones (apply_lens adds one to an earlier run). */
  lensIds: z.array(z.string()).optional(),
  /** Notes for the person about the input, e.g. that an over-long question was cut. */
  notes: z.array(z.string()).optional(),
  /**
   * The trigger's response URL (commands, shortcuts, buttons; Slack honours it for 30 minutes):
   * how the person is told when the thread itself refuses lensbot's posts.
   */
  responseUrl: z.url().optional(),
  /**
   * The run lives in an agent DM thread (Slack's AI app surface): progress also shows as the
   * thread's status (`assistant.threads.setStatus`), naming the step and lens.
   */
  assistantThread: z.boolean().optional(),
  /** When the trigger arrived, ms since the epoch. */
  requestedAt: z.number().int().nonnegative(),
});
export type AnalysisJob = z.infer<typeof AnalysisJobSchema>;

/** The fields every log line about a run carries: run id, team and channel (never text or tokens). */
export function runFields(job: { runId: string; teamId?: string | undefined; channel: string }) {
  return { runId: job.runId, team: job.teamId, channel: job.channel };
}

/**
 * A BullMQ job id from a Slack trigger: `event_id` for events (Slack's retries reuse it and Bolt
 * does not deduplicate), `trigger_id` for commands and shortcuts. Hashed so ids are short and
 * never contain `:` (which BullMQ rejects in custom ids).
 */
export function dedupeKey(kind: string, id: string): string {
  return `${kind}-${createHash("sha256").update(`${kind}:${id}`).digest("hex").slice(0, 24)}`;
}

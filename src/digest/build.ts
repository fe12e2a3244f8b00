import type { Library } from "../catalogue/graph.js";
import { sentences, stems } from "../catalogue/text.js";
import type { RetroRequest, RetroSynthesis } from "../pipeline/schemas.js";
import type { AnalysisRecord, FeedbackEvent } from "../store/records.js";

/** One analysis of the period, as the digest lists it. `ref` ("A1", "A2"…) is how the retro cites it. */
export interface DigestAnalysis {
  ref: string;
  runId: string;
  channel: string;
  threadTs: string;
  createdAt: number;
  /** The synthesis's one-line reframe, or (offline runs have none) the problem's first sentence. */
  headline: string;
  lenses: { id: string; name: string }[];
  /** The synthesis's proposed actions, all horizons (none for offline runs). */
  actions: string[];
  permalink?: string;
}

/** How often something came up this period and the one before. */
export interface Count {
  id: string;
  name: string;
  count: number;
  previous: number;
}

/** An action proposed in several analyses (`refs`), worded as it first was. */
export interface RecurringAction {
  text: string;
  refs: string[];
  /** For actions that came back: how many analyses of earlier periods proposed it already. */
  earlier?: number;
}

/** Everything a digest shows, before it is put into Block Kit or text. */
export interface Digest {
  team: string;
  channel: string;
  sources: string[];
  period: { start: number; end: number };
  /** IANA time zone the period is shown in (the digest's). */
  tz: string;
  /** Posted well after its fire time (the workers were down then). */
  late: boolean;
  analyses: DigestAnalysis[];
  lenses: Count[];
  modes: (Count & { emoji: string })[];
  /** Proposed in more than one analysis of this period. */
  recurringActions: RecurringAction[];
  /** Proposed in an earlier period and proposed again in this one: a sign it was never done. */
  returningActions: RecurringAction[];
  /** A lens nobody used this period that contrasts with the most used one. */
  /** 👍/👎 people gave the cards of this period's analyses (by lens, and "synthesis"), most liked first. */
  feedback: Tally[];
  lensOfPeriod?: {
    id: string;
    name: string;
    /** The most used lens of the period, and in how many analyses. */
    contrastsWith: { id: string; name: string; count: number };
    why: string;
  };
  retro?: RetroSynthesis;
}

/** What a digest reports on: the channel it is for, where its analyses come from, and when. */
export interface DigestScope {
  team: string;
  channel: string;
  sources: string[];
  /** Analyses created in [start, end), ms since the epoch. */
  period: { start: number; end: number };
  /** IANA time zone the period is shown in. */
  tz: string;
  /** Posted well after its fire time. */
  late?: boolean;
}

/** Votes on one kind of card: a lens (by id), or "synthesis". */
export interface Tally {
  id: string;
  name: string;
  up: number;
  down: number;
}

/**
 * Votes per card kind (a lens id, or "synthesis") from feedback events, counting only events on
 * `runIds` when given; most net-liked first.
 */
export function tallyFeedback(
  events: readonly FeedbackEvent[],
  name: (id: string) => string,
  runIds?: ReadonlySet<string>,
): Tally[] {
  const out = new Map<string, Tally>();
  for (const e of events) {
    if (runIds && !runIds.has(e.runId)) continue;
    const t = out.get(e.target) ?? {
      id: e.target,
      name: e.target === "synthesis" ? "Synthesis" : name(e.target),
      up: 0,
      down: 0,
    };
    t[e.vote]++;
    out.set(e.target, t);
  }
  return [...out.values()].sort(
    (a, b) => b.up - b.down - (a.up - a.down) || b.up - a.up || a.name.localeCompare(b.name),
  );
}

/** Action wordings count as the same action when their word stems overlap this much (Jaccard). */
const SAME_ACTION = 0.5;

/**
 * Builds a digest from run records: `current` are the period's records, `previous` the period
 * before (for up/down), `earlier` the records before this period that are still kept (for
 * actions that came back). Only finished runs count; the rest are still running or failed.
 * Pure: no I/O (permalinks and the engine's retro are added by the caller).
 */
export function buildDigest(
  input: DigestScope & {
    current: AnalysisRecord[];
    previous: AnalysisRecord[];
    earlier: AnalysisRecord[];
    /** The team's feedback since the period began; only votes on this period's analyses count. */
    feedback?: FeedbackEvent[];
  },
  library: Library,
): Digest {
  const done = (rs: AnalysisRecord[]) =>
    rs.filter((r) => r.status === "done" && r.suggestion).sort((a, b) => a.createdAt - b.createdAt);
  const current = done(input.current);
  const analyses = current.map((r, i) => describe(r, `A${i + 1}`));
  const previous = done(input.previous);

  const lensCounts = tally(
    current.map((r) => lensIdsOf(r)),
    previous.map((r) => lensIdsOf(r)),
    (id) => library.catalogue.get(id)?.name,
  );
  const modeCounts = tally(
    current.map((r) => (r.suggestion?.modes ?? []).map((m) => m.id)),
    previous.map((r) => (r.suggestion?.modes ?? []).map((m) => m.id)),
    (id) => library.catalogue.getMode(id)?.name,
  ).map((c) => ({ ...c, emoji: library.catalogue.getMode(c.id)?.emoji ?? "" }));

  const clusters = clusterActions(analyses.flatMap((a) => a.actions.map((text) => ({ text, ref: a.ref }))));
  const recurringActions = clusters.filter((c) => c.refs.length > 1);
  const earlierActions = done(input.earlier).flatMap((r) => describe(r, "").actions);
  const returningActions = clusters
    .map((c) => ({ ...c, earlier: earlierActions.filter((e) => similar(stemSet(e), c.stems)).length }))
    .filter((c) => c.earlier > 0);

  return {
    team: input.team,
    channel: input.channel,
    sources: input.sources,
    period: input.period,
    tz: input.tz,
    late: input.late ?? false,
    analyses,
    lenses: lensCounts,
    modes: modeCounts,
    recurringActions: recurringActions.map(({ text, refs }) => ({ text, refs })),
    returningActions: returningActions.map(({ text, refs, earlier }) => ({ text, refs, earlier })),
    feedback: tallyFeedback(
      input.feedback ?? [],
      (id) => library.catalogue.get(id)?.name ?? id,
      new Set(current.map((r) => r.runId)),
    ),
    ...lensOfThePeriod(lensCounts, previous.flatMap(lensIdsOf), library),
  };
}

function lensIdsOf(r: AnalysisRecord): string[] {
  return r.analyses.length > 0
    ? r.analyses.map((a) => a.lens_id)
    : (r.suggestion?.lenses ?? []).map((l) => l.id);
}

function describe(r: AnalysisRecord, ref: string): DigestAnalysis {
  const s = r.synthesis;
  const headline = headlineOf(r);
  const names = new Map((r.suggestion?.lenses ?? []).map((l) => [l.id, l.name]));
  return {
    ref,
    runId: r.runId,
    channel: r.channel,
    threadTs: r.threadTs,
    createdAt: r.createdAt,
    headline,
    lenses: lensIdsOf(r).map((id) => ({ id, name: names.get(id) ?? id })),
    actions:
      s?.source === "model" ? [...s.actions.immediate, ...s.actions.short_term, ...s.actions.long_term] : [],
  };
}

/** One line for an analysis: the synthesis's reframe, or (offline runs have none) see `plainHeadline`. */
export function headlineOf(r: AnalysisRecord): string {
  return r.synthesis?.source === "model" ? r.synthesis.reframe : plainHeadline(r);
}

/**
 * A headline for a run without a model reframe: the first sentence of the thread's opening
 * message when the run read a thread (the question asked in it is often just "why?"), else of
 * the problem as typed. At most 200 characters.
 */
function plainHeadline(r: AnalysisRecord): string {
  const opener = r.problem?.context
    ?.split("\n")
    .find((line) => line.trim() && !line.startsWith("["))
    ?.replace(/^[^:]{1,80}?(?: \[bot alert\])?:\s*/, "");
  const text = opener || r.problem?.text || r.job.question || "";
  return (sentences(text)[0] ?? text).slice(0, 200);
}

/** Counts per id (at most once per analysis), most frequent first, with the previous period's count. */
function tally(current: string[][], previous: string[][], name: (id: string) => string | undefined): Count[] {
  const count = (lists: string[][]) => {
    const out = new Map<string, number>();
    for (const ids of lists) for (const id of new Set(ids)) out.set(id, (out.get(id) ?? 0) + 1);
    return out;
  };
  const now = count(current);
  const before = count(previous);
  return [...now]
    .map(([id, n]) => ({ id, name: name(id) ?? id, count: n, previous: before.get(id) ?? 0 }))
    .sort((a, b) => b.count - a.count || a.name.localeCompare(b.name));
}

function stemSet(text: string): Set<string> {
  return new Set(stems(text));
}

function similar(a: Set<string>, b: Set<string>): boolean {
  let shared = 0;
  for (const s of a) if (b.has(s)) shared++;
  const union = a.size + b.size - shared;
  return shared >= 2 && union > 0 && shared / union >= SAME_ACTION;
}

/** Groups action wordings that say the same thing; each group keeps its first wording. */
function clusterActions(
  actions: { text: string; ref: string }[],
): (RecurringAction & { stems: Set<string> })[] {
  const clusters: (RecurringAction & { stems: Set<string> })[] = [];
  for (const { text, ref } of actions) {
    const s = stemSet(text);
    const home = clusters.find((c) => similar(c.stems, s));
    if (home) {
      if (!home.refs.includes(ref)) home.refs.push(ref);
    } else clusters.push({ text, refs: [ref], stems: s });
  }
  return clusters.sort((a, b) => b.refs.length - a.refs.length);
}

/**
 * The lens of the period: among the lenses that contrast with the most used one (from the lens
 * graph), the first nobody used this period, preferring one not used the period before either.
 */
function lensOfThePeriod(
  counts: Count[],
  previousIds: string[],
  library: Library,
): Pick<Digest, "lensOfPeriod"> {
  const top = counts[0];
  if (!top || !library.catalogue.has(top.id)) return {};
  const used = new Set(counts.map((c) => c.id));
  const candidates = library.graph.contrasts(top.id).filter((c) => !used.has(c.lens.id));
  const pick = candidates.find((c) => !previousIds.includes(c.lens.id)) ?? candidates[0];
  if (!pick) return {};
  return {
    lensOfPeriod: {
      id: pick.lens.id,
      name: pick.lens.name,
      contrastsWith: { id: top.id, name: top.name, count: top.count },
      why: pick.tension,
    },
  };
}

/** What the engine's cross-analysis retro is given (analyses cited by `ref`). */
export function retroRequest(digest: Digest): RetroRequest {
  return {
    analyses: digest.analyses.map((a) => ({
      ref: a.ref,
      headline: a.headline,
      lenses: a.lenses.map((l) => l.id),
      actions: a.actions,
    })),
    recurringLenses: digest.lenses.filter((l) => l.count > 1).map((l) => ({ id: l.id, count: l.count })),
    recurringActions: digest.recurringActions.map((a) => a.text),
  };
}

/** "Mon 23 Nov, 09:30" in `tz`. */
export function when(ms: number, tz: string): string {
  return new Intl.DateTimeFormat("en-GB", {
    timeZone: tz,
    weekday: "short",
    day: "numeric",
    month: "short",
    hour: "2-digit",
    minute: "2-digit",
    hour12: false,
  }).format(ms);
}

/** The period as people read it: "Mon 23 Nov, 09:30 to Mon 30 Nov, 09:30 (Europe/Paris)". */
export function periodLabel(digest: Pick<Digest, "period" | "tz">): string {
  return `${when(digest.period.start, digest.tz)} to ${when(digest.period.end, digest.tz)} (${digest.tz})`;
}

/** How a count moved against the previous period: "↑ from 2", "↓ from 5", "= as before", "new". */
export function trend(c: Pick<Count, "count" | "previous">): string {
  if (c.previous === 0) return "new";
  if (c.count === c.previous) return "same as before";
  return `${c.count > c.previous ? "↑" : "↓"} from ${c.previous}`;
}

/** "used in 3 of 12 analyses", "used in the only analysis". */
export function usedIn(count: number, of: number): string {
  return of === 1 ? "used in the only analysis" : `used in ${count} of ${of} analyses`;
}

/** Refs cited per item before the rest are counted. */
const MAX_REFS = 6;

/** Refs in reading order (A2 before A10), at most six, the rest counted: "A1, A3 and 9 more". */
export function refList(refs: readonly string[]): string {
  const sorted = [...refs].sort((a, b) => Number(a.slice(1)) - Number(b.slice(1)));
  const shown = sorted.slice(0, MAX_REFS).join(", ");
  return sorted.length > MAX_REFS ? `${shown} and ${sorted.length - MAX_REFS} more` : shown;
}

import MiniSearch from "minisearch";
import { stemmer } from "stemmer";
import { eng } from "stopword";
import type { Catalogue } from "./catalogue.js";
import type { Lens, Mode } from "./schema.js";

/** A lens ranked against a problem. `score` is the final blended score (unitless, higher is better). */
export interface RankedLens {
  lens: Lens;
  score: number;
  /** Lexical (BM25+) score normalised to 0-1 against the best lens for this text. */
  lexical: number;
  /** Signal phrases of the lens found in the text. */
  matched: string[];
}

/** A thinking mode ranked against a problem; `lenses` are its lens ids best first for this text. */
export interface RankedMode {
  mode: Mode;
  /** 0-1, relative to the best mode for this text. */
  match_score: number;
  lenses: string[];
}

export interface Ranking {
  lenses: RankedLens[];
  modes: RankedMode[];
}

/** Tuning knobs for `rank`; the defaults were fitted on a development set, never on held-out problems. */
export interface RankWeights {
  /** Weight of a mode's support for its core lenses, relative to the lens's own lexical score. */
  mode: number;
  /** Bonus per multi-word signal phrase found verbatim (after stemming). */
  phrase: number;
  /** How fast a core lens's share of its mode decays with its position in the mode list. */
  positionDecay: number;
  /** How many top modes lend support to their lenses. */
  supportingModes: number;
  /**
   * Weight of a lens's centrality: how many modes list it as a core lens, and how early. Broad
   * lenses (Pace Layering, Feedback Loops) apply to most problems; this lets them surface when
   * the text names none of their signals.
   */
  centrality: number;
}

export const DEFAULT_WEIGHTS: RankWeights = {
  mode: 1,
  phrase: 0.5,
  positionDecay: 0.3,
  supportingModes: 3,
  centrality: 1,
};

const STOPWORDS = new Set(eng);

/**
 * Query words that say nothing about which lens fits: "please help" phrasing (everyone who asks
 * lensbot is stuck and wants a fresh perspective), and words common to every workplace problem
 * (team, new, every, small numbers). With only ~150 short documents, BM25 would otherwise give
 * them a high weight wherever they happen to occur. Dropped from `rank` queries only, not from
 * the index, so `lens search stuck` still works.
 */
const QUERY_NOISE = new Set(
  [
    "new",
    "every",
    "one",
    "two",
    "three",
    "four",
    "five",
    "first",
    "second",
    "third",
    "team",
    "teams",
    "help",
    "stuck",
    "fresh",
    "perspective",
    "role",
    "break",
    "breakthrough",
    "missing",
    "tried",
    "everything",
    "advice",
    "idea",
    "ideas",
    "suggest",
    "suggestions",
    "think",
    "thoughts",
    "please",
    "need",
    "want",
    "wondering",
    "question",
    "questions",
    "approach",
    "solve",
    "solution",
    "problem",
    "problems",
  ].map((w) => stemmer(w)),
);

/** Lower-cases, drops stop words and one-letter tokens, and Porter-stems the rest. */
export function processTerm(term: string): string | null {
  const t = term.toLowerCase();
  if (t.length < 2 || STOPWORDS.has(t) || /^\d+$/.test(t)) return null;
  return stemmer(t);
}

/** Splits text into processed terms (the same analysis the index applies). */
export function analyse(text: string): string[] {
  const out: string[] = [];
  for (const raw of text.split(/[^\p{L}\p{N}]+/u)) {
    const t = raw && processTerm(raw);
    if (t) out.push(t);
  }
  return out;
}

/** term → the positions where it occurs in the analysed text */
function termPositions(terms: readonly string[]): Map<string, number[]> {
  const out = new Map<string, number[]>();
  terms.forEach((t, i) => {
    const list = out.get(t);
    if (list) list.push(i);
    else out.set(t, [i]);
  });
  return out;
}

/**
 * Whether a multi-word signal occurs in order with at most `gap` other terms between each pair
 * of its words ("competitor launched" matches "competitor just launched").
 */
function occursNear(phrase: readonly string[], positions: ReadonlyMap<string, number[]>, gap = 2): boolean {
  const [first, ...rest] = phrase;
  if (first === undefined) return false;
  return (positions.get(first) ?? []).some((start) => {
    let at = start;
    for (const term of rest) {
      const next = (positions.get(term) ?? []).find((p) => p > at && p <= at + 1 + gap);
      if (next === undefined) return false;
      at = next;
    }
    return true;
  });
}

interface LensDoc {
  id: string;
  name: string;
  aliases: string;
  signals: string;
  summary: string;
  questions: string;
}

const LENS_INDEX_OPTIONS = {
  // Definitions are long prose: they added noise to ranking and cost start-up time, and the
  // one-line summary carries their gist.
  fields: ["name", "aliases", "signals", "summary", "questions"],
  processTerm,
};

const FIELD_BOOST = { name: 4, aliases: 3, signals: 3, summary: 1.5, questions: 1 };

/**
 * Lexical index over the catalogue (MiniSearch, BM25+), combined with thinking modes.
 *
 * `rank(problem)` scores every lens by its own lexical match (name, aliases and signals boosted
 * over summary and questions), adds a bonus for whole signal phrases, then lets the
 * best-matching modes lend support to their core lenses, so a lens central to the kind of
 * problem ranks well even when the problem never names it.
 */
export class CatalogueIndex {
  readonly catalogue: Catalogue;
  readonly #lensIndex: MiniSearch<LensDoc>;
  readonly #modeIndex: MiniSearch<{ id: string; text: string }>;
  /** lens id → its multi-word signals, each as processed terms joined by spaces */
  readonly #phrases = new Map<string, { signal: string; terms: string[] }[]>();
  readonly #weights: RankWeights;
  /** lens id → centrality in 0-1 (see RankWeights.centrality) */
  readonly #centrality = new Map<string, number>();
  /** mode id → the sum of its core lenses' shares (see #share), the denominator of mode support */
  readonly #shareTotals = new Map<string, number>();

  /**
   * @param lensIndex a serialised lens index (`toJSON()` of an earlier index over the same
   *   catalogue) to restore instead of indexing again; see `catalogue/snapshot.ts`.
   */
  constructor(catalogue: Catalogue, weights: RankWeights = DEFAULT_WEIGHTS, lensIndex?: string) {
    this.catalogue = catalogue;
    this.#weights = weights;
    if (lensIndex) {
      this.#lensIndex = MiniSearch.loadJSON<LensDoc>(lensIndex, LENS_INDEX_OPTIONS);
    } else {
      this.#lensIndex = new MiniSearch<LensDoc>(LENS_INDEX_OPTIONS);
      this.#lensIndex.addAll(
        catalogue.lenses.map((l) => ({
          id: l.id,
          name: l.name,
          aliases: l.aliases.join(" | "),
          signals: l.signals.join(" | "),
          summary: l.summary,
          questions: l.questions.join(" "),
        })),
      );
    }
    this.#modeIndex = new MiniSearch({ fields: ["text"], processTerm });
    this.#modeIndex.addAll(
      catalogue.modes.map((m) => ({ id: m.id, text: [m.name, m.description, ...m.use_when].join(" ") })),
    );
    for (const mode of catalogue.modes) {
      let total = 0;
      for (const [i, id] of mode.lenses.entries()) {
        this.#centrality.set(id, (this.#centrality.get(id) ?? 0) + this.#share(i));
        total += this.#share(i);
      }
      this.#shareTotals.set(mode.id, total);
    }
    const maxCentrality = Math.max(...this.#centrality.values(), 1);
    for (const [id, c] of this.#centrality) this.#centrality.set(id, c / maxCentrality);
    for (const l of catalogue.lenses) {
      const phrases = l.signals
        .map((signal) => ({ signal, terms: analyse(signal) }))
        .filter((p) => p.terms.length > 1);
      this.#phrases.set(l.id, phrases);
    }
  }

  /**
   * Ranks all lenses and modes against a problem statement (any length; cost grows with the
   * number of distinct terms). Returns every lens with a non-zero score, best first, and every mode.
   */
  rank(text: string): Ranking {
    const w = this.#weights;
    const terms = analyse(text).filter((t) => !QUERY_NOISE.has(t));
    const query = [...new Set(terms)].join(" ");
    const positions = termPositions(terms);

    const lexical = relativeScores(this.#lensIndex, query, { boost: FIELD_BOOST, combineWith: "OR" });
    const matched = new Map<string, string[]>();
    for (const [id, phrases] of this.#phrases) {
      const found = phrases.filter((p) => occursNear(p.terms, positions)).map((p) => p.signal);
      if (found.length > 0) matched.set(id, found);
    }
    const own = (id: string) => (lexical.get(id) ?? 0) + w.phrase * (matched.get(id)?.length ?? 0);

    // Modes: their own text match plus the evidence of their core lenses.
    const modeText = relativeScores(this.#modeIndex, query, { combineWith: "OR" });
    const modeRaw = this.catalogue.modes.map((mode) => {
      const support =
        mode.lenses.reduce((sum, id, i) => sum + own(id) * this.#share(i), 0) /
        (this.#shareTotals.get(mode.id) ?? 1);
      return { mode, raw: support + 0.5 * (modeText.get(mode.id) ?? 0) };
    });
    const bestMode = Math.max(...modeRaw.map((m) => m.raw), Number.MIN_VALUE);
    const modeScores = modeRaw
      .map(({ mode, raw }) => ({ mode, score: raw / bestMode }))
      .sort((a, b) => b.score - a.score || a.mode.id.localeCompare(b.mode.id));

    const boost = new Map<string, number>();
    for (const { mode, score } of modeScores.slice(0, w.supportingModes)) {
      for (const [i, id] of mode.lenses.entries())
        boost.set(id, (boost.get(id) ?? 0) + score * this.#share(i));
    }

    const lenses: RankedLens[] = [];
    for (const lens of this.catalogue.lenses) {
      const score =
        own(lens.id) +
        w.mode * (boost.get(lens.id) ?? 0) +
        w.centrality * (this.#centrality.get(lens.id) ?? 0);
      if (score > 0) {
        lenses.push({ lens, score, lexical: lexical.get(lens.id) ?? 0, matched: matched.get(lens.id) ?? [] });
      }
    }
    lenses.sort((a, b) => b.score - a.score || a.lens.id.localeCompare(b.lens.id));

    const scoreOf = new Map(lenses.map((r) => [r.lens.id, r.score]));
    const modes: RankedMode[] = modeScores.map(({ mode, score }) => ({
      mode,
      match_score: round(score),
      lenses: [...mode.lenses].sort((a, b) => (scoreOf.get(b) ?? 0) - (scoreOf.get(a) ?? 0)).slice(0, 4),
    }));
    return { lenses, modes };
  }

  /** A core lens's share of its mode's support, by its position in the mode's list (first = 1). */
  #share(position: number): number {
    return 1 / (1 + this.#weights.positionDecay * position);
  }

  /** The lens index serialised, for `new CatalogueIndex(catalogue, weights, json)`. */
  lensIndexJSON(): string {
    return JSON.stringify(this.#lensIndex);
  }

  /**
   * Short free-text search for people browsing the catalogue (`lens search`): prefix and fuzzy
   * matching, best first. Scores are BM25+ values (unitless).
   */
  search(query: string, limit = 10): { lens: Lens; score: number }[] {
    return this.#lensIndex
      .search(query, { boost: FIELD_BOOST, prefix: true, fuzzy: 0.2, combineWith: "OR" })
      .slice(0, limit)
      .map((h) => ({ lens: this.catalogue.require(String(h.id)), score: round(h.score) }));
  }
}

/** Search hits as id → score relative to the best hit (0-1]; empty for an empty query. */
function relativeScores<T>(
  index: MiniSearch<T>,
  query: string,
  options: Parameters<MiniSearch<T>["search"]>[1],
): Map<string, number> {
  const out = new Map<string, number>();
  if (!query) return out;
  const hits = index.search(query, options);
  const top = hits[0]?.score ?? 1;
  for (const h of hits) out.set(String(h.id), h.score / top);
  return out;
}

/** How strongly the text itself points at a lens: its lexical match plus one per signal phrase found. */
export const evidenceOf = (r: RankedLens) => r.lexical + r.matched.length;

/**
 * `size` lenses from a ranking: the best by blended score (which favours broad lenses central to
 * the matching modes) with about a third of the places kept for the best by the text's own
 * evidence, so specific lenses the text points at are not crowded out by broad ones.
 * Blended picks come first, in rank order, then the evidence picks.
 */
export function diversify(ranking: Ranking, size: number): RankedLens[] {
  const specific = Math.max(1, Math.round(size / 3));
  const picked = new Set(ranking.lenses.slice(0, Math.max(0, size - specific)));
  const byEvidence = [...ranking.lenses].sort(
    (a, b) => evidenceOf(b) - evidenceOf(a) || a.lens.id.localeCompare(b.lens.id),
  );
  for (const r of [...byEvidence, ...ranking.lenses]) {
    if (picked.size >= size) break;
    picked.add(r);
  }
  return [...picked];
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}

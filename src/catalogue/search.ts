import MiniSearch from "minisearch";
import { stemmer } from "stemmer";
import type { Catalogue } from "./catalogue.js";
import type { Lens, Mode } from "./schema.js";
import { analyse, isStopWord, processTerm, sentences, stems, tokens } from "./text.js";

/** A lens ranked against a problem. */
export interface RankedLens {
  lens: Lens;
  /**
   * Calibrated 0-1: how clearly the text points at this lens rather than at lenses in general,
   * counting only what remains when the lens's single strongest word is taken away (one shared
   * word such as "red" or "queue" is not a fit).
   */
  score: number;
  /**
   * The evidence the ranking orders by: how many standard deviations the lens's log-likelihood
   * stands above the mean over all lenses for this text.
   */
  evidence: number;
  /** Signal phrases, names or aliases of the lens found in the text. */
  matched: string[];
  /** Index into `lens.examples` of the example that shares the most telling words with the text. */
  example?: number;
}

/** A thinking mode ranked against a problem; `lenses` are its lens ids best first for this text. */
export interface RankedMode {
  mode: Mode;
  /** Calibrated 0-1: how well the mode fits, from the scores of the lenses that belong to it. */
  match_score: number;
  lenses: string[];
}

export interface Ranking {
  lenses: RankedLens[];
  modes: RankedMode[];
  /**
   * `clear` when the best lens has strong evidence, `weak` when something matched but nothing
   * stands out, `none` when the text gives no usable evidence (gibberish, or off every topic).
   */
  fit: "clear" | "weak" | "none";
}

/**
 * Tuning knobs for `rank`, chosen from label-free checks on the catalogue's own examples (each
 * example ranked with itself left out; see `selfcheck.ts`), never from labelled problems.
 */
export interface RankWeights {
  /** How many times each word of a field counts in the lens's word counts. */
  fields: {
    name: number;
    aliases: number;
    signals: number;
    summary: number;
    questions: number;
    examples: number;
  };
  /** Dirichlet prior μ (in weighted words): how strongly a lens's word counts are smoothed toward the catalogue's. */
  mu: number;
  /** Evidence per signal phrase, name or alias found in the text (log-likelihood units). */
  phrase: number;
  /**
   * Share of the evidence of a lens's best two linked lenses (related or contrasting) added to its
   * own: neighbours that fit lend a little support, as related ideas tend to travel together.
   */
  neighbours: number;
  /**
   * Robust evidence (in standard deviations above the catalogue's mean, without the lens's single
   * strongest word) at which a lens's score reaches 1 - 1/e (about 0.63).
   */
  scale: number;
  /** Score from which the best lens counts as a clear fit. */
  clear: number;
  /** Score under which the best lens counts as no fit at all. */
  none: number;
}

export const DEFAULT_WEIGHTS: RankWeights = {
  fields: { name: 3, aliases: 3, signals: 2, summary: 1, questions: 0.5, examples: 1 },
  mu: 300,
  phrase: 4,
  neighbours: 0.5,
  scale: 5,
  clear: 0.5,
  none: 0.3,
};

/**
 * Query words that say nothing about which lens fits: "please help" phrasing (everyone who asks
 * lensbot is stuck and wants a fresh perspective), and words common to every workplace problem.
 * Dropped from `rank` queries only, not from browsing search, so `lens search stuck` still works.
 */
const QUERY_NOISE = new Set(
  analyse(
    "new every one two three four five first second third team teams help stuck fresh perspective role breakthrough tried everything advice idea ideas suggest suggestions think thoughts please need want wondering question questions approach solve solution problem problems way better get make like just also really know",
  ),
);

/** A phrase to look for in the text, with its words in order (`small`: a stop word). */
interface Phrase {
  label: string;
  terms: { stem: string; small: boolean }[];
}

/** One lens's word counts (weighted by field) and what is needed to leave one example out. */
interface LensModel {
  id: string;
  counts: Record<string, number>;
  length: number;
  /** Each example's own word counts (already weighted), to subtract for leave-one-out ranking. */
  examples: Record<string, number>[];
}

/** Options for one `rank` call. */
export interface RankOptions {
  /**
   * Leave these examples out (ids `<lens id>#<index>`): used by the label-free check, which ranks
   * each lens's own examples without letting them find themselves.
   */
  exclude?: ReadonlySet<string>;
}

const SEARCH_OPTIONS = {
  fields: ["name", "aliases", "signals", "summary", "questions"],
  processTerm,
};
const SEARCH_BOOST = { name: 4, aliases: 3, signals: 2, summary: 1.5, questions: 1 };

/**
 * The catalogue index: ranks lenses and thinking modes against a problem statement.
 *
 * Each lens is a bag of words from its name, aliases, signals, summary, questions and examples
 * (fields weighted), and a problem is scored against it by query likelihood with Dirichlet
 * smoothing (Zhai and Lafferty, "A Study of Smoothing Methods for Language Models Applied to Ad
 * Hoc Information Retrieval", 2001): a word the lens uses more than the catalogue at large is
 * evidence for it, and long lenses gain nothing from length. Signal phrases, names and aliases
 * found in the text add evidence of their own. Nothing else counts: there is no fixed preference
 * for any lens. A lens's `evidence` is how far its score stands above the mean over all lenses
 * for this text, in standard deviations; its `score` calibrates the same measure taken without
 * its strongest word as `1 - exp(-robust / scale)`, so a text that matches nothing in particular,
 * or only one word, gets low scores rather than a relative 100%.
 */
export class CatalogueIndex {
  readonly catalogue: Catalogue;
  readonly #weights: RankWeights;
  readonly #models: LensModel[];
  /** word → its probability in the whole catalogue (the smoothing background) */
  readonly #background = new Map<string, number>();
  readonly #phrases = new Map<string, Phrase[]>();
  /** lens index → indexes of the lenses it is linked to, either way */
  readonly #links: number[][];
  #search: MiniSearch | undefined;

  /**
   * @param models the `toJSON()` of an earlier index over the same catalogue and weights, to
   *   restore instead of counting words again; see `catalogue/snapshot.ts`.
   */
  constructor(catalogue: Catalogue, weights: RankWeights = DEFAULT_WEIGHTS, models?: LensModel[]) {
    this.catalogue = catalogue;
    this.#weights = weights;
    this.#models = models ?? catalogue.lenses.map((l) => lensModel(l, weights.fields));
    const total = new Map<string, number>();
    let length = 0;
    for (const m of this.#models) {
      for (const [t, n] of Object.entries(m.counts)) total.set(t, (total.get(t) ?? 0) + n);
      length += m.length;
    }
    for (const [t, n] of total) this.#background.set(t, n / length);
    const position = new Map(this.#models.map((m, i) => [m.id, i]));
    this.#links = this.#models.map(() => []);
    for (const l of catalogue.lenses) {
      const from = position.get(l.id);
      for (const id of [...l.related, ...l.contrasts.map((c) => c.id)]) {
        const to = position.get(id);
        if (from === undefined || to === undefined || from === to) continue;
        if (!this.#links[from]?.includes(to)) this.#links[from]?.push(to);
        if (!this.#links[to]?.includes(from)) this.#links[to]?.push(from);
      }
    }
    for (const l of catalogue.lenses) {
      const phrases = [...l.signals, l.name, ...l.aliases]
        .map((label) => ({ label, terms: phraseTerms(label) }))
        // One-word signals already count as words; one-word names and aliases ("TOC", "RCA")
        // are specific enough to count again.
        .filter((p, i) => p.terms.length > 1 || (i >= l.signals.length && p.terms.length === 1));
      this.#phrases.set(l.id, dedupePhrases(phrases));
    }
  }

  /**
   * Ranks every lens and mode against a problem (any length; cost grows with its distinct words).
   * Lenses with any evidence come best first; modes are all returned, best first.
   */
  rank(text: string, options: RankOptions = {}): Ranking {
    const w = this.#weights;
    const scored = this.#score(text, options.exclude);
    const lenses: RankedLens[] = [];
    for (const s of scored.lenses) {
      if (s.evidence <= 0 || (s.matchedTerms === 0 && s.matched.length === 0)) continue;
      const lens = this.catalogue.require(s.id);
      const example = this.#closestExample(s.id, scored.terms, options.exclude);
      lenses.push({
        lens,
        score: this.#calibrate(s.robust),
        evidence: round(s.evidence),
        matched: s.matched,
        ...(example !== undefined && { example }),
      });
    }
    lenses.sort((a, b) => b.score - a.score || b.evidence - a.evidence || a.lens.id.localeCompare(b.lens.id));
    const best = lenses[0]?.score ?? 0;
    const fit = best >= w.clear ? "clear" : best >= w.none ? "weak" : "none";
    return { lenses, modes: this.#rankModes(lenses), fit };
  }

  /**
   * The sentences of `text` that point at one lens, strongest first: at most `limit`, each with
   * its calibrated score and the phrases it matched. A sentence counts when it matches a phrase
   * of the lens or at least two of its telling words; when none does, the single best sentence
   * with any evidence is returned, and nothing when no sentence has any.
   */
  evidenceFor(
    text: string,
    lensId: string,
    limit = 3,
  ): { sentence: string; score: number; matched: string[] }[] {
    this.catalogue.require(lensId);
    const found = sentences(text).flatMap((sentence) => {
      const s = this.#score(sentence).lenses.find((x) => x.id === lensId);
      return s && s.evidence > 0 && (s.matchedTerms > 0 || s.matched.length > 0) ? [{ sentence, ...s }] : [];
    });
    found.sort((a, b) => b.evidence - a.evidence);
    const strong = found.filter((s) => s.matched.length > 0 || s.matchedTerms >= 2);
    return (strong.length > 0 ? strong : found.slice(0, 1)).slice(0, limit).map((s) => ({
      sentence: s.sentence,
      score: this.#calibrate(s.evidence),
      matched: s.matched,
    }));
  }

  #calibrate(evidence: number): number {
    return round(1 - Math.exp(-Math.max(0, evidence) / this.#weights.scale));
  }

  /** Query-likelihood scores of every lens for a text, with phrase evidence (see the class comment). */
  #score(
    text: string,
    exclude?: ReadonlySet<string>,
  ): {
    terms: string[];
    lenses: { id: string; evidence: number; robust: number; matched: string[]; matchedTerms: number }[];
  } {
    const w = this.#weights;
    const terms = [...new Set(analyse(text).filter((t) => !QUERY_NOISE.has(t) && this.#background.has(t)))];
    const positions = termPositions(stems(text));
    const raw = this.#models.map((m) => {
      let counts = m.counts;
      let length = m.length;
      const left = m.examples.filter((_, i) => exclude?.has(`${m.id}#${i}`));
      if (left.length > 0) {
        counts = { ...counts };
        for (const ex of left) {
          for (const [t, n] of Object.entries(ex)) {
            counts[t] = (counts[t] ?? 0) - n;
            length -= n;
          }
        }
      }
      let score = terms.length * Math.log(w.mu / (length + w.mu));
      let matchedTerms = 0;
      let strongest = 0;
      for (const t of terms) {
        const tf = counts[t] ?? 0;
        if (tf <= 0) continue;
        matchedTerms++;
        const gain = Math.log(1 + tf / (w.mu * (this.#background.get(t) ?? 1)));
        score += gain;
        strongest = Math.max(strongest, gain);
      }
      const matched = (this.#phrases.get(m.id) ?? [])
        .filter((p) => occursNear(p.terms, positions))
        .map((p) => p.label);
      score += w.phrase * matched.length;
      return { id: m.id, score, matched, matchedTerms, strongest };
    });
    if (w.neighbours > 0) {
      const own = raw.map((r) => r.score);
      const base = own.reduce((sum, x) => sum + x, 0) / Math.max(1, own.length);
      raw.forEach((r, i) => {
        const [a = base, b = base] = (this.#links[i] ?? []).map((j) => own[j] ?? base).sort((x, y) => y - x);
        r.score += w.neighbours * Math.max(0, (a + b) / 2 - base);
      });
    }
    const mean = raw.reduce((sum, r) => sum + r.score, 0) / Math.max(1, raw.length);
    const variance = raw.reduce((sum, r) => sum + (r.score - mean) ** 2, 0) / Math.max(1, raw.length);
    const spread = Math.sqrt(variance) || 1;
    return {
      terms,
      lenses: raw.map((r) => ({
        id: r.id,
        evidence: (r.score - mean) / spread,
        robust: (r.score - r.strongest - mean) / spread,
        matched: r.matched,
        matchedTerms: r.matchedTerms,
      })),
    };
  }

  /** The example of a lens sharing the most telling words with the query (rarer words count more). */
  #closestExample(
    lensId: string,
    terms: readonly string[],
    exclude?: ReadonlySet<string>,
  ): number | undefined {
    const model = this.#models.find((m) => m.id === lensId);
    let best: number | undefined;
    let bestScore = 0;
    model?.examples.forEach((ex, i) => {
      if (exclude?.has(`${lensId}#${i}`)) return;
      let s = 0;
      for (const t of terms) if (ex[t]) s += -Math.log(this.#background.get(t) ?? 1);
      if (s > bestScore) {
        bestScore = s;
        best = i;
      }
    });
    return best;
  }

  /**
   * A mode's score: the best score among its lenses, raised a little by the next two (several
   * lenses of one mode agreeing), never above 1; zero when no lens of the mode has evidence.
   */
  #rankModes(lenses: readonly RankedLens[]): RankedMode[] {
    const byMode = new Map<string, RankedLens[]>();
    for (const r of lenses) {
      for (const m of r.lens.modes) {
        const list = byMode.get(m) ?? [];
        list.push(r);
        byMode.set(m, list);
      }
    }
    const modes = this.catalogue.modes.map((mode) => {
      const ranked = byMode.get(mode.id) ?? [];
      const [a = 0, b = 0, c = 0] = ranked.map((r) => r.score);
      const match = Math.min(1, a + 0.25 * b * (1 - a) + 0.1 * c * (1 - a));
      const core = mode.lenses.filter((id) => !ranked.some((r) => r.lens.id === id));
      return {
        mode,
        match_score: round(match),
        // The mode's best lenses for this text, then its core lenses as broad starting points.
        lenses: [...ranked.map((r) => r.lens.id), ...core].slice(0, 4),
      };
    });
    return modes.sort((x, y) => y.match_score - x.match_score || x.mode.id.localeCompare(y.mode.id));
  }

  /** The lens word counts, for `new CatalogueIndex(catalogue, weights, json)`. */
  toJSON(): LensModel[] {
    return this.#models;
  }

  /**
   * Short free-text search for people browsing the catalogue (`lens search`): BM25+ with prefix and
   * fuzzy matching (MiniSearch) over names, aliases, signals, summaries and questions, best first.
   * Scores are BM25+ values (unitless). The search index is built on first use.
   */
  search(query: string, limit = 10): { lens: Lens; score: number }[] {
    if (!this.#search) {
      this.#search = new MiniSearch(SEARCH_OPTIONS);
      this.#search.addAll(
        this.catalogue.lenses.map((l) => ({
          id: l.id,
          name: l.name,
          aliases: l.aliases.join(" | "),
          signals: l.signals.join(" | "),
          summary: l.summary,
          questions: l.questions.join(" "),
        })),
      );
    }
    return this.#search
      .search(query, { boost: SEARCH_BOOST, prefix: true, fuzzy: 0.2, combineWith: "OR" })
      .slice(0, limit)
      .map((h) => ({ lens: this.catalogue.require(String(h.id)), score: round(h.score) }));
  }
}

/** A lens's weighted word counts (see `RankWeights.fields`). */
function lensModel(lens: Lens, fields: RankWeights["fields"]): LensModel {
  const counts: Record<string, number> = {};
  let length = 0;
  const add = (text: string, weight: number, into: Record<string, number> = counts) => {
    for (const t of analyse(text)) {
      into[t] = (into[t] ?? 0) + weight;
      if (into !== counts) counts[t] = (counts[t] ?? 0) + weight;
      length += weight;
    }
  };
  add(lens.name, fields.name);
  add(lens.aliases.join(" "), fields.aliases);
  add(lens.signals.join(" "), fields.signals);
  add(lens.summary, fields.summary);
  add(lens.questions.join(" "), fields.questions);
  const examples = lens.examples.map((text) => {
    const own: Record<string, number> = {};
    add(text, fields.examples, own);
    return own;
  });
  return { id: lens.id, counts, length, examples };
}

function phraseTerms(label: string): Phrase["terms"] {
  return tokens(label).map((t) => ({ stem: stemmer(t), small: isStopWord(t) }));
}

/** Drops phrases whose words are the same as an earlier one's. */
function dedupePhrases(phrases: Phrase[]): Phrase[] {
  const seen = new Set<string>();
  return phrases.filter((p) => {
    const key = p.terms.map((t) => t.stem).join(" ");
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** term → the positions where it occurs in the token list */
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
 * Whether a phrase occurs in order: content words may have up to `gap` other words between them
 * ("competitor launched" matches "competitor just launched"), but a small word must sit right
 * next to its neighbour ("waiting on" does not match "waiting for news on").
 */
function occursNear(phrase: Phrase["terms"], positions: ReadonlyMap<string, number[]>, gap = 2): boolean {
  const [first, ...rest] = phrase;
  if (first === undefined) return false;
  return (positions.get(first.stem) ?? []).some((start) => {
    let at = start;
    let previous = first;
    for (const term of rest) {
      const allowed = previous.small || term.small ? 0 : gap;
      const next = (positions.get(term.stem) ?? []).find((p) => p > at && p <= at + 1 + allowed);
      if (next === undefined) return false;
      at = next;
      previous = term;
    }
    return true;
  });
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}

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

/**
 * What `toJSON` saves and the constructor restores, in a compact form that parses fast: the
 * vocabulary, for each word its postings (lens position and weighted count, flattened), each
 * lens's weighted length, and each lens's phrases as [label, stems joined by spaces, a bit mask
 * of the small words].
 */
export interface SerialisedIndex {
  vocabulary: string[];
  postings: number[][];
  lengths: number[];
  phrases: [string, string, number][][];
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
  /** lens ids in catalogue order: a lens's position is its index here */
  readonly #ids: string[];
  /** word → its position in `#postings` and `#background` */
  readonly #vocabulary = new Map<string, number>();
  /** per word: lens position, weighted count, lens position, weighted count, ... */
  readonly #postings: number[][];
  /** per word: its probability in the whole catalogue (the smoothing background) */
  readonly #background: Float64Array;
  /** per lens: its weighted number of words */
  readonly #lengths: number[];
  /** per lens: the phrases to look for */
  readonly #phrases: Phrase[][];
  /** lens id → each example's own weighted word counts, computed when first needed */
  readonly #exampleCounts = new Map<string, Record<string, number>[]>();
  /** lens index → indexes of the lenses it is linked to, either way */
  readonly #links: number[][];
  #search: MiniSearch | undefined;

  /**
   * @param saved the `toJSON()` of an earlier index over the same catalogue and weights, to
   *   restore instead of counting words and parsing phrases again; see `catalogue/snapshot.ts`.
   */
  constructor(catalogue: Catalogue, weights: RankWeights = DEFAULT_WEIGHTS, saved?: SerialisedIndex) {
    this.catalogue = catalogue;
    this.#weights = weights;
    this.#ids = catalogue.lenses.map((l) => l.id);
    const index = saved ?? buildIndex(catalogue.lenses, weights.fields);
    for (const [i, t] of index.vocabulary.entries()) this.#vocabulary.set(t, i);
    this.#postings = index.postings;
    this.#lengths = index.lengths;
    this.#phrases = index.phrases.map((list) =>
      list.map(([label, saved, small]) => ({
        label,
        terms: saved.split(" ").map((stem, i) => ({ stem, small: (small & (1 << i)) !== 0 })),
      })),
    );
    const total = this.#lengths.reduce((sum, n) => sum + n, 0);
    this.#background = Float64Array.from(this.#postings, (list) => {
      let n = 0;
      for (let i = 1; i < list.length; i += 2) n += list[i] ?? 0;
      return n / total;
    });
    const position = new Map(this.#ids.map((id, i) => [id, i]));
    this.#links = this.#ids.map(() => []);
    for (const l of catalogue.lenses) {
      const from = position.get(l.id);
      for (const id of [...l.related, ...l.contrasts.map((c) => c.id)]) {
        const to = position.get(id);
        if (from === undefined || to === undefined || from === to) continue;
        if (!this.#links[from]?.includes(to)) this.#links[from]?.push(to);
        if (!this.#links[to]?.includes(from)) this.#links[to]?.push(from);
      }
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
    const terms = [...new Set(analyse(text).filter((t) => !QUERY_NOISE.has(t) && this.#vocabulary.has(t)))];
    const positions = termPositions(stems(text));
    const n = this.#ids.length;
    const score = Float64Array.from(
      this.#lengths,
      (length) => terms.length * Math.log(w.mu / (length + w.mu)),
    );
    const matchedTerms = new Int32Array(n);
    const strongest = new Float64Array(n);
    for (const t of terms) {
      const at = this.#vocabulary.get(t) as number;
      const list = this.#postings[at] ?? [];
      const background = this.#background[at] ?? 1;
      for (let i = 0; i < list.length; i += 2) {
        const lens = list[i] as number;
        const gain = Math.log(1 + (list[i + 1] as number) / (w.mu * background));
        score[lens] = (score[lens] ?? 0) + gain;
        matchedTerms[lens] = (matchedTerms[lens] ?? 0) + 1;
        if (gain > (strongest[lens] ?? 0)) strongest[lens] = gain;
      }
    }
    if (exclude) this.#leaveOut(exclude, terms, score, matchedTerms, strongest);
    const raw = this.#ids.map((id, i) => {
      const matched = (this.#phrases[i] ?? [])
        .filter((p) => occursNear(p.terms, positions))
        .map((p) => p.label);
      return {
        id,
        score: (score[i] ?? 0) + w.phrase * matched.length,
        matched,
        matchedTerms: matchedTerms[i] ?? 0,
        strongest: strongest[i] ?? 0,
      };
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

  /**
   * Rescores the lenses some of whose examples are left out (see `RankOptions.exclude`): their
   * word counts without those examples, the rest of the index unchanged.
   */
  #leaveOut(
    exclude: ReadonlySet<string>,
    terms: readonly string[],
    score: Float64Array,
    matchedTerms: Int32Array,
    strongest: Float64Array,
  ): void {
    const w = this.#weights;
    this.#ids.forEach((id, lens) => {
      const examples = this.#examplesOf(id);
      const left = examples.filter((_, i) => exclude.has(`${id}#${i}`));
      if (left.length === 0) return;
      const counts = new Map<string, number>();
      for (const t of terms) {
        const list = this.#postings[this.#vocabulary.get(t) as number] ?? [];
        for (let i = 0; i < list.length; i += 2) if (list[i] === lens) counts.set(t, list[i + 1] as number);
      }
      let length = this.#lengths[lens] ?? 0;
      for (const ex of left) {
        for (const [t, c] of Object.entries(ex)) {
          length -= c;
          if (counts.has(t)) counts.set(t, (counts.get(t) ?? 0) - c);
        }
      }
      let s = terms.length * Math.log(w.mu / (length + w.mu));
      let matched = 0;
      let best = 0;
      for (const [t, tf] of counts) {
        if (tf <= 0) continue;
        const gain = Math.log(1 + tf / (w.mu * (this.#background[this.#vocabulary.get(t) as number] ?? 1)));
        s += gain;
        matched++;
        best = Math.max(best, gain);
      }
      score[lens] = s;
      matchedTerms[lens] = matched;
      strongest[lens] = best;
    });
  }

  /** Each example's own weighted word counts, for one lens (computed once, on first use). */
  #examplesOf(lensId: string): Record<string, number>[] {
    let counts = this.#exampleCounts.get(lensId);
    if (!counts) {
      const weight = this.#weights.fields.examples;
      counts = this.catalogue.require(lensId).examples.map((text) => {
        const own: Record<string, number> = {};
        for (const t of analyse(text)) own[t] = (own[t] ?? 0) + weight;
        return own;
      });
      this.#exampleCounts.set(lensId, counts);
    }
    return counts;
  }

  /** The example of a lens sharing the most telling words with the query (rarer words count more). */
  #closestExample(
    lensId: string,
    terms: readonly string[],
    exclude?: ReadonlySet<string>,
  ): number | undefined {
    let best: number | undefined;
    let bestScore = 0;
    this.#examplesOf(lensId).forEach((ex, i) => {
      if (exclude?.has(`${lensId}#${i}`)) return;
      let s = 0;
      for (const t of terms)
        if (ex[t]) s += -Math.log(this.#background[this.#vocabulary.get(t) as number] ?? 1);
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

  /** The word counts and parsed phrases, for `new CatalogueIndex(catalogue, weights, saved)`. */
  toJSON(): SerialisedIndex {
    return {
      vocabulary: [...this.#vocabulary.keys()],
      postings: this.#postings,
      lengths: this.#lengths,
      phrases: this.#phrases.map(savePhrases),
    };
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

/** Counts each lens's words (weighted by field, see `RankWeights.fields`) into postings, and parses its phrases. */
function buildIndex(lenses: readonly Lens[], fields: RankWeights["fields"]): SerialisedIndex {
  const vocabulary = new Map<string, number>();
  const postings: number[][] = [];
  const lengths: number[] = [];
  lenses.forEach((lens, position) => {
    const counts = new Map<string, number>();
    let length = 0;
    const add = (text: string, weight: number) => {
      for (const t of analyse(text)) {
        counts.set(t, (counts.get(t) ?? 0) + weight);
        length += weight;
      }
    };
    add(lens.name, fields.name);
    add(lens.aliases.join(" "), fields.aliases);
    add(lens.signals.join(" "), fields.signals);
    add(lens.summary, fields.summary);
    add(lens.questions.join(" "), fields.questions);
    for (const example of lens.examples) add(example, fields.examples);
    for (const [t, n] of counts) {
      let at = vocabulary.get(t);
      if (at === undefined) {
        at = postings.length;
        vocabulary.set(t, at);
        postings.push([]);
      }
      postings[at]?.push(position, n);
    }
    lengths.push(length);
  });
  return {
    vocabulary: [...vocabulary.keys()],
    postings,
    lengths,
    phrases: lenses.map((l) => savePhrases(lensPhrases(l))),
  };
}

/** Phrases in the compact form of `SerialisedIndex.phrases`. */
function savePhrases(phrases: readonly Phrase[]): [string, string, number][] {
  return phrases.map((p) => [
    p.label,
    p.terms.map((t) => t.stem).join(" "),
    p.terms.reduce((mask, t, i) => (t.small ? mask | (1 << i) : mask), 0),
  ]);
}

/**
 * The phrases to look for: multi-word signals, and the name and aliases. One-word signals
 * already count as words; one-word names and aliases ("TOC", "RCA") are specific enough to
 * count again.
 */
function lensPhrases(lens: Lens): Phrase[] {
  const phrases = [...lens.signals, lens.name, ...lens.aliases]
    .map((label) => ({ label, terms: phraseTerms(label) }))
    .filter((p, i) => p.terms.length > 1 || (i >= lens.signals.length && p.terms.length === 1));
  return dedupePhrases(phrases);
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

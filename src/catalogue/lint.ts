import type { Catalogue } from "./catalogue.js";
import { LensGraph } from "./graph.js";
import { normaliseName } from "./names.js";
import type { Lens } from "./schema.js";
import { analyse } from "./text.js";

/**
 * Editorial checks on the catalogue beyond its shape (`schema.ts`) and references (`load.ts`):
 * what `npm run lint:lenses` enforces so every lens stays complete, findable and distinct. The
 * rules are explained for authors in `lenses/GUIDE.md`. Each problem is `file: field: message`.
 */

/** Bounds on text fields, in characters (examples and signals are also capped in the schema). */
export const BOUNDS = {
  summary: [40, 300],
  definition: [250, 1500],
  example: [40, 320],
  tension: [30, 300],
  question: [15, 200],
} as const;

/** Signals a lens needs so that problems told in everyday words can still find it. */
export const MIN_SIGNALS = 8;

/** Two definitions closer than this (cosine of their term vectors, 0-1) describe the same idea twice. */
export const NEAR_DUPLICATE = 0.6;

/**
 * Words that fit nearly every workplace problem: as a signal on their own they would make a lens
 * show up everywhere.
 */
const GENERIC_SIGNALS = new Set(
  [
    "slow",
    "team",
    "teams",
    "problem",
    "problems",
    "issue",
    "issues",
    "process",
    "users",
    "customers",
    "performance",
    "growth",
    "quality",
    "change",
    "data",
    "time",
    "work",
    "project",
    "product",
    "system",
    "strategy",
    "decision",
    "risk",
    "people",
    "stuck",
  ].map(normaliseName),
);

const YEAR = /\b(1[0-9]{3}|20[0-9]{2})\b/;

/** Sentences in `text`: ends of sentences are ., ! or ? followed by a space and a capital, or the end. */
export function sentenceCount(text: string): number {
  return text
    .trim()
    .split(/(?<=[.!?]["')\]]?)\s+(?=["'(]?[A-Z0-9])/)
    .filter((s) => s.trim()).length;
}

function within(value: string, [min, max]: readonly [number, number]): boolean {
  return value.length >= min && value.length <= max;
}

/** Whether `phrase` occurs in `text` as whole words, ignoring case and punctuation. */
function mentions(text: string, phrase: string): boolean {
  const p = normaliseName(phrase);
  return p.length > 0 && ` ${normaliseName(text)} `.includes(` ${p} `);
}

/** Problems with one lens on its own. */
export function lintLens(lens: Lens, file = `${lens.id}.yaml`): string[] {
  const out: string[] = [];
  const add = (field: string, message: string) => out.push(`${file}: ${field}: ${message}`);

  if (YEAR.test(lens.origin.work)) add("origin.work", "the year belongs in origin.year only");
  if (!within(lens.summary, BOUNDS.summary))
    add("summary", `should be ${BOUNDS.summary.join("-")} characters`);
  if (!within(lens.definition, BOUNDS.definition))
    add("definition", `should be ${BOUNDS.definition.join("-")} characters`);

  const names = [lens.name, ...lens.aliases];
  lens.examples.forEach((example, i) => {
    if (!within(example, BOUNDS.example))
      add(`examples.${i}`, `should be ${BOUNDS.example.join("-")} characters`);
    if (sentenceCount(example) > 2) add(`examples.${i}`, "should be one or two sentences");
    const named = names.find((n) => mentions(example, n));
    if (named) add(`examples.${i}`, `names the lens ("${named}"); describe the situation instead`);
  });
  if (new Set(lens.examples.map(normaliseName)).size < lens.examples.length)
    add("examples", "has duplicates");

  lens.questions.forEach((q, i) => {
    if (!q.trim().endsWith("?")) add(`questions.${i}`, "should be a question ending in ?");
    if (!within(q, BOUNDS.question))
      add(`questions.${i}`, `should be ${BOUNDS.question.join("-")} characters`);
  });

  if (lens.signals.length < MIN_SIGNALS) add("signals", `needs at least ${MIN_SIGNALS}`);
  const seen = new Set<string>();
  lens.signals.forEach((s, i) => {
    const key = normaliseName(s);
    if (seen.has(key)) add(`signals.${i}`, `duplicate "${s}"`);
    seen.add(key);
    if (GENERIC_SIGNALS.has(key))
      add(`signals.${i}`, `"${s}" fits almost any problem; use a phrase that pins it`);
    if (analyse(s).length === 0) add(`signals.${i}`, `"${s}" has no searchable word`);
  });

  if (new Set(lens.related).size < lens.related.length) add("related", "has duplicates");
  if (lens.related.some((id) => lens.contrasts.some((c) => c.id === id)))
    add("related", "a lens cannot be both related and a contrast");
  lens.contrasts.forEach((c, i) => {
    if (!within(c.tension, BOUNDS.tension))
      add(`contrasts.${i}.tension`, `should be ${BOUNDS.tension.join("-")} characters`);
  });
  if (new Set(lens.modes).size < lens.modes.length) add("modes", "has duplicates");
  if (new Set(lens.frames).size < lens.frames.length) add("frames", "has duplicates");
  return out;
}

/** Term-frequency vector of a text, over analysed (stemmed, stop-word-free) terms. */
function termVector(text: string): Map<string, number> {
  const v = new Map<string, number>();
  for (const t of analyse(text)) v.set(t, (v.get(t) ?? 0) + 1);
  return v;
}

/** Pairs of lenses whose definitions are near duplicates (TF-IDF cosine ≥ `threshold`), most similar first. */
export function nearDuplicates(
  lenses: readonly Lens[],
  threshold = NEAR_DUPLICATE,
): { a: string; b: string; similarity: number }[] {
  const vectors = lenses.map((l) => termVector(`${l.summary} ${l.definition}`));
  const df = new Map<string, number>();
  for (const v of vectors) for (const t of v.keys()) df.set(t, (df.get(t) ?? 0) + 1);
  const weighted = vectors.map((v) => {
    const w = new Map<string, number>();
    let norm = 0;
    for (const [t, tf] of v) {
      const x = tf * Math.log(lenses.length / (df.get(t) ?? 1));
      w.set(t, x);
      norm += x * x;
    }
    return { w, norm: Math.sqrt(norm) || 1 };
  });
  const out: { a: string; b: string; similarity: number }[] = [];
  weighted.forEach((x, i) => {
    weighted.slice(i + 1).forEach((y, k) => {
      let dot = 0;
      for (const [t, a] of x.w) dot += a * (y.w.get(t) ?? 0);
      const similarity = dot / (x.norm * y.norm);
      const a = lenses[i];
      const b = lenses[i + 1 + k];
      if (a && b && similarity >= threshold) out.push({ a: a.id, b: b.id, similarity });
    });
  });
  return out.sort((p, q) => q.similarity - p.similarity);
}

/**
 * Every editorial problem in the catalogue: each lens on its own (`lintLens`), then the whole:
 * near-duplicate definitions, lenses the graph cannot reach, modes and frames too thin to browse.
 */
export function lintCatalogue(catalogue: Catalogue): string[] {
  const out = catalogue.lenses.flatMap((l) => lintLens(l));
  const components = new LensGraph(catalogue).components();
  if (components.length > 1) {
    const [main, ...rest] = [...components].sort((a, b) => b.length - a.length);
    for (const group of rest) {
      out.push(
        `${group[0]}.yaml: related: ${group.join(", ")} cannot be reached from the other ${main?.length ?? 0} lenses; link them`,
      );
    }
  }
  for (const d of nearDuplicates(catalogue.lenses)) {
    out.push(
      `${d.a}.yaml: definition: reads like ${d.b}.yaml (similarity ${d.similarity.toFixed(2)}); make them distinct`,
    );
  }
  for (const mode of catalogue.modes) {
    const n = catalogue.lenses.filter((l) => l.modes.includes(mode.id)).length;
    if (n < 5) out.push(`modes.yaml: ${mode.id}: only ${n} lenses list this mode (at least 5)`);
  }
  for (const frame of catalogue.frames) {
    const n = catalogue.lenses.filter((l) => l.frames.includes(frame.id)).length;
    if (n < 3) out.push(`frames.yaml: ${frame.id}: only ${n} lenses list this frame (at least 3)`);
  }
  return out;
}

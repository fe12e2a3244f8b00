import { distance } from "fastest-levenshtein";
import { UnknownLensError } from "../errors.js";
import { normaliseName } from "./names.js";
import type { Frame, Lens, Mode } from "./schema.js";

/**
 * The validated, read-only lens catalogue: every lens, thinking mode and frame, with look-ups by id,
 * name or alias. Build it with `loadCatalogue` (from files) or `new Catalogue` (already validated data).
 */
export class Catalogue {
  readonly lenses: readonly Lens[];
  readonly modes: readonly Mode[];
  readonly frames: readonly Frame[];
  readonly #byId = new Map<string, Lens>();
  readonly #modeById = new Map<string, Mode>();
  /** normalised id, name or alias → lens id */
  readonly #byName = new Map<string, string>();

  constructor(lenses: readonly Lens[], modes: readonly Mode[], frames: readonly Frame[] = []) {
    this.lenses = [...lenses].sort((a, b) => a.id.localeCompare(b.id));
    this.modes = modes;
    this.frames = frames;
    for (const lens of this.lenses) {
      this.#byId.set(lens.id, lens);
      for (const n of [lens.id, lens.name, ...lens.aliases]) this.#byName.set(normaliseName(n), lens.id);
    }
    for (const mode of modes) this.#modeById.set(mode.id, mode);
  }

  /** The lens with this exact id, or undefined. */
  get(id: string): Lens | undefined {
    return this.#byId.get(id);
  }

  /** Like `get`, but throws when the id is unknown (for ids that validation already guaranteed). */
  require(id: string): Lens {
    const lens = this.#byId.get(id);
    if (!lens) throw new UnknownLensError(id, this.closestNames(id));
    return lens;
  }

  getMode(id: string): Mode | undefined {
    return this.#modeById.get(id);
  }

  getFrame(id: string): Frame | undefined {
    return this.frames.find((f) => f.id === id);
  }

  /** Whether `id` is a lens id in this catalogue (used to drop ids a model invented). */
  has(id: string): boolean {
    return this.#byId.has(id);
  }

  /** Finds a lens by id, name or alias, ignoring case and punctuation. */
  find(nameOrId: string): Lens | undefined {
    const id = this.#byName.get(normaliseName(nameOrId));
    return id === undefined ? undefined : this.#byId.get(id);
  }

  /**
   * Resolves each name to a lens, in order, without duplicates.
   * @throws UnknownLensError for the first unknown name, with "did you mean" suggestions.
   */
  resolveAll(names: readonly string[]): Lens[] {
    const out: Lens[] = [];
    for (const name of names) {
      const lens = this.find(name);
      if (!lens) throw new UnknownLensError(name, this.closestNames(name));
      if (!out.includes(lens)) out.push(lens);
    }
    return out;
  }

  /**
   * Up to `limit` lens names closest to `input` by edit distance over ids, names and aliases,
   * or containing it as a word. Used for "did you mean ...".
   */
  closestNames(input: string, limit = 3): string[] {
    const q = normaliseName(input);
    if (!q) return [];
    const scored: { name: string; d: number }[] = [];
    for (const lens of this.lenses) {
      const keys = [lens.id, lens.name, ...lens.aliases].map(normaliseName);
      const best = Math.min(...keys.map((k) => distance(q, k)));
      const contains = keys.some((k) => k.includes(q) || q.includes(k));
      const d = contains ? Math.min(best, 1) : best;
      // Allow roughly one edit per three characters.
      if (d <= Math.max(2, Math.ceil(q.length / 3))) scored.push({ name: lens.name, d });
    }
    return scored
      .sort((a, b) => a.d - b.d || a.name.localeCompare(b.name))
      .slice(0, limit)
      .map((s) => s.name);
  }

  /** Ids from `ids` that exist in the catalogue, in order, without duplicates. */
  keepKnown(ids: readonly string[]): string[] {
    return [...new Set(ids.filter((id) => this.#byId.has(id)))];
  }
}

import { UndirectedGraph } from "graphology";
import { connectedComponents } from "graphology-components";
import { pagerank } from "graphology-metrics/centrality/index.js";
import { bidirectional, singleSourceLength } from "graphology-shortest-path/unweighted.js";
import type { Catalogue } from "./catalogue.js";
import type { Frame, Lens, Mode } from "./schema.js";
import { CatalogueIndex } from "./search.js";
import type { OpenCatalogue } from "./snapshot.js";

/** The catalogue with everything built on it: the search index and the lens graph. */
export interface Library extends OpenCatalogue {
  graph: LensGraph;
}

/** Adds the lens graph to an opened catalogue. */
export function withGraph(opened: OpenCatalogue): Library {
  return { ...opened, graph: new LensGraph(opened.catalogue) };
}

/** The whole library for a catalogue already in memory (tests and tools). */
export function libraryOf(catalogue: Catalogue): Library {
  return withGraph({ catalogue, index: new CatalogueIndex(catalogue) });
}

/** How two lenses are linked: `related` (useful together) or `contrast` (they pull apart). */
export type LinkKind = "related" | "contrast";

/** One step of a journey between lenses. */
export interface JourneyStep {
  from: Lens;
  to: Lens;
  kind: LinkKind;
  /** For a contrast, the tension between the two lenses in one line. */
  tension?: string;
}

/** What an analysis that used some lenses leaves out, and the lenses that would widen it most. */
export interface Gaps {
  /** Thinking modes none of the used lenses belongs to. */
  missingModes: Mode[];
  /** Frames none of the used lenses belongs to. */
  missingFrames: Frame[];
  /** Unused lenses linked to the used ones, best first, with what each would add. */
  widen: { lens: Lens; addsModes: Mode[]; addsFrames: Frame[]; via: Lens; kind: LinkKind; score: number }[];
}

interface EdgeAttributes {
  kind: LinkKind;
  tension?: string;
}

/**
 * The lens graph: lenses as nodes, `related` and `contrasts` links as undirected edges (a link
 * written in either lens's file counts both ways), on graphology. Gives related and contrasting
 * lenses, journeys (fewest steps between two lenses), bridges, central lenses (PageRank; Brin and
 * Page, 1998), neighbourhoods, random provocations and gaps.
 */
export class LensGraph {
  readonly catalogue: Catalogue;
  readonly #graph = new UndirectedGraph<Record<string, never>, EdgeAttributes>();
  #pagerank: Map<string, number> | undefined;

  constructor(catalogue: Catalogue) {
    this.catalogue = catalogue;
    for (const lens of catalogue.lenses) this.#graph.addNode(lens.id);
    for (const lens of catalogue.lenses) {
      // Contrasts first: when two lenses are both related and contrasting, the tension is the
      // more useful label.
      for (const c of lens.contrasts) this.#link(lens.id, c.id, { kind: "contrast", tension: c.tension });
      for (const id of lens.related) this.#link(lens.id, id, { kind: "related" });
    }
  }

  #link(a: string, b: string, attributes: EdgeAttributes): void {
    if (a === b || !this.#graph.hasNode(b) || this.#graph.hasEdge(a, b)) return;
    this.#graph.addEdge(a, b, attributes);
  }

  /** Lenses linked to `id` by a related link in either direction, in catalogue order. */
  related(id: string): Lens[] {
    return this.#neighbours(id, "related");
  }

  /** Lenses that contrast with `id` (either file may name the contrast), with the tension. */
  contrasts(id: string): { lens: Lens; tension: string }[] {
    return this.#neighbours(id, "contrast").map((lens) => ({
      lens,
      tension: this.#graph.getEdgeAttributes(id, lens.id).tension ?? "",
    }));
  }

  #neighbours(id: string, kind: LinkKind): Lens[] {
    this.catalogue.require(id);
    return this.#graph
      .neighbors(id)
      .filter((n) => this.#graph.getEdgeAttributes(id, n).kind === kind)
      .sort()
      .map((n) => this.catalogue.require(n));
  }

  /**
   * The fewest-steps path from lens `a` to lens `b` over related and contrast links, each step
   * labelled; an empty list when `a` is `b`, undefined when no path exists.
   * @throws UnknownLensError for an unknown id.
   */
  journey(a: string, b: string): JourneyStep[] | undefined {
    this.catalogue.require(a);
    this.catalogue.require(b);
    if (a === b) return [];
    const path = bidirectional(this.#graph, a, b);
    if (!path) return undefined;
    return path.slice(1).map((to, i) => {
      const from = path[i] as string;
      const edge = this.#graph.getEdgeAttributes(from, to);
      return {
        from: this.catalogue.require(from),
        to: this.catalogue.require(to),
        kind: edge.kind,
        ...(edge.tension && { tension: edge.tension }),
      };
    });
  }

  /**
   * Lenses that connect two lenses (linked to both), or two thinking modes (lenses in both modes,
   * else lenses of one mode linked to a lens of the other), best connected first.
   */
  bridges(a: string, b: string): Lens[] {
    const modeA = this.catalogue.getMode(a);
    const modeB = this.catalogue.getMode(b);
    if (modeA && modeB) {
      const inA = this.catalogue.lenses.filter((l) => l.modes.includes(modeA.id));
      const both = inA.filter((l) => l.modes.includes(modeB.id));
      if (both.length > 0) return this.#byCentrality(both);
      const inB = new Set(this.catalogue.lenses.filter((l) => l.modes.includes(modeB.id)).map((l) => l.id));
      return this.#byCentrality(inA.filter((l) => this.#graph.neighbors(l.id).some((n) => inB.has(n))));
    }
    this.catalogue.require(a);
    this.catalogue.require(b);
    const nearB = new Set(this.#graph.neighbors(b));
    return this.#byCentrality(
      this.#graph
        .neighbors(a)
        .filter((n) => nearB.has(n))
        .map((n) => this.catalogue.require(n)),
    );
  }

  /** The `limit` most central lenses by PageRank over the link graph, most central first. */
  central(limit = 10): { lens: Lens; centrality: number }[] {
    const ranks = this.#ranks();
    return [...ranks]
      .sort((x, y) => y[1] - x[1] || x[0].localeCompare(y[0]))
      .slice(0, limit)
      .map(([id, centrality]) => ({ lens: this.catalogue.require(id), centrality }));
  }

  #ranks(): Map<string, number> {
    this.#pagerank ??= new Map(Object.entries(pagerank(this.#graph, { getEdgeWeight: null })));
    return this.#pagerank;
  }

  #byCentrality(lenses: Lens[]): Lens[] {
    const ranks = this.#ranks();
    return [...lenses].sort(
      (x, y) => (ranks.get(y.id) ?? 0) - (ranks.get(x.id) ?? 0) || x.id.localeCompare(y.id),
    );
  }

  /** Lenses within `depth` links of `id` (not `id` itself), nearest first, then by id. */
  neighbourhood(id: string, depth = 1): { lens: Lens; distance: number }[] {
    this.catalogue.require(id);
    const lengths = singleSourceLength(this.#graph, id);
    return Object.entries(lengths)
      .filter(([n, d]) => n !== id && d <= depth)
      .sort((x, y) => x[1] - y[1] || x[0].localeCompare(y[0]))
      .map(([n, distance]) => ({ lens: this.catalogue.require(n), distance }));
  }

  /**
   * A random lens as a provocation, weighted toward lenses the team has not used: an unused lens
   * is `unusedWeight` times as likely as a used one.
   * @param random a source of numbers in [0, 1) (inject a seeded one in tests).
   */
  random(random: () => number, used: ReadonlySet<string> = new Set(), unusedWeight = 5): Lens {
    const lenses = this.catalogue.lenses;
    const weights = lenses.map((l) => (used.has(l.id) ? 1 : unusedWeight));
    let pick = random() * weights.reduce((s, w) => s + w, 0);
    for (const [i, w] of weights.entries()) {
      pick -= w;
      if (pick < 0) return lenses[i] as Lens;
    }
    return lenses[lenses.length - 1] as Lens;
  }

  /**
   * What an analysis with `lensIds` leaves out: the modes and frames none of them covers, and the
   * linked lenses that would widen the view most (each scored by the modes and frames it adds,
   * with a contrast counting extra because it argues with what the analysis already holds).
   * @throws UnknownLensError for an unknown id.
   */
  gaps(lensIds: readonly string[], limit = 5): Gaps {
    const used = lensIds.map((id) => this.catalogue.require(id));
    const usedIds = new Set(used.map((l) => l.id));
    const modes = new Set(used.flatMap((l) => l.modes));
    const frames = new Set(used.flatMap((l) => l.frames));
    const candidates = new Map<string, Gaps["widen"][number]>();
    for (const from of used) {
      for (const n of this.#graph.neighbors(from.id)) {
        if (usedIds.has(n)) continue;
        const lens = this.catalogue.require(n);
        const kind = this.#graph.getEdgeAttributes(from.id, n).kind;
        const addsModes = lens.modes
          .filter((m) => !modes.has(m))
          .flatMap((m) => this.catalogue.getMode(m) ?? []);
        const addsFrames = lens.frames
          .filter((f) => !frames.has(f))
          .flatMap((f) => this.catalogue.getFrame(f) ?? []);
        const score = addsModes.length * 2 + addsFrames.length + (kind === "contrast" ? 1.5 : 0);
        const seen = candidates.get(n);
        if (!seen || score > seen.score)
          candidates.set(n, { lens, addsModes, addsFrames, via: from, kind, score });
      }
    }
    const ranks = this.#ranks();
    return {
      missingModes: this.catalogue.modes.filter((m) => !modes.has(m.id)),
      missingFrames: this.catalogue.frames.filter((f) => !frames.has(f.id)),
      widen: [...candidates.values()]
        .sort(
          (x, y) =>
            y.score - x.score ||
            (ranks.get(y.lens.id) ?? 0) - (ranks.get(x.lens.id) ?? 0) ||
            x.lens.id.localeCompare(y.lens.id),
        )
        .slice(0, limit),
    };
  }

  /**
   * The one lens that would widen an analysis with `lensIds` most: among the linked lenses that
   * add what the analysis lacks (see `gaps`), the one the problem's text supports most (`fit`, a
   * lens id → score from the index's ranking), with one line on why. Undefined when every linked
   * lens is already used.
   * @throws UnknownLensError for an unknown id.
   */
  widening(
    lensIds: readonly string[],
    fit: ReadonlyMap<string, number>,
  ): { lens: Lens; because: string } | undefined {
    const wider = this.gaps(lensIds, 8)
      .widen.map((w, i) => ({ w, i, fit: fit.get(w.lens.id) ?? 0 }))
      .sort((a, b) => b.fit - a.fit || a.i - b.i)[0]?.w;
    if (!wider) return undefined;
    const tension =
      wider.lens.contrasts.find((c) => c.id === wider.via.id)?.tension ??
      wider.via.contrasts.find((c) => c.id === wider.lens.id)?.tension;
    return {
      lens: wider.lens,
      because:
        wider.kind === "contrast"
          ? `it argues with ${wider.via.name}: ${tension ?? wider.lens.summary}`
          : `${wider.lens.summary}${wider.addsModes.length ? ` It adds ${wider.addsModes.map((m) => m.name.toLowerCase()).join(" and ")}.` : ""}`,
    };
  }

  /** Groups of lenses that cannot reach each other; one group when every lens is reachable. */
  components(): string[][] {
    return connectedComponents(this.#graph).map((c) => c.sort());
  }
}

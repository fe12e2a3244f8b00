import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Catalogue } from "./catalogue.js";
import { loadCatalogue } from "./load.js";
import type { Frame, Lens, Mode } from "./schema.js";
import { CatalogueIndex, DEFAULT_WEIGHTS } from "./search.js";

/**
 * A build-time snapshot of the validated catalogue and its index, so a CLI call or a fresh worker
 * skips parsing 300+ YAML files, validating them and indexing them. It is used only when its fingerprint matches the lens files' current
 * contents; any edit falls back to the full load, so a stale snapshot is never served.
 */
interface Snapshot {
  version: typeof VERSION;
  fingerprint: string;
  lenses: Lens[];
  modes: Mode[];
  frames: Frame[];
  /** The index's per-lens word counts (see `CatalogueIndex.toJSON`) */
  index: ReturnType<CatalogueIndex["toJSON"]>;
}

/** Bumped whenever the snapshot's shape or the index's documents change. */
const VERSION = 3;

/** Where `npm run build` writes the snapshot: next to the compiled code (dist/). */
export const SNAPSHOT_FILE = fileURLToPath(new URL("../catalogue.snapshot.json", import.meta.url));

/** SHA-256 over the names and contents of the catalogue's YAML files, in name order. */
export function fingerprint(dir: string): string {
  const hash = createHash("sha256");
  for (const file of readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()) {
    hash
      .update(file)
      .update("\0")
      .update(readFileSync(join(dir, file)))
      .update("\0");
  }
  return hash.digest("hex");
}

/** Validates the catalogue in `dir`, indexes it and writes the snapshot to `file`. */
export function writeSnapshot(dir: string, file = SNAPSHOT_FILE): void {
  const catalogue = loadCatalogue(dir);
  const index = new CatalogueIndex(catalogue);
  const snapshot: Snapshot = {
    version: VERSION,
    fingerprint: fingerprint(dir),
    lenses: [...catalogue.lenses],
    modes: [...catalogue.modes],
    frames: [...catalogue.frames],
    index: index.toJSON(),
  };
  writeFileSync(file, JSON.stringify(snapshot));
}

/**
 * The catalogue and its search index. The lens graph (`graph.ts`) is built by those who need it,
 * so `lens suggest` does not load the graph library.
 */
export interface OpenCatalogue {
  catalogue: Catalogue;
  index: CatalogueIndex;
}

/**
 * The catalogue in `dir` and its index: from the snapshot when it matches the files,
 * otherwise loaded and validated from YAML (see `loadCatalogue`).
 * @throws CatalogueError when the files are invalid.
 */
export function openCatalogue(dir: string, file = SNAPSHOT_FILE): OpenCatalogue {
  if (existsSync(file)) {
    try {
      const snapshot = JSON.parse(readFileSync(file, "utf8")) as Snapshot;
      if (snapshot.version === VERSION && snapshot.fingerprint === fingerprint(dir)) {
        const catalogue = new Catalogue(snapshot.lenses, snapshot.modes, snapshot.frames);
        return { catalogue, index: new CatalogueIndex(catalogue, DEFAULT_WEIGHTS, snapshot.index) };
      }
    } catch {
      // An unreadable snapshot is only a missed shortcut: load from the files below.
    }
  }
  const catalogue = loadCatalogue(dir);
  return { catalogue, index: new CatalogueIndex(catalogue) };
}

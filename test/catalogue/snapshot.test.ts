import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { openCatalogue, writeSnapshot } from "../../src/catalogue/snapshot.js";
import { BUNDLED_LENSES_DIR } from "../../src/config.js";
import { CatalogueError } from "../../src/errors.js";

const TEXT = "Two teams argue about who owns the billing service and incidents keep slipping through";

describe("catalogue snapshot", () => {
  let dir: string;
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  function setUp() {
    dir = mkdtempSync(join(tmpdir(), "snapshot-"));
    const lenses = join(dir, "lenses");
    cpSync(BUNDLED_LENSES_DIR, lenses, { recursive: true });
    const file = join(dir, "snapshot.json");
    writeSnapshot(lenses, file);
    return { lenses, file };
  }

  it("gives the same catalogue and ranking as loading the files", () => {
    const { lenses, file } = setUp();
    const fromSnapshot = openCatalogue(lenses, file);
    const fromFiles = openCatalogue(lenses, join(dir, "missing.json"));
    expect(fromSnapshot.catalogue.lenses).toEqual(fromFiles.catalogue.lenses);
    expect(fromSnapshot.index.rank(TEXT).lenses.map((r) => [r.lens.id, r.score])).toEqual(
      fromFiles.index.rank(TEXT).lenses.map((r) => [r.lens.id, r.score]),
    );
  });

  it("is ignored as soon as a lens file changes", () => {
    const { lenses, file } = setUp();
    const path = join(lenses, "toil.yaml");
    writeFileSync(path, readFileSync(path, "utf8").replace(/^name: Toil$/m, "name: Toil Renamed"));
    expect(openCatalogue(lenses, file).catalogue.find("Toil Renamed")?.id).toBe("toil");
    writeFileSync(path, "id: toil\n");
    expect(() => openCatalogue(lenses, file)).toThrow(CatalogueError);
  });
});

import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { loadCatalogue } from "../../src/catalogue/load.js";
import { BUNDLED_LENSES_DIR } from "../../src/config.js";
import { CatalogueError, UnknownLensError } from "../../src/errors.js";

const catalogue = loadCatalogue(BUNDLED_LENSES_DIR);

/** Concepts the product promises by name (incident lenses, and the lenses our evaluation set expects). */
const PROMISED = [
  "Hyrum's Law",
  "Cargo Cult",
  "Status Quo Bias",
  "Fundamental Attribution Error",
  "Stated vs Revealed Preference",
  "Head-of-Line Blocking",
  "Strangler Fig Migration",
  "Osborne Effect",
  "Trust as a Stock",
  "Mechanical Sympathy",
  "TOC",
  "5 Whys",
  "Swiss Cheese Model",
  "Normalization of Deviance",
  "Blast Radius",
  "Tight Coupling",
  "Pace Layering",
  "Leverage Points",
  "Theory of Constraints",
  "Bottleneck Theory",
  "Feedback Loops",
  "Chesterton's Fence",
  "Explore vs Exploit",
  "System Boundaries",
  "Geometry of Dissent",
  "Innovation Cascade",
  "Ritual and Ceremony",
  "Creative Problem Solving",
  "Emergence",
  "The Map Is Not the Territory",
  "Zone of Proximal Development",
  "Progressive Disclosure",
  "User Journey",
  "Feature Fatigue",
  "Jobs to be Done",
  "Innovation Portfolio",
  "Time Horizons",
  "Strategic Choice",
  "Value-Based Pricing",
  "Competitive Dynamics",
  "Differentiation",
  "Accessibility",
  "Conway's Law",
  "Communication Patterns",
  "Synchronous vs Asynchronous",
  "Communication Bandwidth",
  "Root Cause Analysis",
];

describe("bundled catalogue", () => {
  it("has at least 300 lenses, 10 thinking modes and 6 frames", () => {
    expect(catalogue.lenses.length).toBeGreaterThanOrEqual(300);
    expect(catalogue.modes.length).toBeGreaterThanOrEqual(10);
    expect(catalogue.frames.length).toBeGreaterThanOrEqual(6);
  });

  it("gives every lens 3-5 examples, 1-3 modes, 1-3 frames, 3+ related and a contrast", () => {
    for (const lens of catalogue.lenses) {
      expect(lens.examples.length, lens.id).toBeGreaterThanOrEqual(3);
      expect(lens.examples.length, lens.id).toBeLessThanOrEqual(5);
      expect(lens.modes.length, lens.id).toBeLessThanOrEqual(3);
      expect(lens.frames.length, lens.id).toBeGreaterThanOrEqual(1);
      expect(lens.related.length, lens.id).toBeGreaterThanOrEqual(3);
      expect(lens.contrasts.length, lens.id).toBeGreaterThanOrEqual(1);
    }
  });

  it("finds every promised concept by name or alias", () => {
    const missing = PROMISED.filter((name) => !catalogue.find(name));
    expect(missing).toEqual([]);
  });

  it("resolves names ignoring case, punctuation and a leading 'the'", () => {
    expect(catalogue.find("map is not the territory")?.id).toBe("map-is-not-territory");
    expect(catalogue.find("CONWAYS LAW")?.id).toBe("conways-law");
    expect(catalogue.find("bottleneck theory")?.id).toBe("theory-of-constraints");
  });

  it("gives every lens 3-6 questions, an origin year and at least one mode", () => {
    for (const lens of catalogue.lenses) {
      expect(lens.questions.length, lens.id).toBeGreaterThanOrEqual(3);
      expect(lens.questions.length, lens.id).toBeLessThanOrEqual(6);
      expect(Number.isInteger(lens.origin.year), lens.id).toBe(true);
      expect(lens.modes.length, lens.id).toBeGreaterThan(0);
    }
  });

  it("suggests close names for a misspelt lens", () => {
    expect(catalogue.closestNames("pace layring")).toContain("Pace Layering");
    expect(() => catalogue.resolveAll(["chesterton fense"])).toThrow(/Did you mean "Chesterton's Fence"/);
    expect(() => catalogue.resolveAll(["zzzzqqq"])).toThrow(UnknownLensError);
  });
});

describe("loading a broken catalogue", () => {
  let dir: string;
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  function copyWith(edit: (dir: string) => void): string {
    dir = mkdtempSync(join(tmpdir(), "lenses-"));
    cpSync(BUNDLED_LENSES_DIR, dir, { recursive: true });
    edit(dir);
    return dir;
  }

  function problemsOf(d: string): string[] {
    try {
      loadCatalogue(d);
    } catch (err) {
      expect(err).toBeInstanceOf(CatalogueError);
      return (err as CatalogueError).problems;
    }
    throw new Error("expected the catalogue to be rejected");
  }

  it("names the file and the field of a schema problem", () => {
    const d = copyWith((d) => {
      const file = join(d, "blast-radius.yaml");
      writeFileSync(file, readFileSync(file, "utf8").replace(/^questions:/m, "questionz:"));
    });
    const problems = problemsOf(d);
    expect(problems.some((p) => p.startsWith("blast-radius.yaml: questions:"))).toBe(true);
    expect(problems.some((p) => p.startsWith("blast-radius.yaml: (root):") && p.includes("questionz"))).toBe(
      true,
    );
  });

  it("reports YAML syntax errors with the file name", () => {
    const d = copyWith((d) => writeFileSync(join(d, "toil.yaml"), "id: toil\nname: [unclosed\n"));
    expect(problemsOf(d).some((p) => p.startsWith("toil.yaml: (file):"))).toBe(true);
  });

  it("rejects unknown references and duplicate aliases", () => {
    const d = copyWith((d) => {
      const file = join(d, "toil.yaml");
      const text = readFileSync(file, "utf8")
        .replace(/^related:\n/m, "related:\n  - no-such-lens\n")
        .replace(/^aliases:\n/m, "aliases:\n  - Shearing Layers\n");
      writeFileSync(file, text);
    });
    const problems = problemsOf(d);
    expect(problems).toContain('toil.yaml: related.0: unknown lens id "no-such-lens"');
    expect(problems).toContain(
      'toil.yaml: aliases: "Shearing Layers" is already used by lens "pace-layering"',
    );
  });

  it("requires the file name to match the id", () => {
    const d = copyWith((d) => cpSync(join(d, "toil.yaml"), join(d, "toil-copy.yaml")));
    const problems = problemsOf(d);
    expect(problems).toContain('toil-copy.yaml: id: "toil" does not match the file name');
  });
});

/**
 * `npm run lint:lenses`: loads the catalogue (shape and references, see `loadCatalogue`) and runs
 * the editorial checks (`lintCatalogue`): completeness, graph integrity, near-duplicate
 * definitions and text-length bounds. Prints every problem; exits 1 when there is any.
 */
import { lintCatalogue } from "../src/catalogue/lint.js";
import { loadCatalogue } from "../src/catalogue/load.js";
import { BUNDLED_LENSES_DIR } from "../src/config.js";
import { CatalogueError } from "../src/errors.js";

try {
  const catalogue = loadCatalogue(BUNDLED_LENSES_DIR);
  const problems = lintCatalogue(catalogue);
  for (const p of problems) console.error(p);
  console.log(
    `${catalogue.lenses.length} lenses, ${catalogue.modes.length} modes, ${catalogue.frames.length} frames: ${
      problems.length === 0 ? "lint passed" : `${problems.length} problems`
    }`,
  );
  process.exitCode = problems.length === 0 ? 0 : 1;
} catch (err) {
  if (!(err instanceof CatalogueError)) throw err;
  for (const p of err.problems) console.error(p);
  console.log(`${err.problems.length} problems: the catalogue does not load`);
  process.exitCode = 1;
}

/** Run by `npm run build`: writes dist/catalogue.snapshot.json for the bundled catalogue. */
import { SNAPSHOT_FILE, writeSnapshot } from "./catalogue/snapshot.js";
import { BUNDLED_LENSES_DIR } from "./config.js";

writeSnapshot(BUNDLED_LENSES_DIR);
process.stdout.write(`catalogue snapshot written to ${SNAPSHOT_FILE}\n`);

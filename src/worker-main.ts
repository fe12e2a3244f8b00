/** `npm run worker`: workers only, to scale out on the same Redis. */
import { loadConfig } from "./config.js";
import { createLogger } from "./logger.js";
import { runUntilSignal, start } from "./runtime.js";

const config = loadConfig();
const logger = createLogger(config.logLevel);
try {
  await runUntilSignal(await start(config, logger, { app: false, worker: true }), logger);
} catch (err) {
  logger.fatal({ err: err instanceof Error ? err.message : String(err) }, "lensbot worker could not start");
  process.exit(1);
}

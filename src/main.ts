/** `npm start`: the Slack app and a worker in one process (for small installs). */
import { loadConfig } from "./config.js";
import { createLogger } from "./logger.js";
import { runUntilSignal, start } from "./runtime.js";

const config = loadConfig();
const logger = createLogger(config.logLevel);
try {
  await runUntilSignal(await start(config, logger, { app: true, worker: true }), logger);
} catch (err) {
  logger.fatal({ err: err instanceof Error ? err.message : String(err) }, "lensbot could not start");
  process.exit(1);
}

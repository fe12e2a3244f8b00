/** `npm start`: the Slack app and a worker in one process (for small installs). */
import { main } from "./runtime.js";

await main({ app: true, worker: true });

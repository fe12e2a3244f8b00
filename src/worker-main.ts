/** `npm run worker`: workers only, to scale out on the same Redis. */
import { main } from "./runtime.js";

await main({ app: false, worker: true });

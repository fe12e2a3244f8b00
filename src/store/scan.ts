import type { Cluster, Redis } from "ioredis";

/**
 * Every key matching a glob `pattern` (SCAN with MATCH, on every master of a cluster), without
 * duplicates. For rare whole-namespace work (digests from the CLI, forgetting a team); never on
 * a request's path.
 */
export async function scanKeys(redis: Redis | Cluster, pattern: string): Promise<string[]> {
  const nodes =
    "nodes" in redis && typeof redis.nodes === "function" ? redis.nodes("master") : [redis as Redis];
  const found = new Set<string>();
  for (const node of nodes) {
    let cursor = "0";
    do {
      const [next, batch] = await node.scan(cursor, "MATCH", pattern, "COUNT", 500);
      cursor = next;
      for (const key of batch) found.add(key);
    } while (cursor !== "0");
  }
  return [...found];
}

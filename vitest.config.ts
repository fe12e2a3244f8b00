import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    testTimeout: 20_000,
    hookTimeout: 20_000,
    // Integration tests share one Redis; each uses its own key prefix, so files may run in parallel.
    pool: "forks",
    // Four files at once even on two cores: the suites mostly wait on Redis and the loopback fakes,
    // not on the CPU (measured: 205 s with one file per core, 111 s with four).
    maxWorkers: 4,
    projects: [
      {
        extends: true,
        test: { name: "redis", include: ["test/**/*.test.ts"], exclude: ["test/slack/cluster.test.ts"] },
      },
      {
        // The Slack end-to-end suites again, on a local three-master Redis Cluster.
        extends: true,
        test: {
          name: "redis-cluster",
          include: [
            "test/slack/cluster.test.ts",
            "test/slack/e2e.test.ts",
            "test/slack/durable.test.ts",
            "test/slack/processes.test.ts",
            "test/slack/digest.test.ts",
            "test/slack/oauth.test.ts",
          ],
          globalSetup: ["test/support/redis-cluster.ts"],
        },
      },
    ],
  },
});

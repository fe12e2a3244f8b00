/** `npm start` as a real process: it starts, serves /slack/events with signature checks, and stops on SIGTERM. */
import { type ChildProcess, spawn } from "node:child_process";
import { createServer } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { FakeSlack } from "./fakes/slack.js";
import { post, REDIS_URL, waitFor } from "./support/harness.js";

let slack: FakeSlack;
let child: ChildProcess;
let output = "";

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

beforeAll(async () => {
  slack = await FakeSlack.start();
});

afterAll(async () => {
  if (child && child.exitCode === null) child.kill("SIGKILL");
  await slack.close();
});

it("starts app and worker, verifies signatures, never logs the token, and exits on SIGTERM", async () => {
  const port = await freePort();
  child = spawn(process.execPath, [join(import.meta.dirname, "../dist/main.js")], {
    env: {
      PATH: process.env.PATH,
      SLACK_BOT_TOKEN: "xoxb-very-secret-token",
      SLACK_SIGNING_SECRET: "main-test-secret",
      SLACK_API_URL: slack.apiUrl,
      REDIS_URL,
      PORT: String(port),
      LOG_LEVEL: "info",
    },
  });
  child.stdout?.on("data", (d) => (output += d));
  child.stderr?.on("data", (d) => (output += d));
  await waitFor(() => output.includes("Slack app started"), 15_000, "the app to start");
  expect(output).toContain("worker started");

  const unsigned = await fetch(`http://127.0.0.1:${port}/slack/events`, {
    method: "POST",
    body: "command=%2Flens",
  });
  expect(unsigned.status).toBe(401);
  const signed = await post(
    `http://127.0.0.1:${port}/slack/events`,
    new URLSearchParams({
      command: "/lens",
      text: "",
      trigger_id: "t1",
      channel_id: "C1",
      user_id: "U1",
    }).toString(),
    "application/x-www-form-urlencoded",
    { secret: "main-test-secret" },
  );
  expect(signed.status).toBe(200);
  expect(signed.text).toContain("Tell me what your team is stuck on");

  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  child.kill("SIGTERM");
  expect(await exited).toBe(0);
  expect(output).not.toContain("xoxb-very-secret-token");
});

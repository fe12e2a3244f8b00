/**
 * The claude engine on each model backend, built from configuration by `createEngine` with the
 * real SDK clients (AnthropicBedrock, AnthropicVertex, Anthropic) talking to loopback fakes of
 * those services; nothing in the SDKs or fetch is mocked.
 */
import type { ClientOptions as VertexOptions } from "@anthropic-ai/vertex-sdk";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { openCatalogue } from "../../src/catalogue/snapshot.js";
import { BUNDLED_LENSES_DIR, loadConfig } from "../../src/config.js";
import { BACKENDS, createEngine, defaultEngineName } from "../../src/engines/index.js";
import type { Engine } from "../../src/pipeline/ports.js";
import { runPipeline } from "../../src/pipeline/run.js";
import type { Problem } from "../../src/pipeline/schemas.js";
import {
  FakeAnthropic,
  type FakeModelServer,
  type RecordedRequest,
  requestSchema,
} from "../fakes/anthropic.js";
import { FakeBedrock } from "../fakes/bedrock.js";
import { answerFor } from "../fakes/json-schema-sample.js";
import { FakeVertex } from "../fakes/vertex.js";

const PROBLEM: Problem = {
  text: "Deploys to our payments service fail about once a week. We added a second reviewer and a Friday deploy freeze, but incidents keep happening.",
  notes: [],
};
const MARK = "Answer from the fake model service.";

const opened = openCatalogue(BUNDLED_LENSES_DIR);
const catalogue = opened.catalogue;
const index = opened.index;

/** Answers every step with a valid answer for the schema the request carries or states. */
function schemaAnswers(req: RecordedRequest) {
  const schema = requestSchema(req.body);
  if (!schema) throw new Error(`request for ${req.step} states no schema`);
  return { kind: "json" as const, value: answerFor(schema, MARK) };
}

/** Runs one analysis and checks what every backend must give: model lens cards and a synthesis. */
async function fullAnalysis(engine: Engine, fake: FakeModelServer) {
  fake.respondWith(schemaAnswers);
  const result = await runPipeline({ problem: PROBLEM, catalogue, index, engine });
  expect(result.engine).toBe("claude");
  expect(result.failures).toEqual([]);
  expect(result.suggestion.source).toBe("model");
  const expected = catalogue.lenses.slice(0, 3).map((l) => l.id);
  expect(result.suggestion.lenses.map((l) => l.id)).toEqual(expected);
  expect(result.analyses.map((a) => a.lens_id)).toEqual(expected);
  for (const a of result.analyses) {
    if (a.source !== "model") throw new Error(`expected a model analysis of ${a.lens_id}`);
    expect(a.beliefs.length).toBeGreaterThan(0);
    expect(a.beliefs[0]?.belief).toBe(MARK);
  }
  expect(result.synthesis.source).toBe("model");
  expect(JSON.stringify(result.synthesis)).toContain(MARK);
  const steps = new Set(fake.requests.map((r) => r.step));
  for (const step of ["suggest", "analyze", "judge", "synthesize"]) expect(steps).toContain(step);
  expect(fake.requestsFor("repair")).toEqual([]);
  return result;
}

/** The engine the configuration asks for, as the CLI and the worker build it. */
function engineFrom(env: Record<string, string>, deps?: Parameters<typeof createEngine>[3]) {
  const config = loadConfig(env);
  expect(defaultEngineName(config)).toBe("claude");
  return createEngine("claude", config, opened, deps);
}

describe("bedrock backend", () => {
  let fake: FakeBedrock;
  const models = Object.values(BACKENDS.bedrock.models);
  const env = () => ({
    LENSBOT_MODEL_BACKEND: "bedrock",
    AWS_REGION: "eu-west-1",
    AWS_ACCESS_KEY_ID: "AKIDLENSBOTTEST",
    AWS_SECRET_ACCESS_KEY: "lensbot-test-secret",
    ANTHROPIC_BEDROCK_BASE_URL: fake.url,
    LENSBOT_MODEL_RETRIES: "0",
  });

  beforeAll(async () => {
    fake = await FakeBedrock.start({ region: "eu-west-1", models });
  });
  afterAll(() => fake.close());
  beforeEach(() => fake.reset());

  it("runs one full analysis through InvokeModel, SigV4-signed, without output_config by default", async () => {
    await fullAnalysis(await engineFrom(env()), fake);
    expect(fake.requests.length).toBeGreaterThanOrEqual(8);
    for (const req of fake.requests) {
      expect(req.headers.authorization).toMatch(
        /^AWS4-HMAC-SHA256 Credential=AKIDLENSBOTTEST\/\d{8}\/eu-west-1\/bedrock\/aws4_request, SignedHeaders=[a-z0-9;-]*host[a-z0-9;-]*, Signature=[0-9a-f]{64}$/,
      );
      expect(req.body.anthropic_version).toBe("bedrock-2023-05-31");
      expect(req.body).not.toHaveProperty("model");
      expect(req.body).not.toHaveProperty("output_config");
      // The schema travels in the instructions instead.
      expect(JSON.stringify(req.body.messages)).toContain("<output_schema>");
    }
    expect(fake.requestsFor("suggest")[0]?.model).toBe(BACKENDS.bedrock.models.suggest);
    expect(fake.requestsFor("analyze").every((r) => r.model === BACKENDS.bedrock.models.analyze)).toBe(true);
    // Prompt caching markers are sent, and the catalogue prefix is written once.
    expect(fake.requestsFor("suggest")[0]?.body.system?.[0]?.cache_control).toEqual({ type: "ephemeral" });
  });

  it("sends output_config when structured outputs are turned on, and a step model override wins", async () => {
    const engine = await engineFrom({
      ...env(),
      LENSBOT_STRUCTURED_OUTPUTS: "on",
      LENSBOT_MODEL_SUGGEST: BACKENDS.bedrock.models.analyze,
    });
    fake.respondWith(schemaAnswers);
    const suggestion = await engine.suggest(
      { problem: PROBLEM, ranking: index.rank(PROBLEM.text) },
      { signal: new AbortController().signal },
    );
    expect(suggestion.lenses).toHaveLength(3);
    const [req] = fake.requests;
    expect(req?.body.output_config?.format?.type).toBe("json_schema");
    expect(JSON.stringify(req?.body.messages)).not.toContain("<output_schema>");
    expect(req?.model).toBe(BACKENDS.bedrock.models.analyze);
  });

  it("is refused without a signature, with a model in the body, or on the wrong API version", async () => {
    const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
      fetch(`${fake.url}${path}`, { method: "POST", headers, body: JSON.stringify(body) });
    const ok = { anthropic_version: "bedrock-2023-05-31", max_tokens: 10, messages: [] };
    expect((await post(`/model/${models[0]}/invoke`, ok)).status).toBe(403);
    expect((await post("/v1/messages", ok)).status).toBe(404);
    expect(fake.requests).toEqual([]);
  });
});

describe("vertex backend", () => {
  let fake: FakeVertex;
  const authClient = (token: string) =>
    ({
      projectId: null,
      getRequestHeaders: async () => new Headers({ authorization: `Bearer ${token}` }),
    }) as unknown as VertexOptions["authClient"];
  const env = () => ({
    LENSBOT_MODEL_BACKEND: "vertex",
    CLOUD_ML_REGION: fake.region,
    ANTHROPIC_VERTEX_PROJECT_ID: fake.project,
    ANTHROPIC_VERTEX_BASE_URL: `${fake.url}/v1`,
    LENSBOT_MODEL_RETRIES: "0",
  });

  beforeAll(async () => {
    fake = await FakeVertex.start();
  });
  afterAll(() => fake.close());
  beforeEach(() => fake.reset());

  it("runs one full analysis through streamRawPredict with a bearer token, without output_config by default", async () => {
    await fullAnalysis(await engineFrom(env(), { vertexAuthClient: authClient(fake.token) }), fake);
    for (const req of fake.requests) {
      expect(req.headers.authorization).toBe(`Bearer ${fake.token}`);
      expect(req.body.anthropic_version).toBe("vertex-2023-10-16");
      expect(req.body).not.toHaveProperty("model");
      expect(req.body).not.toHaveProperty("output_config");
      expect(req.body.stream).toBe(true);
    }
    expect(fake.requestsFor("suggest")[0]?.model).toBe(BACKENDS.vertex.models.suggest);
    expect(fake.requestsFor("synthesize")[0]?.model).toBe(BACKENDS.vertex.models.synthesize);
  });

  it("fails with a coded error where the project refuses structured outputs, and on a bad token", async () => {
    const on = await engineFrom(
      { ...env(), LENSBOT_STRUCTURED_OUTPUTS: "on" },
      { vertexAuthClient: authClient(fake.token) },
    );
    const suggest = (engine: Engine) =>
      engine.suggest(
        { problem: PROBLEM, ranking: index.rank(PROBLEM.text) },
        { signal: new AbortController().signal },
      );
    await expect(suggest(on)).rejects.toMatchObject({ code: "model_unavailable", status: 400 });
    expect(fake.requests).toEqual([]);
    const stranger = await engineFrom(env(), { vertexAuthClient: authClient("ya29.someone-else") });
    await expect(suggest(stranger)).rejects.toMatchObject({ code: "model_unavailable", status: 401 });
  });
});

describe("anthropic backend: a self-hosted Messages API server", () => {
  let fake: FakeAnthropic;
  beforeAll(async () => {
    fake = await FakeAnthropic.start();
  });
  afterAll(() => fake.close());
  beforeEach(() => fake.reset());

  it("repairs answers from a server that ignores output_config: prose first, then fenced JSON", async () => {
    const engine = await engineFrom({
      ANTHROPIC_API_KEY: "test-key",
      ANTHROPIC_BASE_URL: fake.url,
      LENSBOT_MODEL_RETRIES: "0",
    });
    fake.respondWith((req) => {
      if (req.step !== "repair")
        return { kind: "text", text: "Sure! Looking at this problem, the deploy freeze is the key issue." };
      const schema = requestSchema(req.body);
      if (!schema) throw new Error("repair turn without a schema");
      return { kind: "text", text: `\`\`\`json\n${JSON.stringify(answerFor(schema, MARK))}\n\`\`\`` };
    });
    const result = await runPipeline({ problem: PROBLEM, catalogue, index, engine });
    expect(result.failures).toEqual([]);
    expect(result.analyses).toHaveLength(3);
    expect(result.synthesis.source).toBe("model");
    expect(JSON.stringify(result.synthesis)).toContain(MARK);
    // Every step's first answer was prose; each got exactly one repair turn quoting why.
    const firsts = fake.requests.filter((r) => r.step !== "repair");
    const repairs = fake.requestsFor("repair");
    expect(repairs).toHaveLength(firsts.length);
    for (const r of repairs) {
      expect(JSON.stringify(r.body.messages.at(-1))).toContain("not valid JSON");
      expect(r.body.output_config?.format?.type).toBe("json_schema");
    }
  });

  it("states the schema in the instructions when LENSBOT_STRUCTURED_OUTPUTS=off", async () => {
    const engine = await engineFrom({
      ANTHROPIC_API_KEY: "test-key",
      ANTHROPIC_BASE_URL: fake.url,
      LENSBOT_STRUCTURED_OUTPUTS: "off",
    });
    await fullAnalysis(engine, fake);
    for (const req of fake.requests) {
      expect(req.body).not.toHaveProperty("output_config");
      expect(req.body.model).toBe(req.model);
    }
  });
});

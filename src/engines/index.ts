import Anthropic from "@anthropic-ai/sdk";
import type { ClientOptions as VertexOptions } from "@anthropic-ai/vertex-sdk";
import { withGraph } from "../catalogue/graph.js";
import type { OpenCatalogue } from "../catalogue/snapshot.js";
import type { Config, ModelBackendName } from "../config.js";
import { ErrorCode, LensbotError } from "../errors.js";
import type { Engine } from "../pipeline/ports.js";
import { createClaudeEngine, DEFAULT_MODELS, type StepModels } from "./claude/engine.js";
import { createOfflineEngine } from "./offline/engine.js";

export type EngineName = "claude" | "offline";

/**
 * What lensbot assumes of each model backend unless told otherwise (README, "Model backends"):
 * - `models`: the default model id per step, in the backend's own naming (Bedrock: inference
 *   profile ids; Vertex: `name@date`); `LENSBOT_MODEL_*` override them per step.
 * - `structuredOutputs`: whether `output_config.format` is sent when `LENSBOT_STRUCTURED_OUTPUTS`
 *   is `auto`. Bedrock supports it only for some Claude models, and Vertex turns it off by an
 *   organisation policy until an administrator allows it, so both start without it.
 * - `apiVersion`: the `anthropic_version` the service expects in the request body. The SDK
 *   clients copy their own (first-party) API version there unless one is set, and Bedrock's
 *   InvokeModel and Vertex's rawPredict expect their own dated versions.
 */
export const BACKENDS: Record<
  ModelBackendName,
  { models: StepModels; structuredOutputs: boolean; apiVersion?: string }
> = {
  anthropic: { models: DEFAULT_MODELS, structuredOutputs: true },
  bedrock: {
    models: {
      suggest: "global.anthropic.claude-haiku-4-5-20251001-v1:0",
      analyze: "global.anthropic.claude-sonnet-4-5-20250929-v1:0",
      judge: "global.anthropic.claude-sonnet-4-5-20250929-v1:0",
      synthesize: "global.anthropic.claude-sonnet-4-5-20250929-v1:0",
    },
    structuredOutputs: false,
    apiVersion: "bedrock-2023-05-31",
  },
  vertex: {
    models: {
      suggest: "claude-haiku-4-5@20251001",
      analyze: "claude-sonnet-4-5@20250929",
      judge: "claude-sonnet-4-5@20250929",
      synthesize: "claude-sonnet-4-5@20250929",
    },
    structuredOutputs: false,
    apiVersion: "vertex-2023-10-16",
  },
};

/**
 * `claude` when the chosen model backend can be reached: the anthropic backend with an API key,
 * or bedrock / vertex (whose required settings `loadConfig` has already checked); else `offline`.
 */
export function defaultEngineName(config: Config): EngineName {
  if (config.modelBackend.name !== "anthropic") return "claude";
  return config.anthropic.apiKey ? "claude" : "offline";
}

/** Things `createEngine` builds itself unless given (tests pass loopback-friendly ones). */
export interface EngineDeps {
  /**
   * The Google auth client for Vertex (anything with `getRequestHeaders()`); default: Application
   * Default Credentials with the cloud-platform scope, resolved by the Vertex client.
   */
  vertexAuthClient?: VertexOptions["authClient"];
}

/**
 * Builds the named engine from configuration: for `claude`, the SDK client of the configured
 * model backend (Anthropic, AnthropicBedrock or AnthropicVertex), that backend's default models
 * under the per-step overrides, and its structured-output capability.
 * The Bedrock and Vertex clients (with the AWS and Google SDKs behind them, some 600 ms to load)
 * are imported only when their backend is chosen.
 * @throws LensbotError `config_invalid` when `claude` is asked for on the anthropic backend
 *   without ANTHROPIC_API_KEY.
 */
export async function createEngine(
  name: EngineName,
  config: Config,
  opened: OpenCatalogue,
  deps: EngineDeps = {},
): Promise<Engine> {
  if (name === "offline") return createOfflineEngine(withGraph(opened));
  const backend = BACKENDS[config.modelBackend.name];
  const choice = config.modelBackend.structuredOutputs;
  return createClaudeEngine({
    client: await modelClient(config, deps),
    catalogue: opened.catalogue,
    models: { ...backend.models, ...config.models },
    qualityBar: config.qualityBar,
    structuredOutputs: choice === "auto" ? backend.structuredOutputs : choice === "on",
  });
}

/**
 * The SDK client of the configured backend. Everything it needs is passed explicitly (no client
 * reads the environment for settings lensbot has); only the AWS and Google credential chains
 * look further when no static credentials are given.
 */
async function modelClient(config: Config, deps: EngineDeps): Promise<Anthropic> {
  const { maxRetries } = config.anthropic;
  const { name, bedrock, vertex } = config.modelBackend;
  const apiVersion = BACKENDS[name].apiVersion;
  const defaultHeaders = apiVersion ? { "anthropic-version": apiVersion } : undefined;
  if (name === "bedrock") {
    const { AnthropicBedrock } = await import("@anthropic-ai/bedrock-sdk");
    const region = bedrock.region ?? "";
    const common = {
      awsRegion: region,
      baseURL: bedrock.baseURL ?? `https://bedrock-runtime.${region}.amazonaws.com`,
      apiKey: bedrock.apiKey ?? null,
      maxRetries,
      defaultHeaders,
    };
    // The Bedrock and Vertex clients share the Messages API surface lensbot uses (`messages.stream`).
    const client =
      bedrock.accessKeyId && bedrock.secretAccessKey
        ? new AnthropicBedrock({
            ...common,
            awsAccessKey: bedrock.accessKeyId,
            awsSecretKey: bedrock.secretAccessKey,
            awsSessionToken: bedrock.sessionToken ?? null,
          })
        : new AnthropicBedrock(common);
    return client as unknown as Anthropic;
  }
  if (name === "vertex") {
    const { AnthropicVertex } = await import("@anthropic-ai/vertex-sdk");
    return new AnthropicVertex({
      region: vertex.region ?? null,
      projectId: vertex.projectId ?? null,
      // null, not undefined: the client then derives the regional URL instead of reading the environment.
      baseURL: vertex.baseURL ?? null,
      ...(deps.vertexAuthClient && { authClient: deps.vertexAuthClient }),
      maxRetries,
      defaultHeaders,
    }) as unknown as Anthropic;
  }
  if (!config.anthropic.apiKey) {
    throw new LensbotError(ErrorCode.ConfigInvalid, "The claude engine needs ANTHROPIC_API_KEY to be set.");
  }
  return new Anthropic({
    apiKey: config.anthropic.apiKey,
    baseURL: config.anthropic.baseURL ?? "https://api.anthropic.com",
    maxRetries,
  });
}

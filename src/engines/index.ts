import Anthropic from "@anthropic-ai/sdk";
import { withGraph } from "../catalogue/graph.js";
import type { OpenCatalogue } from "../catalogue/snapshot.js";
import type { Config } from "../config.js";
import { ErrorCode, LensbotError } from "../errors.js";
import type { Engine } from "../pipeline/ports.js";
import { createClaudeEngine } from "./claude/engine.js";
import { createOfflineEngine } from "./offline/engine.js";

export type EngineName = "claude" | "offline";

/** `claude` when an Anthropic API key is configured, otherwise `offline`. */
export function defaultEngineName(config: Config): EngineName {
  return config.anthropic.apiKey ? "claude" : "offline";
}

/**
 * Builds the named engine from configuration.
 * @throws LensbotError `config_invalid` when `claude` is asked for without ANTHROPIC_API_KEY.
 */
export function createEngine(name: EngineName, config: Config, opened: OpenCatalogue): Engine {
  if (name === "offline") return createOfflineEngine(withGraph(opened));
  if (!config.anthropic.apiKey) {
    throw new LensbotError(ErrorCode.ConfigInvalid, "The claude engine needs ANTHROPIC_API_KEY to be set.");
  }
  const client = new Anthropic({
    apiKey: config.anthropic.apiKey,
    baseURL: config.anthropic.baseURL ?? "https://api.anthropic.com",
    maxRetries: config.anthropic.maxRetries,
  });
  return createClaudeEngine({
    client,
    catalogue: opened.catalogue,
    models: config.models,
    qualityBar: config.qualityBar,
  });
}

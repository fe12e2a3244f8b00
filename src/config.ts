import { fileURLToPath } from "node:url";
import { z } from "zod";
import { ErrorCode, LensbotError } from "./errors.js";

/** The bundled catalogue: `lenses/` at the package root (this file sits one level below it in src/ and dist/). */
export const BUNDLED_LENSES_DIR = fileURLToPath(new URL("../lenses/", import.meta.url));

const optionalString = z
  .string()
  .trim()
  .optional()
  .transform((v) => (v ? v : undefined));
const number = (def: number, min: number, max: number) => z.coerce.number().min(min).max(max).default(def);

/** The services that can run the claude engine, each through Anthropic's own SDK client for it. */
export const MODEL_BACKENDS = ["anthropic", "bedrock", "vertex"] as const;
export type ModelBackendName = (typeof MODEL_BACKENDS)[number];

const EnvSchema = z.object({
  SLACK_BOT_TOKEN: optionalString.refine(
    (v) => v === undefined || v.startsWith("xoxb-"),
    "must start with xoxb-",
  ),
  SLACK_SIGNING_SECRET: optionalString,
  SLACK_APP_TOKEN: optionalString.refine(
    (v) => v === undefined || v.startsWith("xapp-"),
    "must start with xapp-",
  ),
  SLACK_API_URL: z.url().optional(),
  /** OAuth installs in many workspaces (HTTP mode): the app's client id and secret, and the key tokens are encrypted with. */
  SLACK_CLIENT_ID: optionalString,
  SLACK_CLIENT_SECRET: optionalString,
  /** Where Slack sends the installer back; default: the redirect URL set in the app's config. */
  SLACK_REDIRECT_URI: z.url().optional(),
  /** 32 bytes, base64: encrypts installations (bot tokens) at rest in Redis (AES-256-GCM). */
  LENSBOT_TOKEN_KEY: optionalString.refine(
    (v) => v === undefined || Buffer.from(v, "base64").length === 32,
    "must be 32 bytes in base64 (openssl rand -base64 32)",
  ),
  ANTHROPIC_API_KEY: optionalString,
  ANTHROPIC_BASE_URL: z.url().optional(),
  /** Which service runs the claude engine: the Claude API (or ANTHROPIC_BASE_URL), Amazon Bedrock, Google Vertex AI. */
  LENSBOT_MODEL_BACKEND: z.enum(MODEL_BACKENDS).default("anthropic"),
  /** Send the structured-output format: `auto` is on for anthropic, off for bedrock and vertex (README, "Model backends"). */
  LENSBOT_STRUCTURED_OUTPUTS: z.enum(["auto", "on", "off"]).default("auto"),
  /** Bedrock: the AWS region (required), optional static keys (else the AWS default credential chain), or a Bedrock API key. */
  AWS_REGION: optionalString,
  AWS_ACCESS_KEY_ID: optionalString,
  AWS_SECRET_ACCESS_KEY: optionalString,
  AWS_SESSION_TOKEN: optionalString,
  AWS_BEARER_TOKEN_BEDROCK: optionalString,
  ANTHROPIC_BEDROCK_BASE_URL: z.url().optional(),
  /** Vertex: region (or `global`) and project, both required; credentials are Google's Application Default Credentials. */
  CLOUD_ML_REGION: optionalString,
  ANTHROPIC_VERTEX_PROJECT_ID: optionalString,
  ANTHROPIC_VERTEX_BASE_URL: z.url().optional(),
  REDIS_URL: z.string().default("redis://127.0.0.1:6379"),
  /** Prefix of every Redis key lensbot writes (records; the queue uses `{<prefix>:bull}`). */
  LENSBOT_REDIS_PREFIX: z
    .string()
    .regex(/^[\w.-]+$/, "letters, digits, dots, dashes, underscores")
    .default("lensbot"),
  PORT: number(3000, 1, 65535),
  LOG_LEVEL: z.enum(["trace", "debug", "info", "warn", "error", "fatal", "silent"]).default("info"),
  LENSES_DIR: z.string().default(BUNDLED_LENSES_DIR),
  LENSBOT_MODEL_SUGGEST: optionalString,
  LENSBOT_MODEL_ANALYZE: optionalString,
  LENSBOT_MODEL_JUDGE: optionalString,
  LENSBOT_MODEL_SYNTHESIZE: optionalString,
  /** 0-1: analyses judged under this get one refinement pass. */
  LENSBOT_QUALITY_BAR: number(0.6, 0, 1),
  /** Lens analyses run at once per job. */
  LENSBOT_CONCURRENCY: number(4, 1, 16),
  /** Max characters of problem text; longer text is cut in the middle with a note. */
  LENSBOT_MAX_PROBLEM_CHARS: number(16_000, 500, 200_000),
  /** Token budget for a thread transcript (estimated at 4 chars per token). */
  LENSBOT_THREAD_TOKENS: number(6_000, 500, 100_000),
  /** Days an analysis record stays in Redis. */
  LENSBOT_RECORD_TTL_DAYS: number(30, 1, 3650),
  /** Anthropic SDK retries for 408/409/429/5xx (the only retry layer for model calls). */
  LENSBOT_MODEL_RETRIES: number(2, 0, 10),
  /** Worker concurrency (jobs at once per worker process): jobs mostly wait on the model. */
  LENSBOT_WORKER_CONCURRENCY: number(32, 1, 256),
  /**
   * Progress as a streamed task plan (chat.startStream) where Slack allows it ("auto"), or always
   * the edited status message ("off").
   */
  LENSBOT_STREAMING: z.enum(["auto", "off"]).default("auto"),
  /** Port of /healthz, /readyz and /metrics where no HTTP receiver serves them (Socket Mode, workers); 0: any free one. */
  LENSBOT_OPS_PORT: number(9090, 0, 65535),
  /** The organisation's Messages API requests per minute; analyses start within it (0: no limit). */
  LENSBOT_MODEL_CALLS_PER_MINUTE: number(0, 0, 1_000_000),
  /** Per-step time limits (ms), sized well above a slow model's latency (a step may retry inside the SDK). */
  LENSBOT_TIMEOUT_SUGGEST_MS: number(240_000, 1_000, 3_600_000),
  LENSBOT_TIMEOUT_ANALYZE_MS: number(300_000, 1_000, 3_600_000),
  LENSBOT_TIMEOUT_SYNTHESIZE_MS: number(300_000, 1_000, 3_600_000),
  /** On SIGTERM, how long running jobs may finish before they are stopped and handed back (ms). */
  LENSBOT_SHUTDOWN_GRACE_MS: number(20_000, 0, 600_000),
  /** Slack Web API HTTP timeout per call (ms). */
  LENSBOT_SLACK_TIMEOUT_MS: number(10_000, 500, 120_000),
  /** Redis command timeout for records and enqueueing (ms); the worker's blocking connection has none. */
  LENSBOT_REDIS_TIMEOUT_MS: number(5_000, 100, 120_000),
});

export type Config = ReturnType<typeof toConfig>;

function toConfig(env: z.infer<typeof EnvSchema>) {
  return {
    slack: {
      botToken: env.SLACK_BOT_TOKEN,
      signingSecret: env.SLACK_SIGNING_SECRET,
      appToken: env.SLACK_APP_TOKEN,
      apiUrl: env.SLACK_API_URL,
      clientId: env.SLACK_CLIENT_ID,
      clientSecret: env.SLACK_CLIENT_SECRET,
      redirectUri: env.SLACK_REDIRECT_URI,
      tokenKey: env.LENSBOT_TOKEN_KEY,
    },
    anthropic: {
      apiKey: env.ANTHROPIC_API_KEY,
      baseURL: env.ANTHROPIC_BASE_URL,
      maxRetries: env.LENSBOT_MODEL_RETRIES,
    },
    modelBackend: {
      name: env.LENSBOT_MODEL_BACKEND,
      structuredOutputs: env.LENSBOT_STRUCTURED_OUTPUTS,
      bedrock: {
        region: env.AWS_REGION,
        accessKeyId: env.AWS_ACCESS_KEY_ID,
        secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
        sessionToken: env.AWS_SESSION_TOKEN,
        apiKey: env.AWS_BEARER_TOKEN_BEDROCK,
        baseURL: env.ANTHROPIC_BEDROCK_BASE_URL,
      },
      vertex: {
        region: env.CLOUD_ML_REGION,
        projectId: env.ANTHROPIC_VERTEX_PROJECT_ID,
        baseURL: env.ANTHROPIC_VERTEX_BASE_URL,
      },
    },
    models: {
      ...(env.LENSBOT_MODEL_SUGGEST && { suggest: env.LENSBOT_MODEL_SUGGEST }),
      ...(env.LENSBOT_MODEL_ANALYZE && { analyze: env.LENSBOT_MODEL_ANALYZE }),
      ...(env.LENSBOT_MODEL_JUDGE && { judge: env.LENSBOT_MODEL_JUDGE }),
      ...(env.LENSBOT_MODEL_SYNTHESIZE && { synthesize: env.LENSBOT_MODEL_SYNTHESIZE }),
    },
    redisUrl: env.REDIS_URL,
    redisPrefix: env.LENSBOT_REDIS_PREFIX,
    port: env.PORT,
    logLevel: env.LOG_LEVEL,
    lensesDir: env.LENSES_DIR,
    qualityBar: env.LENSBOT_QUALITY_BAR,
    concurrency: env.LENSBOT_CONCURRENCY,
    maxProblemChars: env.LENSBOT_MAX_PROBLEM_CHARS,
    threadTokens: env.LENSBOT_THREAD_TOKENS,
    recordTtlSeconds: env.LENSBOT_RECORD_TTL_DAYS * 86_400,
    workerConcurrency: env.LENSBOT_WORKER_CONCURRENCY,
    modelCallsPerMinute: env.LENSBOT_MODEL_CALLS_PER_MINUTE,
    streaming: env.LENSBOT_STREAMING === "auto",
    opsPort: env.LENSBOT_OPS_PORT,
    timeouts: {
      suggest: env.LENSBOT_TIMEOUT_SUGGEST_MS,
      analyze: env.LENSBOT_TIMEOUT_ANALYZE_MS,
      synthesize: env.LENSBOT_TIMEOUT_SYNTHESIZE_MS,
    },
    shutdownGraceMs: env.LENSBOT_SHUTDOWN_GRACE_MS,
    slackTimeoutMs: env.LENSBOT_SLACK_TIMEOUT_MS,
    redisTimeoutMs: env.LENSBOT_REDIS_TIMEOUT_MS,
  };
}

/**
 * Reads lensbot's configuration from environment variables (the only place that reads `process.env`).
 * @throws LensbotError `config_invalid` listing every bad variable as `NAME: message` (values are never echoed).
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = EnvSchema.safeParse(env);
  const lines = [
    ...(parsed.success ? [] : parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`)),
    ...backendIssues(env),
  ];
  if (!parsed.success || lines.length > 0) {
    throw new LensbotError(ErrorCode.ConfigInvalid, `Invalid configuration:\n  - ${lines.join("\n  - ")}`);
  }
  return toConfig(parsed.data);
}

/** What the chosen model backend needs and is missing, as `NAME: message` lines. */
function backendIssues(env: NodeJS.ProcessEnv): string[] {
  const set = (name: string) => Boolean(env[name]?.trim());
  const backend = env.LENSBOT_MODEL_BACKEND?.trim();
  const issues: string[] = [];
  const need = (name: string) => {
    if (!set(name)) issues.push(`${name}: required when LENSBOT_MODEL_BACKEND=${backend}`);
  };
  if (backend === "bedrock") {
    need("AWS_REGION");
    if (set("AWS_ACCESS_KEY_ID") !== set("AWS_SECRET_ACCESS_KEY"))
      issues.push(
        "AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY: set both, or neither to use the AWS default credential chain",
      );
    if (set("AWS_SESSION_TOKEN") && !set("AWS_ACCESS_KEY_ID"))
      issues.push("AWS_SESSION_TOKEN: needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY");
  }
  if (backend === "vertex") {
    need("CLOUD_ML_REGION");
    need("ANTHROPIC_VERTEX_PROJECT_ID");
  }
  return issues;
}

/** How the Slack side runs: one workspace with a fixed bot token, or OAuth installs in many. */
export type SlackSetup = Omit<Config["slack"], "botToken" | "clientId" | "clientSecret" | "tokenKey"> &
  (
    | { mode: "single"; botToken: string }
    | { mode: "oauth"; clientId: string; clientSecret: string; tokenKey: Buffer; signingSecret: string }
  );

/**
 * Checks that what the Slack app needs is set, for one of two setups:
 * - one workspace (the default): `SLACK_BOT_TOKEN`, and `SLACK_SIGNING_SECRET` (HTTP) or
 *   `SLACK_APP_TOKEN` (Socket Mode);
 * - OAuth installs in many workspaces (when `SLACK_CLIENT_ID` is set, HTTP only): the client id
 *   and secret, the signing secret and `LENSBOT_TOKEN_KEY`, and no fixed bot token.
 * @throws LensbotError `config_invalid` naming each missing or conflicting variable.
 */
export function requireSlack(config: Config): SlackSetup {
  const { botToken, clientId, clientSecret, tokenKey, ...rest } = config.slack;
  const missing: string[] = [];
  const fail = (what: string) =>
    new LensbotError(ErrorCode.ConfigInvalid, `${what}:\n  - ${missing.join("\n  - ")}`);
  if (clientId) {
    if (!clientSecret) missing.push("SLACK_CLIENT_SECRET");
    if (!rest.signingSecret) missing.push("SLACK_SIGNING_SECRET");
    if (!tokenKey) missing.push("LENSBOT_TOKEN_KEY (32 bytes in base64, to encrypt tokens at rest)");
    if (botToken)
      missing.push("SLACK_BOT_TOKEN must be unset with SLACK_CLIENT_ID (tokens come from installs)");
    if (rest.appToken) missing.push("SLACK_APP_TOKEN must be unset: OAuth installs run over HTTP");
    if (missing.length > 0 || !clientSecret || !tokenKey || !rest.signingSecret)
      throw fail("Configuration for OAuth installs");
    return {
      ...rest,
      mode: "oauth",
      clientId,
      clientSecret,
      signingSecret: rest.signingSecret,
      tokenKey: Buffer.from(tokenKey, "base64"),
    };
  }
  if (!botToken)
    missing.push("SLACK_BOT_TOKEN (or SLACK_CLIENT_ID and SLACK_CLIENT_SECRET for OAuth installs)");
  if (!rest.appToken && !rest.signingSecret)
    missing.push("SLACK_SIGNING_SECRET (or SLACK_APP_TOKEN for Socket Mode)");
  if (missing.length > 0 || !botToken) throw fail("Missing configuration");
  return { ...rest, mode: "single", botToken };
}

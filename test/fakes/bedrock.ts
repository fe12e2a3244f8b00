/**
 * A loopback fake of Amazon Bedrock's runtime API for Claude (InvokeModel), reached by the real
 * `AnthropicBedrock` client through its base URL. It answers with the same core as the fake
 * Messages API (`MessagesCore`: scripted replies, schema samples, cache accounting) and is as
 * strict as Bedrock where a client could get it wrong:
 *
 * - `POST /model/{modelId}/invoke` (JSON) and `/model/{modelId}/invoke-with-response-stream`
 *   (AWS event-stream frames, each a `chunk` whose `bytes` carry one Messages API event); other
 *   paths 404;
 * - SigV4: `Authorization: AWS4-HMAC-SHA256 Credential=<key>/<yyyymmdd>/<region>/bedrock/aws4_request,
 *   SignedHeaders=…, Signature=<64 hex>`, an `x-amz-date` of the credential's day, `host` and
 *   `x-amz-date` among the signed headers, and `x-amz-content-sha256` matching the body; a request
 *   without a valid signature shape gets 403 (the signature itself is not recomputed);
 * - the body: `anthropic_version: "bedrock-2023-05-31"` required, and no `model` or `stream` key
 *   (Bedrock refuses keys it does not know: the model is in the path);
 * - `output_config` is accepted (Bedrock's structured outputs for Claude on InvokeModel), unless
 *   `structuredOutputs: false` mimics a model that refuses it; `cache_control` is accepted.
 */
import { createHash } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { EventStreamCodec } from "@smithy/eventstream-codec";
import { fromUtf8, toUtf8 } from "@smithy/util-utf8";
import { deliver, FakeModelServer, type MessagesBody } from "./anthropic.js";

export interface FakeBedrockOptions {
  /** The region requests must be signed for. Default `us-east-1`. */
  region?: string;
  /** Model ids (or inference profiles) that exist; others get Bedrock's 400. Default: any. */
  models?: readonly string[];
  /** Whether `output_config` is accepted (some models refuse it). Default true. */
  structuredOutputs?: boolean;
}

/** Bedrock's error names per status, sent in `x-amzn-errortype` with a `{message}` body. */
const AWS_ERRORS: Record<number, string> = {
  400: "ValidationException",
  403: "AccessDeniedException",
  404: "ResourceNotFoundException",
  429: "ThrottlingException",
  500: "InternalServerException",
  503: "ServiceUnavailableException",
  529: "ServiceUnavailableException",
};

const SIGV4 =
  /^AWS4-HMAC-SHA256 Credential=([^/\s]+)\/(\d{8})\/([a-z0-9-]+)\/bedrock\/aws4_request, SignedHeaders=([a-z0-9;-]+), Signature=[0-9a-f]{64}$/;

const codec = new EventStreamCodec(toUtf8, fromUtf8);

export class FakeBedrock extends FakeModelServer {
  readonly #region: string;
  readonly #models?: ReadonlySet<string>;
  readonly #structuredOutputs: boolean;

  private constructor(options: FakeBedrockOptions) {
    super();
    this.#region = options.region ?? "us-east-1";
    this.#models = options.models && new Set(options.models);
    this.#structuredOutputs = options.structuredOutputs ?? true;
  }

  /** Starts a fake on a free loopback port. */
  static async start(options: FakeBedrockOptions = {}): Promise<FakeBedrock> {
    const fake = new FakeBedrock(options);
    await fake.listen();
    return fake;
  }

  protected async handle(req: IncomingMessage, raw: Buffer, res: ServerResponse): Promise<void> {
    const route = /^\/model\/([^/]+)\/(invoke|invoke-with-response-stream)$/.exec(req.url ?? "");
    if (req.method !== "POST" || !route?.[1]) return refuse(res, 404, "Unknown operation");
    const unsigned = this.#signatureProblem(req, raw);
    if (unsigned) return refuse(res, 403, unsigned);
    const modelId = decodeURIComponent(route[1]);
    if (this.#models && !this.#models.has(modelId))
      return refuse(res, 400, "The provided model identifier is invalid.");
    let body: MessagesBody & Record<string, unknown>;
    try {
      body = JSON.parse(raw.toString("utf8"));
    } catch {
      return refuse(res, 400, "Malformed input request: the body is not JSON");
    }
    if (body.anthropic_version !== "bedrock-2023-05-31")
      return refuse(res, 400, "Malformed input request: anthropic_version must be bedrock-2023-05-31");
    for (const key of ["model", "stream"])
      if (key in body)
        return refuse(res, 400, `Malformed input request: extraneous key [${key}] is not permitted`);
    if (body.output_config && !this.#structuredOutputs)
      return refuse(res, 400, "output_config.format: Extra inputs are not permitted");

    await deliver(this.core.plan(body, req.headers, modelId), res, {
      stream: route[2] === "invoke-with-response-stream",
      error: (p) => ({
        headers: {
          "content-type": "application/json",
          "x-amzn-errortype": AWS_ERRORS[p.status] ?? "InternalServerException",
        },
        body: JSON.stringify({ message: p.message }),
      }),
      streamHeaders: { "content-type": "application/vnd.amazon.eventstream" },
      frame: (event) =>
        codec.encode({
          headers: {
            ":event-type": { type: "string", value: "chunk" },
            ":content-type": { type: "string", value: "application/json" },
            ":message-type": { type: "string", value: "event" },
          },
          body: fromUtf8(
            JSON.stringify({ bytes: Buffer.from(JSON.stringify(event), "utf8").toString("base64") }),
          ),
        }),
    });
  }

  /** Why the request's SigV4 headers are not what Bedrock takes, or undefined when they are. */
  #signatureProblem(req: IncomingMessage, raw: Buffer): string | undefined {
    const auth = req.headers.authorization;
    if (!auth) return "Missing Authentication Token";
    const sig = SIGV4.exec(auth);
    if (!sig) return "Authorization header is not an AWS4-HMAC-SHA256 signature for bedrock";
    const [, , day, region, signed] = sig;
    if (region !== this.#region) return `Credential should be scoped to a valid region, not '${region}'`;
    const date = req.headers["x-amz-date"];
    if (typeof date !== "string" || !/^\d{8}T\d{6}Z$/.test(date) || !date.startsWith(day ?? ""))
      return "x-amz-date is missing or does not match the credential scope";
    const names = (signed ?? "").split(";");
    if (!names.includes("host") || !names.includes("x-amz-date")) return "host and x-amz-date must be signed";
    const hash = req.headers["x-amz-content-sha256"];
    if (hash !== undefined && hash !== createHash("sha256").update(raw).digest("hex"))
      return "x-amz-content-sha256 does not match the body";
    return undefined;
  }
}

function refuse(res: ServerResponse, status: number, message: string): void {
  res.writeHead(status, {
    "content-type": "application/json",
    "x-amzn-errortype": AWS_ERRORS[status] ?? "InternalServerException",
  });
  res.end(JSON.stringify({ message }));
}

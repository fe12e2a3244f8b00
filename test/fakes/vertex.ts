/**
 * A loopback fake of Claude on Google Vertex AI, reached by the real `AnthropicVertex` client
 * through its base URL. It answers with the same core as the fake Messages API (`MessagesCore`)
 * and is as strict as Vertex where a client could get it wrong:
 *
 * - `POST /v1/projects/{project}/locations/{region}/publishers/anthropic/models/{model}:rawPredict`
 *   (JSON) and `…:streamRawPredict` (server-sent events, as the Messages API streams), for the
 *   fake's one project and region; other paths 404;
 * - `Authorization: Bearer <token>` with the fake's token, else 401;
 * - the body: `anthropic_version: "vertex-2023-10-16"` required, no `model` (it is in the path);
 * - `output_config` is refused unless `structuredOutputs: true`: Vertex keeps Claude's structured
 *   outputs off behind an organisation policy until an administrator allows them (the exact
 *   error Vertex sends then is not documented; this one is the fake's). `cache_control` is
 *   accepted.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { deliver, FakeModelServer, type MessagesBody } from "./anthropic.js";

export interface FakeVertexOptions {
  project?: string;
  region?: string;
  /** The OAuth access token requests must carry. */
  token?: string;
  /** Whether the organisation policy allows structured outputs. Default false. */
  structuredOutputs?: boolean;
}

const GOOGLE_STATUS: Record<number, string> = {
  400: "INVALID_ARGUMENT",
  401: "UNAUTHENTICATED",
  403: "PERMISSION_DENIED",
  404: "NOT_FOUND",
  429: "RESOURCE_EXHAUSTED",
  500: "INTERNAL",
  503: "UNAVAILABLE",
  529: "UNAVAILABLE",
};

export class FakeVertex extends FakeModelServer {
  readonly project: string;
  readonly region: string;
  readonly token: string;
  readonly #structuredOutputs: boolean;

  private constructor(options: FakeVertexOptions) {
    super();
    this.project = options.project ?? "lensbot-test";
    this.region = options.region ?? "us-east5";
    this.token = options.token ?? "ya29.fake-vertex-token";
    this.#structuredOutputs = options.structuredOutputs ?? false;
  }

  /** Starts a fake on a free loopback port; clients use `${url}/v1` as their base URL. */
  static async start(options: FakeVertexOptions = {}): Promise<FakeVertex> {
    const fake = new FakeVertex(options);
    await fake.listen();
    return fake;
  }

  protected async handle(req: IncomingMessage, raw: Buffer, res: ServerResponse): Promise<void> {
    const route =
      /^\/v1\/projects\/([^/]+)\/locations\/([^/]+)\/publishers\/anthropic\/models\/([^/:]+):(rawPredict|streamRawPredict)$/.exec(
        req.url ?? "",
      );
    if (
      req.method !== "POST" ||
      !route?.[3] ||
      decodeURIComponent(route[1] ?? "") !== this.project ||
      decodeURIComponent(route[2] ?? "") !== this.region
    )
      return refuse(res, 404, "The requested URL was not found on this server.");
    if (req.headers.authorization !== `Bearer ${this.token}`)
      return refuse(res, 401, "Request had invalid authentication credentials.");
    let body: MessagesBody & Record<string, unknown>;
    try {
      body = JSON.parse(raw.toString("utf8"));
    } catch {
      return refuse(res, 400, "Invalid JSON payload received.");
    }
    if (body.anthropic_version !== "vertex-2023-10-16")
      return refuse(res, 400, "anthropic_version: must be vertex-2023-10-16");
    if ("model" in body) return refuse(res, 400, "model: Extra inputs are not permitted");
    if (body.output_config && !this.#structuredOutputs)
      return refuse(
        res,
        400,
        "Structured outputs are not allowed for this project by its organization policy.",
      );

    const stream = route[4] === "streamRawPredict";
    await deliver(this.core.plan(body, req.headers, decodeURIComponent(route[3])), res, {
      stream,
      error: (p) => ({
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          error: { code: p.status, message: p.message, status: GOOGLE_STATUS[p.status] ?? "UNKNOWN" },
        }),
      }),
      streamHeaders: { "content-type": "text/event-stream", "cache-control": "no-cache" },
      frame: (event) => `event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`,
    });
  }
}

function refuse(res: ServerResponse, status: number, message: string): void {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify({ error: { code: status, message, status: GOOGLE_STATUS[status] ?? "UNKNOWN" } }));
}

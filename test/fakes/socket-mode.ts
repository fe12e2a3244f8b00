/**
 * A loopback fake of Slack's Socket Mode WebSocket server, for the real `@slack/socket-mode`
 * client that Bolt's SocketModeReceiver runs. The fake Web API's `apps.connections.open` hands out
 * its `ws://127.0.0.1:…` URL (see `attach`).
 *
 * As Slack does: each connection gets a `hello`; envelopes (`slash_commands`, `events_api`,
 * `interactive`) carry an `envelope_id` that the client must acknowledge within 3 s (an envelope
 * not acknowledged in time is a failure here, where Slack would retry it); `disconnect` with
 * `refresh_requested` asks the client to open a new connection (it must call
 * apps.connections.open again). Pings are answered by the WebSocket library.
 */
import { randomUUID } from "node:crypto";
import type { AddressInfo } from "node:net";
import { WebSocket, WebSocketServer } from "ws";
import type { FakeSlack } from "./slack.js";

/** Slack's deadline for acknowledging an envelope (ms). */
export const ACK_DEADLINE_MS = 3_000;

export interface Acked {
  envelopeId: string;
  type: string;
  /** What the client sent back in `payload` (a command's response, for instance). */
  payload: Record<string, unknown>;
  /** From sending the envelope to receiving its ack (ms). */
  ms: number;
}

export class FakeSocketMode {
  readonly #server: WebSocketServer;
  #port = 0;
  #tickets = 0;
  /** Every connection the client opened, oldest first. */
  readonly connections: WebSocket[] = [];
  readonly acks: Acked[] = [];
  readonly #pending = new Map<string, { type: string; sentAt: number; resolve: (a: Acked) => void }>();
  #connected: (() => void)[] = [];

  private constructor() {
    this.#server = new WebSocketServer({ host: "127.0.0.1", port: 0 });
    this.#server.on("connection", (ws) => this.#onConnection(ws));
  }

  /** Starts the server and tells `slack` to hand its URL out from apps.connections.open. */
  static async attach(slack: FakeSlack): Promise<FakeSocketMode> {
    const fake = new FakeSocketMode();
    await new Promise<void>((resolve) => fake.#server.once("listening", () => resolve()));
    fake.#port = (fake.#server.address() as AddressInfo).port;
    slack.socketModeUrl = () =>
      `ws://127.0.0.1:${fake.#port}/link/?ticket=${++fake.#tickets}&app_id=AAPP00001`;
    return fake;
  }

  /** The connection envelopes go to: the newest open one. */
  get #current(): WebSocket | undefined {
    return [...this.connections].reverse().find((c) => c.readyState === WebSocket.OPEN);
  }

  #onConnection(ws: WebSocket): void {
    this.connections.push(ws);
    ws.on("message", (raw) => {
      const msg = JSON.parse(raw.toString()) as { envelope_id?: string; payload?: Record<string, unknown> };
      const pending = msg.envelope_id ? this.#pending.get(msg.envelope_id) : undefined;
      if (!pending || !msg.envelope_id) return;
      this.#pending.delete(msg.envelope_id);
      const acked = {
        envelopeId: msg.envelope_id,
        type: pending.type,
        payload: msg.payload ?? {},
        ms: performance.now() - pending.sentAt,
      };
      this.acks.push(acked);
      pending.resolve(acked);
    });
    ws.send(
      JSON.stringify({
        type: "hello",
        num_connections: this.connections.length,
        debug_info: { host: "fake-socket-mode", build_number: 1, approximate_connection_time: 18_060 },
        connection_info: { app_id: "AAPP00001" },
      }),
    );
    for (const notify of this.#connected.splice(0)) notify();
  }

  /** Resolves once the client has a connection open (after `hello`). */
  async connected(timeoutMs = 10_000): Promise<void> {
    if (this.#current) return;
    await this.#nextConnection(timeoutMs);
  }

  #nextConnection(timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("the client did not connect")), timeoutMs);
      this.#connected.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /**
   * Sends an envelope and resolves with its ack.
   * @throws Error when it is not acknowledged within {@link ACK_DEADLINE_MS}.
   */
  async send(
    type: "slash_commands" | "events_api" | "interactive",
    payload: Record<string, unknown>,
  ): Promise<Acked> {
    const ws = this.#current;
    if (!ws) throw new Error("no open Socket Mode connection");
    const envelopeId = randomUUID();
    const acked = new Promise<Acked>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(envelopeId);
        reject(new Error(`envelope ${type} not acknowledged within ${ACK_DEADLINE_MS} ms`));
      }, ACK_DEADLINE_MS);
      this.#pending.set(envelopeId, {
        type,
        sentAt: performance.now(),
        resolve: (a) => {
          clearTimeout(timer);
          resolve(a);
        },
      });
    });
    ws.send(
      JSON.stringify({
        envelope_id: envelopeId,
        type,
        payload,
        accepts_response_payload: type !== "events_api",
        ...(type === "events_api" && { retry_attempt: 0, retry_reason: "" }),
      }),
    );
    return acked;
  }

  /** Asks the client to reconnect (`disconnect`, `refresh_requested`); resolves once it has. */
  async refresh(timeoutMs = 15_000): Promise<void> {
    const ws = this.#current;
    if (!ws) throw new Error("no open Socket Mode connection");
    const next = this.#nextConnection(timeoutMs);
    ws.send(
      JSON.stringify({
        type: "disconnect",
        reason: "refresh_requested",
        debug_info: { host: "fake-socket-mode" },
      }),
    );
    await next;
  }

  async close(): Promise<void> {
    for (const c of this.connections) c.terminate();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}

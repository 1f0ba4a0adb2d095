/**
 * `Downstream`, a WebSocket connection to a downstream service, with its options, events and stats.
 *
 * @module
 */
import { type Clock, systemClock } from "../result/clock.ts";
import { type SluiceError, sluiceError } from "../result/errors.ts";
import { abortable } from "../result/delay.ts";
import { err, ok, type Result } from "../result/result.ts";
import { RetryPolicy } from "../result/retry-policy.ts";
import { ticker } from "../result/ticker.ts";
import { withTimeout } from "../result/with-timeout.ts";
import { FrameType } from "../protocol/frame-layout.ts";
import { decodeFrameMessage, type Frame } from "../protocol/frames.ts";
import { nackFrame, pingFrame, pongFrame, publishFrame } from "../protocol/frame-builders.ts";
import { decodeErrorPayload, decodeNackPayload } from "../protocol/messages.ts";
import { createJsFrameCodec, type FrameCodec } from "../wasm/mod.ts";
import { PendingAcks } from "./pending-acks.ts";
import { redactSecrets } from "../result/redact.ts";
import { globalWebSocket, openSocketLike, SOCKET_OPEN, type SocketLike, type SocketListener } from "./socket-like.ts";

/**
 * Makes a (connecting) socket; `init.headers` go on the upgrade request. A plain `SocketFactory`
 * (`(url) => SocketLike`) fits too, and then ignores them.
 *
 * @example
 * ```ts
 * const factory: DownstreamSocketFactory = (url, init) => new WebSocket(url, { headers: init?.headers } as never);
 * ```
 */
export type DownstreamSocketFactory = (url: string, init?: { readonly headers?: Readonly<Record<string, string>> }) => SocketLike;

// The global WebSocket, with the upgrade's headers where there are any: Bun's and Deno's
// constructors take `{ headers }` as their second argument (a browser's would not: pass a factory).
const defaultFactory: DownstreamSocketFactory = (url, init) =>
  init?.headers === undefined || Object.keys(init.headers).length === 0
    ? globalWebSocket(url)
    : (new (WebSocket as unknown as new (url: string, options: object) => SocketLike)(url, { headers: init.headers }));

/**
 * Options of `Downstream`.
 *
 * @example
 * ```ts
 * new Downstream({ url: "wss://worker.internal/sluice", pingIntervalMs: 0, connectTimeoutMs: 2000 });
 * ```
 */
export interface DownstreamOptions {
  /** ws: or wss: URL of the downstream. */
  readonly url: string;
  readonly clock?: Clock;
  /** PING interval; a PING unanswered by the next tick closes the socket. 0 turns heartbeats off. Default 15000. */
  readonly pingIntervalMs?: number;
  /** Wait after the n-th failed connection attempt before the next (its `attempts` caps n). Default 100 ms doubling to 5 s. */
  readonly reconnect?: RetryPolicy;
  /** How long one connection attempt may take. Default 5000. */
  readonly connectTimeoutMs?: number;
  /** How sockets are made. Default: the global `WebSocket`. */
  readonly socketFactory?: DownstreamSocketFactory;
  /** Headers of the WebSocket upgrade request, e.g. `{ authorization: "Bearer …" }`; never logged. */
  readonly headers?: Readonly<Record<string, string>>;
  readonly codec?: FrameCodec;
  /** Connection events, for logs. */
  readonly onEvent?: (event: DownstreamEvent) => void;
}

/**
 * What `onEvent` reports.
 *
 * @example
 * ```ts
 * const onEvent = (e: DownstreamEvent) => { if (e.type === "down") log(e.reason.code, e.failedSends); };
 * ```
 */
export type DownstreamEvent =
  | { readonly type: "open"; readonly connection: number }
  | { readonly type: "down"; readonly connection: number; readonly reason: SluiceError; readonly failedSends: number }
  | { readonly type: "connect-failed"; readonly error: SluiceError; readonly retryInMs: number };

/**
 * Counters of one `Downstream`.
 *
 * @example
 * ```ts
 * const { sent, acked, refused } = downstream.stats;
 * ```
 */
export interface DownstreamStats {
  sent: number;
  acked: number;
  refused: number;
  rollbacks: number;
  connections: number;
  missedPongs: number;
}

/**
 * Connection state as `state` reports it.
 *
 * @example
 * ```ts
 * if (downstream.state === "down") useRpc();
 * ```
 */
export type DownstreamState = "idle" | "connecting" | "open" | "down" | "closed";

const DEFAULT_RECONNECT = RetryPolicy.exponential({ attempts: 6, initialMs: 100, factor: 2, maxMs: 5000 });

interface Connection {
  readonly id: number;
  readonly socket: SocketLike;
  readonly stop: AbortController;
  lastPong: number;
  readonly listeners: Array<[Parameters<SocketLike["addEventListener"]>[0], SocketListener]>;
}

/**
 * One WebSocket connection to a downstream service that takes PUBLISH frames
 * (id = the message's id, payload = its bytes) and answers each with ACK (same id) — or with
 * NACK / ERROR (same id) when it refuses one.
 *
 * - `send` resolves when the ACK arrives; the pending-ack map (`PendingAcks`) is keyed by id.
 *   It does not time out by itself: run it under `withTimeout`, whose abort removes the waiter.
 * - The connection is opened lazily and reopened after a drop. While it is down, sends fail at
 *   once with `unavailable` (the caller falls back instead of queueing behind a dead socket)
 *   and the next connection attempt waits out the `reconnect` backoff; a send that finds an
 *   attempt in progress waits for it.
 * - A `ticker` per connection sends PING every `pingIntervalMs`; if the previous PING has no
 *   PONG by the next tick the peer is presumed dead: the socket is closed and every pending send
 *   fails `unavailable` right away (not when the close handshake, which a dead peer never
 *   answers, completes).
 * - `rollback(id)` is the socket's compensation: it drops the waiter (a late ACK then changes
 *   nothing) and, if the socket is still open, sends NACK(id) — "withdrawn, the message went
 *   another way" — so a downstream that buffers work can drop it.
 *
 * @example
 * ```ts
 * const downstream = new Downstream({ url: "ws://worker.internal/sluice", pingIntervalMs: 15000 });
 * const sent = await withTimeout((signal) => downstream.send(lease.sequenceId, lease.payload, { signal }), 3000);
 * if (!sent.ok) scope.register(() => downstream.rollback(lease.sequenceId));
 * await downstream.close();
 * ```
 */
export class Downstream {
  readonly url: string;
  /** `url` with its credentials masked (`redactSecrets`): what every message and event shows. */
  readonly shownUrl: string;
  readonly stats: DownstreamStats = { sent: 0, acked: 0, refused: 0, rollbacks: 0, connections: 0, missedPongs: 0 };
  readonly #clock: Clock;
  readonly #pingMs: number;
  readonly #reconnect: RetryPolicy;
  readonly #connectTimeoutMs: number;
  readonly #factory: (url: string) => SocketLike;
  readonly #secrets: readonly string[];
  readonly #codec: FrameCodec;
  readonly #onEvent: ((event: DownstreamEvent) => void) | undefined;
  readonly #pending = new PendingAcks();
  readonly #life = new AbortController();
  #conn: Connection | undefined;
  #connecting: Promise<Result<void>> | undefined;
  #failures = 0;
  #retryAt = -Infinity;
  #everOpened = false;

  constructor(options: DownstreamOptions) {
    this.url = options.url;
    this.#secrets = Object.values(options.headers ?? {}).flatMap((v) => [v, v.replace(/^bearer\s+/i, "")]);
    this.shownUrl = redactSecrets(options.url, this.#secrets);
    this.#clock = options.clock ?? systemClock;
    this.#pingMs = options.pingIntervalMs ?? 15_000;
    this.#reconnect = options.reconnect ?? DEFAULT_RECONNECT;
    this.#connectTimeoutMs = options.connectTimeoutMs ?? 5000;
    const factory = options.socketFactory ?? defaultFactory;
    const headers = options.headers;
    this.#factory = headers === undefined ? (url) => factory(url) : (url) => factory(url, { headers });
    this.#codec = options.codec ?? createJsFrameCodec();
    this.#onEvent = options.onEvent;
  }

  /** Where the connection stands. */
  get state(): DownstreamState {
    if (this.#life.signal.aborted) return "closed";
    if (this.#conn) return "open";
    if (this.#connecting) return "connecting";
    return this.#everOpened || this.#failures > 0 ? "down" : "idle";
  }

  /** Sends waiting for their ACK. */
  get pending(): number {
    return this.#pending.size;
  }

  /** Opens the connection now (ignoring the backoff); `ok` once open. */
  connect(options: { signal?: AbortSignal } = {}): Promise<Result<void>> {
    if (this.#life.signal.aborted) return Promise.resolve(err(closedError()));
    if (this.#conn) return Promise.resolve(ok());
    return abortable(this.#startConnecting(), options.signal).then((r) => (r.ok ? r.value : r));
  }

  /** PUBLISH(id, payload); resolves `ok` on ACK(id), the downstream's error on NACK/ERROR(id), `unavailable` if the socket is or goes down. */
  async send(id: number, payload: Uint8Array, options: { signal?: AbortSignal } = {}): Promise<Result<void>> {
    const { signal } = options;
    if (this.#life.signal.aborted) return err(closedError());
    if (this.#conn === undefined) {
      if (this.#connecting === undefined && this.#clock.now() < this.#retryAt) {
        return err(sluiceError("unavailable", `downstream ${this.shownUrl} is down (next connection attempt in ${Math.ceil(this.#retryAt - this.#clock.now())} ms)`));
      }
      const opened = await abortable(this.#startConnecting(), signal);
      if (!opened.ok) return opened;
      if (!opened.value.ok) return opened.value;
    }
    const conn = this.#conn;
    if (conn === undefined) return err(sluiceError("unavailable", `downstream ${this.shownUrl} closed before the send`));
    const acked = this.#pending.wait(id, signal);
    try {
      conn.socket.send(publishFrame(id, payload));
      this.stats.sent++;
    } catch (thrown) {
      this.#pending.settle(id, err(sluiceError("unavailable", `send to downstream ${this.shownUrl} failed: ${redactSecrets(String(thrown), this.#secrets)}`)));
    }
    return acked;
  }

  /** The compensation of a failed send: forget the waiter and tell the downstream to drop `id` (NACK). */
  rollback(id: number): void {
    this.stats.rollbacks++;
    this.#pending.drop(id);
    const conn = this.#conn;
    if (conn !== undefined && conn.socket.readyState === SOCKET_OPEN) {
      try {
        conn.socket.send(nackFrame(id, { code: "canceled", message: "withdrawn: delivered another way", requeue: false }));
      } catch {
        // The socket is going down; its close handling fails whatever is left.
      }
    }
  }

  /** Closes for good: pending sends fail `unavailable`, no reconnects. */
  async close(): Promise<void> {
    if (this.#life.signal.aborted) return;
    this.#life.abort(closedError());
    if (this.#conn) this.#down(this.#conn, closedError(), 1000);
    this.#pending.failAll(closedError());
    await this.#connecting;
  }

  // One attempt at a time; concurrent callers share it.
  #startConnecting(): Promise<Result<void>> {
    this.#connecting ??= this.#attempt().finally(() => (this.#connecting = undefined));
    return this.#connecting;
  }

  async #attempt(): Promise<Result<void>> {
    const opened = await withTimeout(
      async (signal, scope) => {
        const r = await openSocketLike(this.#factory, this.url, { signal });
        // A socket that opens after the deadline must not linger: withTimeout runs this then.
        if (r.ok) scope.register(() => r.value.close(1000, "connect timed out"));
        return r;
      },
      this.#connectTimeoutMs,
      { clock: this.#clock, signal: this.#life.signal },
    );
    if (!opened.ok) {
      // The socket layer quotes the URL it tried: keep its credentials out of every message.
      const error = { ...opened.error, message: redactSecrets(opened.error.message, this.#secrets) };
      this.#failures++;
      const waitMs = this.#reconnect.delayAfter(Math.min(this.#failures, this.#reconnect.attempts));
      this.#retryAt = this.#clock.now() + waitMs;
      this.#onEvent?.({ type: "connect-failed", error, retryInMs: waitMs });
      return err(error);
    }
    if (this.#life.signal.aborted) {
      opened.value.close(1000, "downstream closed");
      return err(closedError());
    }
    this.#failures = 0;
    this.#retryAt = -Infinity;
    this.#everOpened = true;
    this.#attach(opened.value);
    return ok();
  }

  #attach(socket: SocketLike): void {
    const conn: Connection = { id: ++this.stats.connections, socket, stop: new AbortController(), lastPong: 0, listeners: [] };
    const on = (type: Connection["listeners"][number][0], listener: SocketListener) => {
      socket.addEventListener(type, listener);
      conn.listeners.push([type, listener]);
    };
    on("message", (event) => this.#onMessage(conn, event.data));
    on("close", (event) => this.#down(conn, sluiceError("unavailable", `downstream socket ${this.shownUrl} closed (${event.code ?? "no code"})`)));
    on("error", () => this.#down(conn, sluiceError("unavailable", `downstream socket ${this.shownUrl} failed`)));
    this.#conn = conn;
    this.#onEvent?.({ type: "open", connection: conn.id });
    if (this.#pingMs > 0) void this.#heartbeat(conn);
  }

  async #heartbeat(conn: Connection): Promise<void> {
    let awaiting = 0;
    for await (const n of ticker(this.#pingMs, { signal: conn.stop.signal, clock: this.#clock })) {
      if (awaiting !== 0 && conn.lastPong < awaiting) {
        this.stats.missedPongs++;
        this.#down(conn, sluiceError("unavailable", `downstream ${this.shownUrl} missed a PONG (none within ${this.#pingMs} ms)`), 4000);
        return;
      }
      awaiting = n;
      try {
        conn.socket.send(pingFrame(n));
      } catch {
        this.#down(conn, sluiceError("unavailable", `PING to downstream ${this.shownUrl} failed`));
        return;
      }
    }
  }

  #onMessage(conn: Connection, data: unknown): void {
    const bytes = data instanceof ArrayBuffer ? new Uint8Array(data) : ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : undefined;
    if (bytes === undefined) return;
    const decoded = decodeFrameMessage(bytes, this.#codec);
    // A frame we cannot read answers nothing we wait for; its sender's timeout covers it.
    if (!decoded.ok) return;
    const frame = decoded.value;
    switch (frame.type) {
      case FrameType.ACK:
        if (this.#pending.settle(frame.id, ok())) this.stats.acked++;
        return;
      case FrameType.NACK:
      case FrameType.ERROR:
        if (this.#pending.settle(frame.id, err(refusal(frame)))) this.stats.refused++;
        return;
      case FrameType.PONG:
        conn.lastPong = Math.max(conn.lastPong, frame.id);
        return;
      case FrameType.PING:
        try {
          conn.socket.send(pongFrame(frame.id));
        } catch {
          // Going down; the close handler runs.
        }
        return;
      default:
        return;
    }
  }

  // Idempotent per connection: the first reason wins, later events of the same socket are ignored.
  #down(conn: Connection, reason: SluiceError, closeCode?: number): void {
    if (this.#conn !== conn) return;
    this.#conn = undefined;
    conn.stop.abort(reason);
    for (const [type, listener] of conn.listeners) conn.socket.removeEventListener(type, listener);
    if (closeCode !== undefined) {
      try {
        conn.socket.close(closeCode, reason.message.slice(0, 120));
      } catch {
        // Already closed.
      }
    }
    const failedSends = this.#pending.failAll(reason);
    this.#onEvent?.({ type: "down", connection: conn.id, reason, failedSends });
  }
}

function closedError(): SluiceError {
  return sluiceError("unavailable", "downstream connection closed");
}

function refusal(frame: Frame): SluiceError {
  const decoded = frame.type === FrameType.NACK ? decodeNackPayload(frame.payload) : decodeErrorPayload(frame.payload);
  if (frame.payload.byteLength > 0 && decoded.ok) {
    const value = decoded.value;
    return sluiceError(value.code, value.message, { metadata: { id: frame.id, by: "downstream" } });
  }
  return sluiceError("unavailable", `downstream refused message ${frame.id}`, { metadata: { id: frame.id } });
}


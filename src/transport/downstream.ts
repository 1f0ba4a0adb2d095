/**
 * `Downstream`, a WebSocket connection to a downstream service (types in `downstream-options.ts`).
 *
 * @module
 */
import { type Clock, systemClock } from "../result/clock.ts";
import { type SluiceError, sluiceError } from "../result/errors.ts";
import { abortable } from "../result/delay.ts";
import { err, ok, type Result } from "../result/result.ts";
import type { RetryPolicy } from "../result/retry-policy.ts";
import { ticker } from "../result/ticker.ts";
import { withTimeout } from "../result/with-timeout.ts";
import { FrameType } from "../protocol/frame-layout.ts";
import { decodeFrameMessage } from "../protocol/frames.ts";
import { nackFrame, pingFrame, pongFrame, publishFrame } from "../protocol/frame-builders.ts";
import { fenceFrame, type FencePayload } from "../protocol/fence.ts";
import { createJsFrameCodec, type FrameCodec } from "../wasm/mod.ts";
import { PendingAcks } from "./pending-acks.ts";
import { redactSecrets } from "../result/redact.ts";
import { openSocketLike, SOCKET_OPEN, type SocketLike, type SocketListener } from "./socket-like.ts";
import { answerOf } from "./downstream-answer.ts";
import {
  DEFAULT_RECONNECT,
  defaultFactory,
  type DownstreamEvent,
  type DownstreamOptions,
  type DownstreamState,
  type DownstreamStats,
} from "./downstream-options.ts";

export type { DownstreamEvent, DownstreamOptions, DownstreamSocketFactory, DownstreamState, DownstreamStats } from "./downstream-options.ts";

interface Connection {
  readonly id: number;
  readonly socket: SocketLike;
  readonly stop: AbortController;
  lastPong: number;
  /** The peer answered a PUBLISH with RECEIPT: a Sluice, which takes NACK as a lease settlement. */
  speaksReceipts: boolean;
  readonly listeners: Array<[Parameters<SocketLike["addEventListener"]>[0], SocketListener]>;
}

/**
 * One WebSocket connection to a downstream service that takes PUBLISH frames
 * (id = the message's id, payload = its bytes) and answers each with ACK or RECEIPT (same id) —
 * or with NACK / ERROR (same id) when it refuses one, or GOAWAY (same id) when it is going away
 * and did not take it. A downstream Sluice is such a service: point `url` at its
 * `/v1/queues/<queue>/ws` and it answers RECEIPT once the message is in that queue.
 *
 * - `send` resolves `ok` on the first ACK or RECEIPT for its id (see `answerOf`); the
 *   pending-ack map (`PendingAcks`) is keyed by id. It does not time out by itself: run it under
 *   `withTimeout`, whose abort removes the waiter.
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
 *   another way" — so a downstream that buffers work can drop it. Not to a peer that answered
 *   RECEIPT (a Sluice): it reads NACK as settling a lease, and a message it took stays taken.
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
  readonly stats: DownstreamStats = { sent: 0, acked: 0, receipts: 0, turnedAway: 0, refused: 0, rollbacks: 0, connections: 0, missedPongs: 0 };
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
  #fence: FencePayload | undefined;

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
    this.#fence = options.fence;
  }

  /**
   * Sets the leadership fence: sent as a FENCE frame now when the socket is open, and first on
   * every later connection, so every PUBLISH after it goes out under this term.
   */
  fence(fence: FencePayload): void {
    this.#fence = fence;
    const conn = this.#conn;
    if (conn === undefined) return;
    try {
      conn.socket.send(fenceFrame(fence));
    } catch {
      // Going down; the next connection sends it first.
    }
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

  /** While down: ms until a send may try to connect again (sends fail at once until then); else 0. */
  get retryInMs(): number {
    if (this.#conn !== undefined || this.#connecting !== undefined) return 0;
    return Math.max(0, this.#retryAt - this.#clock.now());
  }

  /** Opens the connection now (ignoring the backoff); `ok` once open. */
  connect(options: { signal?: AbortSignal } = {}): Promise<Result<void>> {
    if (this.#life.signal.aborted) return Promise.resolve(err(closedError()));
    if (this.#conn) return Promise.resolve(ok());
    return abortable(this.#startConnecting(), options.signal).then((r) => (r.ok ? r.value : r));
  }

  /**
   * PUBLISH(id, payload); resolves `ok` on ACK(id) or RECEIPT(id), the downstream's error on
   * NACK/ERROR(id), `unavailable` on GOAWAY(id) or if the socket is or goes down.
   */
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
    if (conn !== undefined && !conn.speaksReceipts && conn.socket.readyState === SOCKET_OPEN) {
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
    const conn: Connection = { id: ++this.stats.connections, socket, stop: new AbortController(), lastPong: 0, speaksReceipts: false, listeners: [] };
    const on = (type: Connection["listeners"][number][0], listener: SocketListener) => {
      socket.addEventListener(type, listener);
      conn.listeners.push([type, listener]);
    };
    on("message", (event) => this.#onMessage(conn, event.data));
    on("close", (event) => this.#down(conn, sluiceError("unavailable", `downstream socket ${this.shownUrl} closed (${event.code ?? "no code"})`)));
    on("error", () => this.#down(conn, sluiceError("unavailable", `downstream socket ${this.shownUrl} failed`)));
    // Before anything else on this connection: what follows is sent under this term.
    if (this.#fence !== undefined) {
      try {
        socket.send(fenceFrame(this.#fence));
      } catch {
        // The socket failed at once; its close handling marks the connection down.
      }
    }
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
    if (frame.type === FrameType.PONG) {
      conn.lastPong = Math.max(conn.lastPong, frame.id);
      return;
    }
    if (frame.type === FrameType.PING) {
      try {
        conn.socket.send(pongFrame(frame.id));
      } catch {
        // Going down; the close handler runs.
      }
      return;
    }
    const answer = answerOf(frame, `downstream ${this.shownUrl}`);
    if (answer.kind === "confirmed") {
      if (answer.receipt) conn.speaksReceipts = true;
      if (!this.#pending.settle(frame.id, ok())) return;
      this.stats.acked++;
      if (answer.receipt) this.stats.receipts++;
    } else if (answer.kind === "refused") {
      if (this.#pending.settle(frame.id, err(answer.error))) this.stats.refused++;
    } else if (answer.kind === "turned-away") {
      if (this.#pending.settle(frame.id, err(answer.error))) this.stats.turnedAway++;
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

import { canceledError, type SluiceError, sluiceError } from "../result/errors.ts";
import { err, ok, type Result } from "../result/result.ts";
import { Fifo } from "../queue/fifo.ts";
import { Waiters } from "../queue/waiters.ts";
import { DEFAULT_MAX_PAYLOAD_BYTES, FrameType } from "../protocol/frame-layout.ts";
import { ackFrame, creditFrame, nackFrame, touchFrame } from "../protocol/frame-builders.ts";
import { decodeFrameMessage } from "../protocol/frames.ts";
import { createJsFrameCodec } from "../protocol/js-frame-codec.ts";
import type { FrameCodec } from "../protocol/frame-codec.ts";
import { decodeErrorPayload, type NackPayload } from "../protocol/messages.ts";
import { emit } from "./events.ts";
import type { ClientOptions } from "./options.ts";
import { Pings } from "./pings.ts";
import { type ClientSocket, connectSocket, messageBytes } from "./socket.ts";

/**
 * One delivery: settle it with `ack`, `nack` or keep it alive with `touch`.
 *
 * @example
 * ```ts
 * for await (const delivery of consumer) if (delivery.attempt > 3) consumer.nack(delivery);
 * ```
 */
export interface Delivery {
  /** Lease token (fencing token of this delivery). */
  readonly token: number;
  /** 1 on first delivery. */
  readonly attempt: number;
  readonly payload: Uint8Array;
  /** Which connection delivered it (settling works only on that one). */
  readonly connection: number;
}

/**
 * Options of `Consumer`.
 *
 * @example
 * ```ts
 * new Consumer({ url, queue: "jobs", credit: 8, onError: (e, id) => log(e.code, id) });
 * ```
 */
export interface ConsumerOptions extends ClientOptions {
  /** Unsettled deliveries allowed at once. Default 32. */
  readonly credit?: number;
  /** Largest delivery payload taken, in bytes (match the server's `maxFrameBytes`). Default 1 MiB. */
  readonly maxFrameBytes?: number;
  /** Called with ERROR frames the server sends (e.g. `lease.inactive` for a late ack) and deliveries over `maxFrameBytes`. */
  readonly onError?: (error: SluiceError, id: number) => void;
  /**
   * Deliveries to take in all (like a `nats` fetch batch): credit is never granted past what is
   * left of it, so after the last one is settled no further delivery is out to this consumer and
   * closing fails nothing back. Default: no limit.
   */
  readonly limit?: number;
}

/**
 * Receives deliveries from a queue over a WebSocket, with credit management.
 *
 * It grants `credit` deliveries when it connects and tops the grant up as deliveries are
 * settled (ack / nack), in batches of half the credit, so the server never has more than
 * `credit` unsettled deliveries out to it. When the socket drops it reconnects (bounded by the
 * `reconnect` policy) and grants credit again; deliveries of the old connection were failed back
 * by the server, so settling them is refused locally with `lease.inactive`.
 *
 * Nothing ends silently: when the consumer stops for good — the connection is refused
 * (`unauthorized` for a 401, `not_found`, a 501's code with `metadata.status`; none of these is
 * retried), there is no WebSocket class (`validation`), or reconnecting gave up — `receive()`
 * returns that error, `endedWith` holds it and an `ended` event reports it; a `for await` loop
 * just ends. A delivery larger than `maxFrameBytes` is reported (`frame.too_large`, to `onError`
 * and as an `error` event) and NACKed with `requeue: false`, so it goes to the poison queue at
 * once with that error instead of bouncing until its lease expires.
 *
 * @example
 * ```ts
 * const consumer = new Consumer({ url: "http://127.0.0.1:8787", queue: "default", credit: 16 });
 * for await (const delivery of consumer) {
 *   handle(delivery.payload);
 *   consumer.ack(delivery);
 * }
 * if (consumer.endedWith) console.error(consumer.endedWith.code);
 * ```
 */
export class Consumer implements AsyncIterable<Delivery> {
  readonly #options: ConsumerOptions;
  readonly #credit: number;
  readonly #codec: FrameCodec;
  readonly #buffer = new Fifo<Delivery>();
  readonly #readers = new Waiters<Delivery>();
  readonly #pings = new Pings();
  /** Aborted by `close()`: stops a reconnect that is under way. */
  readonly #halt = new AbortController();
  #socket: ClientSocket | undefined;
  #connection = 0;
  #owed = 0;
  /** Deliveries received on this connection and not yet settled. */
  #unsettled = 0;
  /** Credit granted on this connection that no DELIVER has used yet. */
  #outstanding = 0;
  /** Deliveries settled, over every connection (for `limit`). */
  #settledTotal = 0;
  #stopped = false;
  #ended: SluiceError | undefined;
  #started: Promise<Result<void>> | undefined;

  constructor(options: ConsumerOptions) {
    this.#options = options;
    this.#credit = options.credit ?? 32;
    this.#codec = createJsFrameCodec({ maxPayloadBytes: options.maxFrameBytes ?? DEFAULT_MAX_PAYLOAD_BYTES });
  }

  /** Why the consumer ended (refused, no WebSocket, reconnect gave up), if it did; `undefined` while it runs or after `close()`. */
  get endedWith(): SluiceError | undefined {
    return this.#ended;
  }

  /** Connects (with the reconnect policy) and grants the initial credit. Iterating calls it too. */
  start(): Promise<Result<void>> {
    this.#started ??= this.#connect();
    return this.#started;
  }

  /** The next delivery, or why there is none: the error the consumer ended with, or `canceled` after `close()` or when `signal` aborts. */
  async receive(options: { signal?: AbortSignal } = {}): Promise<Result<Delivery>> {
    const started = await this.start();
    if (!started.ok) return started;
    const buffered = this.#buffer.shift();
    if (buffered !== undefined) return ok(buffered);
    if (this.#stopped) return err(this.#ended ?? canceledError(undefined, "consumer closed"));
    return this.#readers.wait(options.signal);
  }

  /** The next delivery, or `undefined` once the consumer stopped (see `endedWith` for why). */
  async next(): Promise<Delivery | undefined> {
    const received = await this.receive();
    return received.ok ? received.value : undefined;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Delivery> {
    for (let d = await this.next(); d !== undefined; d = await this.next()) yield d;
  }

  /** Acknowledges a delivery. */
  ack(delivery: Delivery): Result<void> {
    return this.#settle(delivery, ackFrame(delivery.token));
  }

  /** Fails a delivery; by default it is requeued (the server poisons it after its last attempt). */
  nack(delivery: Delivery, reason?: NackPayload): Result<void> {
    return this.#settle(delivery, nackFrame(delivery.token, reason));
  }

  /** Extends a delivery's lease (heartbeat). */
  touch(delivery: Delivery): Result<void> {
    if (delivery.connection !== this.#connection || this.#socket === undefined) return stale(delivery);
    return this.#send(touchFrame(delivery.token));
  }

  /** Resolves when the acks and nacks sent so far are committed (a PING barrier); `unavailable` without a connection. */
  flush(options: { signal?: AbortSignal } = {}): Promise<Result<void>> {
    const socket = this.#socket;
    if (socket === undefined) return Promise.resolve(err("unavailable", "consumer is not connected"));
    return this.#pings.ping((f) => socket.send(f), options.signal);
  }

  /** Stops consuming: closes the socket (the server requeues unsettled deliveries at once). */
  close(): void {
    this.#stop(1000, "consumer closed");
  }

  /** Drops the connection abruptly, as a crashed consumer would (tests). */
  kill(): void {
    this.#stop(4000, "consumer killed");
  }

  #stop(code: number, reason: string): void {
    this.#stopped = true;
    this.#halt.abort();
    this.#socket?.close(code, reason);
    this.#socket = undefined;
    const why = this.#ended ?? canceledError(undefined, reason);
    this.#readers.failAll(err(why));
    this.#pings.failAll(why);
  }

  #end(error: SluiceError): void {
    if (this.#stopped) return;
    this.#ended = error;
    emit(this.#options.onEvent, { type: "ended", error });
    this.#stop(1000, "consumer gave up");
  }

  #settle(delivery: Delivery, frame: Uint8Array): Result<void> {
    if (delivery.connection !== this.#connection || this.#socket === undefined) return stale(delivery);
    const sent = this.#send(frame);
    if (!sent.ok) return sent;
    this.#unsettled--;
    this.#owed++;
    this.#settledTotal++;
    // Top the credit up in batches — one CREDIT frame per half window, not one per message —
    // judged by what the server has left, so deliveries held for long cannot starve the rest.
    if (this.#outstanding <= this.#credit >> 1) {
      const owed = Math.min(this.#owed, this.#limitLeft());
      this.#owed = 0;
      if (owed <= 0) return ok();
      this.#outstanding += owed;
      return this.#send(creditFrame(owed));
    }
    return ok();
  }

  #send(frame: Uint8Array): Result<void> {
    try {
      this.#socket?.send(frame);
      return ok();
    } catch (thrown) {
      return err("unavailable", `send failed: ${String(thrown)}`);
    }
  }

  async #connect(): Promise<Result<void>> {
    const opened = await connectSocket(this.#options, this.#halt.signal);
    if (!opened.ok) {
      this.#end(opened.error);
      return opened;
    }
    const socket = opened.value;
    if (this.#stopped) {
      socket.close(1000, "consumer closed");
      return err(this.#ended ?? canceledError(undefined, "consumer closed"));
    }
    const connection = ++this.#connection;
    this.#socket = socket;
    this.#owed = 0;
    this.#unsettled = 0;
    this.#outstanding = 0;
    emit(this.#options.onEvent, { type: "connected", transport: "websocket" });
    socket.addEventListener("message", (event) => this.#onMessage(event.data, connection));
    socket.addEventListener("close", (event: { code?: number; reason?: string }) => {
      if (this.#connection !== connection || this.#stopped) return;
      this.#socket = undefined;
      const gone = sluiceError("unavailable", `connection closed (${event?.code ?? "?"}${event?.reason ? ` ${event.reason}` : ""}); reconnecting`);
      this.#pings.failAll(gone);
      emit(this.#options.onEvent, { type: "disconnected", transport: "websocket", error: gone });
      // Deliveries of the old connection are void (the server requeued them); reconnect.
      this.#buffer.removeWhere(() => true);
      this.#started = this.#connect();
    });
    const grant = Math.min(this.#credit, this.#limitLeft());
    this.#outstanding = grant;
    if (grant > 0) socket.send(creditFrame(grant));
    return ok();
  }

  /** Deliveries `limit` still allows beyond those settled, held, or granted and on their way. */
  #limitLeft(): number {
    const limit = this.#options.limit;
    return limit === undefined ? Number.MAX_SAFE_INTEGER : limit - this.#settledTotal - this.#unsettled - this.#outstanding;
  }

  #onMessage(data: unknown, connection: number): void {
    const bytes = messageBytes(data);
    if (bytes === undefined) return;
    const frame = decodeFrameMessage(bytes, this.#codec);
    if (!frame.ok) return this.#undecodable(frame.error, connection);
    const { type, id, arg, payload } = frame.value;
    if (type === FrameType.DELIVER) {
      if (connection === this.#connection) {
        this.#unsettled++;
        this.#outstanding--;
      }
      const delivery: Delivery = { token: id, attempt: arg, payload, connection };
      if (!this.#readers.serve(ok(delivery))) this.#buffer.push(delivery);
    } else if (type === FrameType.PONG) {
      this.#pings.pong(id);
    } else if (type === FrameType.ERROR) {
      const decoded = decodeErrorPayload(payload);
      this.#report(decoded.ok ? decoded.value : decoded.error, id);
    }
  }

  // A frame this consumer cannot read. A DELIVER over maxFrameBytes still has a readable header:
  // it is reported and rejected (NACK, requeue false), which also gives its credit back.
  #undecodable(problem: SluiceError, connection: number): void {
    const token = problem.metadata?.id;
    if (problem.code !== "frame.too_large" || problem.metadata?.type !== FrameType.DELIVER || typeof token !== "number") return this.#report(problem, 0);
    const { payloadLength, limit } = problem.metadata as { payloadLength: number; limit: number };
    const message = `delivery ${token} has ${payloadLength} bytes, over this consumer's maxFrameBytes (${limit}); rejected to the poison queue`;
    const error = sluiceError("frame.too_large", message, { metadata: { token, payloadLength, limit } });
    this.#report(error, token);
    if (connection !== this.#connection) return;
    this.#unsettled++;
    this.#outstanding--;
    this.#settle({ token, attempt: 0, payload: new Uint8Array(0), connection }, nackFrame(token, { code: "frame.too_large", message, requeue: false }));
  }

  #report(error: SluiceError, id: number): void {
    try {
      this.#options.onError?.(error, id);
    } catch {
      // The listener's problem, not the connection's.
    }
    emit(this.#options.onEvent, { type: "error", error, id });
  }
}

function stale(delivery: Delivery): Result<void> {
  return err("lease.inactive", `delivery ${delivery.token} belongs to a closed connection; the server has requeued it`);
}

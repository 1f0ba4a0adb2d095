import { type SluiceError, sluiceError } from "../result/errors.ts";
import { err, ok, type Result } from "../result/result.ts";
import { retry } from "../result/retry.ts";
import { Fifo } from "../queue/fifo.ts";
import { Waiters } from "../queue/waiters.ts";
import { FrameType } from "../protocol/frame-layout.ts";
import { ackFrame, creditFrame, nackFrame, touchFrame } from "../protocol/frame-builders.ts";
import { decodeFrameMessage } from "../protocol/frames.ts";
import { decodeErrorPayload, type NackPayload } from "../protocol/messages.ts";
import { createJsFrameCodec, type FrameCodec } from "../wasm/mod.ts";
import { type ClientOptions, clockOf, DEFAULT_RECONNECT, queueSocketUrl } from "./options.ts";
import { openSocket } from "./socket.ts";

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
  /** Called with ERROR frames the server sends (e.g. `lease.inactive` for a late ack). */
  readonly onError?: (error: SluiceError, id: number) => void;
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
 * @example
 * ```ts
 * const consumer = new Consumer({ url: "http://127.0.0.1:8787", queue: "default", credit: 16 });
 * for await (const delivery of consumer) {
 *   handle(delivery.payload);
 *   consumer.ack(delivery);
 * }
 * ```
 */
export class Consumer implements AsyncIterable<Delivery> {
  readonly #options: ConsumerOptions;
  readonly #credit: number;
  readonly #codec: FrameCodec;
  readonly #buffer = new Fifo<Delivery>();
  readonly #readers = new Waiters<Delivery | undefined>();
  #socket: WebSocket | undefined;
  #connection = 0;
  #owed = 0;
  /** Deliveries received on this connection and not yet settled. */
  #unsettled = 0;
  #stopped = false;
  #ended: SluiceError | undefined;
  #started: Promise<Result<void>> | undefined;

  constructor(options: ConsumerOptions) {
    this.#options = options;
    this.#credit = options.credit ?? 32;
    this.#codec = createJsFrameCodec();
  }

  /** Why the consumer ended (reconnect gave up), if it did. */
  get endedWith(): SluiceError | undefined {
    return this.#ended;
  }

  /** Connects (with the reconnect policy) and grants the initial credit. Iterating calls it too. */
  start(): Promise<Result<void>> {
    this.#started ??= this.#connect();
    return this.#started;
  }

  /** The next delivery, or `undefined` once the consumer stopped (closed, killed, or gave up reconnecting). */
  async next(): Promise<Delivery | undefined> {
    const started = await this.start();
    if (!started.ok) return undefined;
    const buffered = this.#buffer.shift();
    if (buffered !== undefined) return buffered;
    if (this.#stopped) return undefined;
    const handed = await this.#readers.wait();
    return handed.ok ? handed.value : undefined;
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
    this.#socket?.close(code, reason);
    this.#socket = undefined;
    this.#readers.failAll(ok(undefined));
  }

  #settle(delivery: Delivery, frame: Uint8Array): Result<void> {
    if (delivery.connection !== this.#connection || this.#socket === undefined) return stale(delivery);
    const sent = this.#send(frame);
    if (!sent.ok) return sent;
    this.#unsettled--;
    this.#owed++;
    // Top the credit up in batches — one CREDIT frame per half window, not one per message —
    // judged by what the server has left, so deliveries held for long cannot starve the rest.
    const serverLeft = this.#credit - this.#unsettled - this.#owed;
    if (serverLeft <= this.#credit >> 1) {
      const owed = this.#owed;
      this.#owed = 0;
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
    const opened = await retry((_attempt, signal) => openSocket(queueSocketUrl(this.#options), { signal }), this.#options.reconnect ?? DEFAULT_RECONNECT, {
      clock: clockOf(this.#options),
    });
    if (!opened.ok || this.#stopped) {
      if (opened.ok) opened.value.close(1000, "consumer closed");
      this.#ended = opened.ok ? undefined : opened.error;
      this.#stop(1000, "consumer gave up");
      return opened.ok ? ok() : opened;
    }
    const socket = opened.value;
    const connection = ++this.#connection;
    this.#socket = socket;
    this.#owed = 0;
    this.#unsettled = 0;
    socket.addEventListener("message", (event) => this.#onMessage(event.data, connection));
    socket.addEventListener("close", () => {
      if (this.#connection !== connection || this.#stopped) return;
      this.#socket = undefined;
      // Deliveries of the old connection are void (the server requeued them); reconnect.
      this.#buffer.removeWhere(() => true);
      this.#started = this.#connect();
    });
    socket.send(creditFrame(this.#credit));
    return ok();
  }

  #onMessage(data: unknown, connection: number): void {
    if (!(data instanceof ArrayBuffer)) return;
    const frame = decodeFrameMessage(new Uint8Array(data), this.#codec);
    if (!frame.ok) return;
    const { type, id, arg, payload } = frame.value;
    if (type === FrameType.DELIVER) {
      if (connection === this.#connection) this.#unsettled++;
      const delivery: Delivery = { token: id, attempt: arg, payload, connection };
      if (!this.#readers.serve(ok(delivery))) this.#buffer.push(delivery);
    } else if (type === FrameType.ERROR) {
      const decoded = decodeErrorPayload(payload);
      this.#options.onError?.(decoded.ok ? decoded.value : decoded.error, id);
    }
  }
}

function stale(delivery: Delivery): Result<void> {
  return err("lease.inactive", `delivery ${delivery.token} belongs to a closed connection; the server has requeued it`);
}

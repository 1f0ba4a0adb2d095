import { canceledError, type SluiceError, sluiceError } from "../result/errors.ts";
import { err, ok, type Result } from "../result/result.ts";
import { Fifo } from "../queue/fifo.ts";
import { Waiters } from "../queue/waiters.ts";
import { DEFAULT_MAX_PAYLOAD_BYTES, FrameType } from "../protocol/frame-layout.ts";
import { type FrameVisitor, readFrames } from "../protocol/frame-batch.ts";
import { createJsFrameCodec } from "../protocol/js-frame-codec.ts";
import type { FrameCodec } from "../protocol/frame-codec.ts";
import { decodeErrorPayload, encodeNackPayload, type NackPayload } from "../protocol/messages.ts";
import { emit } from "./events.ts";
import { FrameSender } from "./frame-sender.ts";
import type { ConsumerOptions, Delivery } from "./consumer-options.ts";
import { Pings } from "./pings.ts";
import { type ClientSocket, connectSocket, messageBytes } from "./socket.ts";
import { ConnectTarget } from "./goaway-redirect.ts";

export type { ConsumerOptions, Delivery } from "./consumer-options.ts";

/**
 * Receives deliveries from a queue over a WebSocket, with credit management.
 *
 * It grants `credit` deliveries when it connects and tops the grant up as deliveries are
 * settled (ack / nack), in batches of half the credit, so the server never has more than
 * `credit` unsettled deliveries out to it. The ACK / NACK / TOUCH / CREDIT frames of one
 * event-loop turn leave as one WebSocket message with one CREDIT for them all (option `batch`,
 * default on; `close()` sends what is batched first), and the server then sends deliveries in
 * batches too. When the socket drops it reconnects (bounded by the `reconnect` policy) and
 * grants credit again; deliveries of the old connection were failed back by the server, so
 * settling them is refused locally with `lease.inactive`.
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
  // The configured URL, or the peer a GOAWAY named (goaway-redirect.ts).
  readonly #target: ConnectTarget;
  readonly #credit: number;
  readonly #codec: FrameCodec;
  readonly #buffer = new Fifo<Delivery>();
  readonly #readers = new Waiters<Delivery>();
  readonly #pings = new Pings();
  /** Aborted by `close()`: stops a reconnect that is under way. */
  readonly #halt = new AbortController();
  #socket: ClientSocket | undefined;
  /** Sends to `#socket` (batched per turn). */
  #sender: FrameSender | undefined;
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
    this.#target = new ConnectTarget(options.url);
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
  receive(options: { signal?: AbortSignal } = {}): Promise<Result<Delivery>> {
    // Once connected, no detour through start(): a delivery in the buffer is answered at once.
    if (this.#connection > 0) return this.#take(options.signal);
    return this.start().then((started) => (started.ok ? this.#take(options.signal) : started));
  }

  #take(signal: AbortSignal | undefined): Promise<Result<Delivery>> {
    const buffered = this.#buffer.shift();
    if (buffered !== undefined) return Promise.resolve(ok(buffered));
    if (this.#stopped) return Promise.resolve(err(this.#ended ?? canceledError(undefined, "consumer closed")));
    return this.#readers.wait(signal);
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
    return this.#settle(delivery, FrameType.ACK);
  }

  /** Fails a delivery; by default it is requeued (the server poisons it after its last attempt). */
  nack(delivery: Delivery, reason?: NackPayload): Result<void> {
    return this.#settle(delivery, FrameType.NACK, reason);
  }

  /** Extends a delivery's lease (heartbeat). */
  touch(delivery: Delivery): Result<void> {
    if (delivery.connection !== this.#connection || this.#sender === undefined) return stale(delivery);
    this.#sender.write(FrameType.TOUCH, 0, delivery.token, 0);
    return ok();
  }

  /** Resolves when the acks and nacks sent so far are committed (a PING barrier); `unavailable` without a connection. */
  flush(options: { signal?: AbortSignal } = {}): Promise<Result<void>> {
    const sender = this.#sender;
    if (sender === undefined) return Promise.resolve(err("unavailable", "consumer is not connected"));
    // After the acks and nacks batched so far, in the same message.
    return this.#pings.ping((f) => sender.append(f), options.signal);
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
    // A clean close sends the settlements batched in this turn first; a kill drops them, as a crash would.
    if (code === 1000) this.#sender?.flush();
    this.#sender?.stop();
    this.#sender = undefined;
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

  #settle(delivery: Delivery, type: number, reason?: NackPayload): Result<void> {
    const sender = this.#sender;
    if (delivery.connection !== this.#connection || sender === undefined) return stale(delivery);
    sender.write(type, 0, delivery.token, 0, reason === undefined ? undefined : encodeNackPayload(reason));
    this.#unsettled--;
    this.#owed++;
    this.#settledTotal++;
    // Batched, the top-up is written once, as the batch leaves (`beforeFlush`): one CREDIT for all its settlements.
    if (!sender.batching) this.#topUp(sender);
    return ok();
  }

  // Top the credit up in batches — one CREDIT frame per half window, not one per message —
  // judged by what the server has left, so deliveries held for long cannot starve the rest.
  #topUp(sender: FrameSender): void {
    if (this.#outstanding > this.#credit >> 1 || this.#owed === 0) return;
    const owed = Math.min(this.#owed, this.#limitLeft());
    this.#owed = 0;
    if (owed <= 0) return;
    this.#outstanding += owed;
    sender.write(FrameType.CREDIT, 0, 0, owed);
  }

  async #connect(): Promise<Result<void>> {
    const opened = await connectSocket({ ...this.#options, url: this.#target.url }, this.#halt.signal);
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
    const sender: FrameSender = new FrameSender(socket, {
      batch: this.#options.batch,
      beforeFlush: () => this.#topUp(sender),
      onFailed: (error) => {
        // Settlements in that message are lost: the socket is dropped, its leases go back on the server.
        this.#report(error, 0);
        socket.close(1000, "send failed");
      },
    });
    this.#sender = sender;
    this.#owed = 0;
    this.#unsettled = 0;
    this.#outstanding = 0;
    emit(this.#options.onEvent, { type: "connected", transport: "websocket" });
    const onFrame: FrameVisitor = (type, _flags, id, arg, bytes, start, length) => this.#onFrame(type, id, arg, bytes.subarray(start, start + length), connection);
    const onProblem = (problem: SluiceError) => this.#undecodable(problem, connection);
    socket.addEventListener("message", (event) => this.#onMessage(event.data, onFrame, onProblem));
    socket.addEventListener("close", (event: { code?: number; reason?: string }) => {
      sender.stop();
      if (this.#connection !== connection || this.#stopped) return;
      this.#socket = undefined;
      this.#sender = undefined;
      const gone = sluiceError("unavailable", `connection closed (${event?.code ?? "?"}${event?.reason ? ` ${event.reason}` : ""}); reconnecting`);
      this.#pings.failAll(gone);
      emit(this.#options.onEvent, { type: "disconnected", transport: "websocket", error: gone });
      // Deliveries of the old connection are void (the server requeued them); reconnect.
      this.#buffer.removeWhere(() => true);
      this.#started = this.#connect();
    });
    const grant = Math.min(this.#credit, this.#limitLeft());
    this.#outstanding = grant;
    if (grant > 0) sender.write(FrameType.CREDIT, 0, 0, grant);
    return ok();
  }

  /** Deliveries `limit` still allows beyond those settled, held, or granted and on their way. */
  #limitLeft(): number {
    const limit = this.#options.limit;
    return limit === undefined ? Number.MAX_SAFE_INTEGER : limit - this.#settledTotal - this.#unsettled - this.#outstanding;
  }

  // A message carries one frame or several (a batch of deliveries).
  #onMessage(data: unknown, onFrame: FrameVisitor, onProblem: (problem: SluiceError) => void): void {
    const bytes = messageBytes(data);
    if (bytes !== undefined) readFrames(bytes, this.#codec, onFrame, onProblem);
  }

  // `payload` is a view of the message (deliveries keep it: no copy per delivery).
  #onFrame(type: number, id: number, arg: number, payload: Uint8Array, connection: number): void {
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
    } else if (type === FrameType.GOAWAY && id === 0) {
      // The server drains: settle what this socket holds; after its close, reconnect to the next
      // live peer it named (if any).
      this.#target.follow(payload);
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
    this.#settle({ token, attempt: 0, payload: new Uint8Array(0), connection }, FrameType.NACK, { code: "frame.too_large", message, requeue: false });
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

import { type SluiceError, sluiceError } from "../result/errors.ts";
import { abortable } from "../result/delay.ts";
import { err, ok, type Result } from "../result/result.ts";
import { FrameFlag, FrameType } from "../protocol/frame-layout.ts";
import { type FrameVisitor, readFrames } from "../protocol/frame-batch.ts";
import { createJsFrameCodec } from "../protocol/js-frame-codec.ts";
import type { FrameCodec } from "../protocol/frame-codec.ts";
import { decodeErrorPayload, decodeReceiptPayload, type ReceiptPayload } from "../protocol/messages.ts";
import { CallTracker } from "./calls.ts";
import { emit } from "./events.ts";
import { FrameSender } from "./frame-sender.ts";
import type { ClientOptions } from "./options.ts";
import { Pings } from "./pings.ts";
import { Replies } from "./replies.ts";
import { type ClientSocket, connectSocket, messageBytes, SOCKET_OPEN } from "./socket.ts";
import { ConnectTarget } from "./goaway-redirect.ts";

/**
 * Options of `Producer`.
 *
 * @example
 * ```ts
 * new Producer({ url, queue: "jobs", maxInFlight: 64, crc: true });
 * ```
 */
export interface ProducerOptions extends ClientOptions {
  /** Publishes awaiting their receipt at once. Default 256. */
  readonly maxInFlight?: number;
  /** Add a CRC32C to every PUBLISH. Default false. */
  readonly crc?: boolean;
}

/**
 * Publishes messages to a queue over a WebSocket and resolves each publish with its
 * RECEIPT (sequence id), which the server sends once the message is committed. At most
 * `maxInFlight` publishes wait for receipts at once. When the socket is gone the next publish
 * reconnects (bounded by the `reconnect` policy); publishes that were waiting when it dropped
 * fail with `unavailable` and may have been enqueued — retrying them gives at-least-once
 * delivery. A GOAWAY answer (server shutting down) fails that publish with `unavailable`: it
 * was NOT enqueued. A refused connection fails the publish with its real code (`unauthorized`,
 * `not_found`, a 501's code with `metadata.status`), without retrying; no WebSocket class at all
 * is `validation`. `flush()` is a durability barrier for everything published before it.
 *
 * The PUBLISH frames of one event-loop turn leave as one WebSocket message (option `batch`,
 * default on: sent at the end of the turn or at 64 KiB / 256 frames), and the server answers
 * such a batch with one message of receipts; each publish still gets its own receipt.
 *
 * @example
 * ```ts
 * const producer = new Producer({ url: "http://127.0.0.1:8787", queue: "default" });
 * const receipt = await producer.publish(new TextEncoder().encode("hello"));
 * if (receipt.ok) console.log(receipt.value.sequenceId);
 * await producer.flush();
 * producer.close();
 * ```
 */
export class Producer {
  readonly #options: ProducerOptions;
  // The configured URL, or the peer a GOAWAY named (goaway-redirect.ts).
  readonly #target: ConnectTarget;
  readonly #codec: FrameCodec;
  readonly #replies: Replies<ReceiptPayload>;
  readonly #pings = new Pings();
  readonly #calls = new CallTracker();
  #socket: ClientSocket | undefined;
  /** Sends to `#socket` (batched per turn). */
  #sender: FrameSender | undefined;
  #connecting: Promise<Result<ClientSocket>> | undefined;
  #nextId = 0;
  #closed = false;

  constructor(options: ProducerOptions) {
    this.#options = options;
    this.#target = new ConnectTarget(options.url);
    this.#codec = createJsFrameCodec();
    this.#replies = new Replies(options.maxInFlight ?? 256);
  }

  /** Publishes awaiting receipts. */
  get inFlight(): number {
    return this.#replies.size;
  }

  /** Publishes one message; resolves with its receipt, or why it failed. */
  publish(payload: Uint8Array, options: { signal?: AbortSignal } = {}): Promise<Result<ReceiptPayload>> {
    if (this.#closed) return Promise.resolve(err("canceled", "producer is closed"));
    const sender = this.#sender;
    // Connected, with room in the window and no earlier publish waiting for it: into this turn's
    // batch now (`flush` waits for its answer by id); otherwise it waits, tracked until it is sent.
    if (sender !== undefined && this.#socket?.readyState === SOCKET_OPEN && this.#replies.tryReserve()) return this.#send(sender, payload);
    return this.#calls.run((sent) => this.#publishWhenReady(payload, options.signal, sent));
  }

  /**
   * Resolves when everything published before this call is committed: every such publish has
   * its receipt, and a PING sent after them has its PONG (the server's durability barrier).
   * `ok`, or the first failure among them (`metadata.failed` says how many failed); `canceled`
   * when `signal` aborts the wait.
   */
  async flush(options: { signal?: AbortSignal } = {}): Promise<Result<void>> {
    if (this.#closed) return err("canceled", "producer is closed");
    // Publishes already written are answered by id; those still waiting to be written are calls.
    const written = this.#replies.through(this.#nextId);
    const before = this.#calls.snapshot();
    const sent = await abortable(before.sent(), options.signal);
    if (!sent.ok) return sent;
    const sender = this.#sender;
    // The PING goes after every PUBLISH already batched: the server answers it once they are stored.
    const barrier = sender !== undefined && this.#socket?.readyState === SOCKET_OPEN ? this.#pings.ping((f) => sender.append(f), options.signal) : Promise.resolve(ok());
    const answered = await abortable(Promise.all([written, before.answered()]), options.signal);
    if (!answered.ok) return answered;
    const failed = answered.value.filter((r) => !r.ok);
    if (failed.length === 0) return await barrier;
    const first = failed[0]!.ok ? undefined : failed[0]!.error;
    const count = failed.reduce((n, r) => n + (r.ok ? 0 : Number(r.error.metadata?.failed ?? 1)), 0);
    return err({ ...first!, metadata: { ...first!.metadata, failed: count } });
  }

  async #publishWhenReady(payload: Uint8Array, signal: AbortSignal | undefined, sent: () => void): Promise<Result<ReceiptPayload>> {
    const room = await this.#replies.reserve(signal);
    if (!room.ok) return room;
    const socket = await this.#connected(signal);
    const sender = this.#sender;
    if (!socket.ok || sender === undefined) {
      this.#replies.release();
      return socket.ok ? err("unavailable", "connection closed before the publish was sent") : socket;
    }
    const answer = this.#send(sender, payload);
    sent();
    return answer;
  }

  #send(sender: FrameSender, payload: Uint8Array): Promise<Result<ReceiptPayload>> {
    const id = ++this.#nextId;
    const answer = this.#replies.expect(id);
    sender.write(FrameType.PUBLISH, this.#options.crc ? FrameFlag.Crc : 0, id, 0, payload);
    return answer;
  }

  /** Closes the socket; publishes still waiting fail with `unavailable`. */
  close(): void {
    this.#closed = true;
    // What this turn already published goes out before the socket closes.
    this.#sender?.flush();
    this.#sender?.stop();
    this.#socket?.close(1000, "producer closed");
    const closed = sluiceError("unavailable", "producer closed before the receipt arrived");
    this.#replies.failAll(closed);
    this.#pings.failAll(closed);
  }

  #connected(signal?: AbortSignal): Promise<Result<ClientSocket>> {
    if (this.#socket !== undefined && this.#socket.readyState === SOCKET_OPEN) return Promise.resolve(ok(this.#socket));
    this.#connecting ??= connectSocket({ ...this.#options, url: this.#target.url }, signal).then((opened) => {
      this.#connecting = undefined;
      if (opened.ok) this.#attach(opened.value);
      return opened;
    });
    return this.#connecting;
  }

  #attach(socket: ClientSocket): void {
    if (this.#closed) return socket.close(1000, "producer closed");
    this.#socket = socket;
    const sender = new FrameSender(socket, {
      batch: this.#options.batch,
      onFailed: (error) => {
        // The socket is unusable: what was sent on it may or may not be enqueued; the next publish reconnects.
        if (this.#socket === socket) this.#socket = undefined;
        if (this.#sender === sender) this.#sender = undefined;
        sender.stop();
        this.#replies.failAll(error);
        this.#pings.failAll(error);
        socket.close(1000, "send failed");
      },
    });
    this.#sender = sender;
    emit(this.#options.onEvent, { type: "connected", transport: "websocket" });
    socket.addEventListener("message", (event) => this.#onMessage(event.data));
    socket.addEventListener("close", (event: { code?: number; reason?: string }) => {
      sender.stop();
      if (this.#sender === sender) this.#sender = undefined;
      if (this.#socket === socket) this.#socket = undefined;
      const gone = sluiceError("unavailable", `connection closed (${event?.code ?? "?"}${event?.reason ? ` ${event.reason}` : ""}) before the receipt arrived; the message may or may not be enqueued`);
      this.#replies.failAll(gone);
      this.#pings.failAll(gone);
      if (!this.#closed) emit(this.#options.onEvent, { type: "disconnected", transport: "websocket", error: gone });
    });
  }

  #settleRange(id: number, count: number, first: ReceiptPayload): void {
    for (let i = 0; i < count; i++) this.#replies.settle(id + i, ok({ sequenceId: first.sequenceId + i, queue: first.queue, duplicate: false }));
  }

  // A message carries one frame or several (a batch of receipts).
  #onMessage(data: unknown): void {
    const bytes = messageBytes(data);
    if (bytes !== undefined) readFrames(bytes, this.#codec, this.#onFrame, this.#onProblem);
  }

  readonly #onProblem = (error: SluiceError): void => emit(this.#options.onEvent, { type: "error", error, id: 0 });

  readonly #onFrame: FrameVisitor = (type, _flags, id, arg, bytes, start, length): void => {
    const payload = bytes.subarray(start, start + length);
    if (type === FrameType.RECEIPT) {
      const receipt = decodeReceiptPayload(payload);
      // A range (batched answers): `arg` consecutive publishes from `id`, consecutive sequence ids.
      if (arg > 1 && receipt.ok) this.#settleRange(id, arg, receipt.value);
      else this.#replies.settle(id, receipt);
    } else if (type === FrameType.PONG) {
      this.#pings.pong(id);
    } else if (type === FrameType.ERROR) {
      const decoded = decodeErrorPayload(payload);
      const error = decoded.ok ? decoded.value : decoded.error;
      if (!this.#replies.settle(id, err(error))) emit(this.#options.onEvent, { type: "error", error, id });
    } else if (type === FrameType.GOAWAY) {
      if (id !== 0) this.#replies.settle(id, err("unavailable", "server is shutting down; the message was not enqueued"));
      else {
        // No new publishes on this socket (what is batched for it still goes); the next one
        // reconnects — to the next live peer when the GOAWAY names any.
        this.#target.follow(payload);
        this.#socket = undefined;
        this.#sender = undefined;
      }
    }
  };
}

import { type SluiceError, sluiceError } from "../result/errors.ts";
import { ok, type Result } from "../result/result.ts";
import { Fifo } from "../queue/fifo.ts";
import type { Lease } from "../queue/lease.ts";
import type { SafeTaskQueue } from "../queue/safe-task-queue.ts";
import { Waiters } from "../queue/waiters.ts";
import { FrameType } from "../protocol/frame-layout.ts";
import { decodeFrameMessage, type Frame, frameIdOf } from "../protocol/frames.ts";
import { deliverFrame, errorFrame, goawayFrame, pongFrame, receiptFrame } from "../protocol/frame-builders.ts";
import { decodeNackPayload, type NackPayload } from "../protocol/messages.ts";
import type { FrameCodec } from "../wasm/mod.ts";
import { type FramePeer, safeSend } from "./frame-peer.ts";
import { LeaseLedger } from "./lease-ledger.ts";

/**
 * Options of `WsSession`.
 *
 * @example
 * ```ts
 * new WsSession({ queue, codec, peer, accepting: () => broker.accepting, maxPublishBacklog: 256 });
 * ```
 */
export interface WsSessionOptions {
  readonly queue: SafeTaskQueue<Uint8Array>;
  readonly codec: FrameCodec;
  readonly peer: FramePeer;
  /** False once the server shuts down: a PUBLISH is then answered with GOAWAY (id = its id). */
  readonly accepting: () => boolean;
  /** PUBLISH frames held while the queue is full, per connection. Default 1024. */
  readonly maxPublishBacklog?: number;
  /**
   * Optional: resolves once the I/O callbacks now running have finished (e.g. a `setImmediate`).
   * When given, a woken delivery loop waits for it first, so every message published by the
   * burst being read is delivered in the same batch (with `peer.batch`: one write), instead of
   * one write per message. Costs one event-loop turn of latency per batch.
   */
  readonly coalesce?: () => Promise<void>;
}

// Credits are u32 on the wire; the running total is capped so it stays an exact small integer.
const MAX_CREDIT = 0x7fffffff;
const DEFAULT_NACK: NackPayload = { code: "internal", message: "nacked by consumer", requeue: true };

/**
 * One WebSocket connection on `GET /v1/queues/:queue/ws`, runtime-neutral (the
 * route feeds it messages and tells it when the socket closed).
 *
 * Producers send PUBLISH (id = their correlation id) and get a RECEIPT with the same id as soon
 * as the message is in the queue. Publishes of one connection are enqueued in order; while the
 * queue is full (fullMode "wait") they wait in a backlog of at most `maxPublishBacklog` frames,
 * beyond which a PUBLISH is answered with ERROR `queue.full` instead of being buffered.
 *
 * Consumers send CREDIT n: credits add up and each DELIVER (id = lease token, arg = attempt)
 * uses one, so a consumer holds at most the credit it granted, however slow it acks. A DELIVER
 * the runtime drops (the consumer stopped reading and its send buffer is full) is failed back at
 * once without counting an attempt, its credit is returned, and deliveries pause until the
 * consumer sends again. ACK, NACK
 * (optional NackReason payload; none = requeue) and TOUCH (heartbeat) name the lease token.
 * When the socket closes, every lease the connection still holds is failed back with requeue
 * at once (see `LeaseLedger`). Bad frames get an ERROR frame and the socket stays usable.
 *
 * @example
 * ```ts
 * const session = new WsSession({ queue, codec, peer, accepting: () => broker.accepting });
 * socket.onmessage = (e) => session.handleMessage(e.data);
 * socket.onclose = () => session.closed();
 * ```
 */
export class WsSession {
  readonly #queue: SafeTaskQueue<Uint8Array>;
  readonly #codec: FrameCodec;
  readonly #peer: FramePeer;
  readonly #accepting: () => boolean;
  readonly #maxBacklog: number;
  readonly #coalesce: (() => Promise<void>) | undefined;
  readonly #ledger: LeaseLedger<Uint8Array>;
  readonly #stop = new AbortController();
  readonly #creditWaiters = new Waiters<void>();
  readonly #backlog = new Fifo<Frame>();
  #credit = 0;
  /** Set when the runtime dropped a DELIVER: no more deliveries until the consumer speaks again. */
  #stalled = false;
  #delivering = false;
  #backlogRunning = false;
  #blobs: Promise<void> = Promise.resolve();

  constructor(options: WsSessionOptions) {
    this.#queue = options.queue;
    this.#codec = options.codec;
    this.#peer = options.peer;
    this.#accepting = options.accepting;
    this.#maxBacklog = options.maxPublishBacklog ?? 1024;
    this.#coalesce = options.coalesce;
    this.#ledger = new LeaseLedger(options.queue);
  }

  /** Unused credit (deliveries the consumer still accepts). */
  get credit(): number {
    return this.#credit;
  }

  /** Leases this connection holds. */
  get held(): number {
    return this.#ledger.size;
  }

  /** Feeds one WebSocket message (ArrayBuffer, typed array or Blob; text is answered with ERROR). */
  handleMessage(data: unknown): void {
    if (this.#stop.signal.aborted) return;
    // Bun hands over a Uint8Array (Buffer): use it as is — reading `.buffer` would copy it.
    if (data instanceof Uint8Array) return this.#handleBytes(data);
    if (data instanceof ArrayBuffer) return this.#handleBytes(new Uint8Array(data));
    if (ArrayBuffer.isView(data)) return this.#handleBytes(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    if (typeof Blob !== "undefined" && data instanceof Blob) {
      // Blobs read asynchronously; chaining keeps the connection's frames in order.
      this.#blobs = this.#blobs.then(async () => this.#handleBytes(new Uint8Array(await data.arrayBuffer()))).catch(() => {});
      return;
    }
    this.#error(sluiceError("frame.malformed", "text messages are not frames: send one binary frame per message"));
  }

  /** Tells the connection the server is shutting down (GOAWAY with id 0). */
  goAway(): void {
    safeSend(this.#peer, goawayFrame(0));
  }

  /** Closes the socket (e.g. 1001 at shutdown); `closed()` runs when the runtime reports it. */
  close(code: number, reason: string): void {
    try {
      this.#peer.close(code, reason);
    } catch {
      // Already closed.
    }
  }

  /** The socket is gone: stop delivering, drop unanswered publishes, fail held leases back now. */
  async closed(reason: SluiceError = sluiceError("unavailable", "consumer disconnected")): Promise<number> {
    if (!this.#stop.signal.aborted) this.#stop.abort(reason);
    return this.#ledger.releaseAll(reason);
  }

  #handleBytes(bytes: Uint8Array): void {
    if (this.#stop.signal.aborted) return;
    if (this.#stalled) {
      // It reads again (it answered): resume deliveries.
      this.#stalled = false;
      this.#creditWaiters.serve(ok());
    }
    const decoded = decodeFrameMessage(bytes, this.#codec);
    if (!decoded.ok) return this.#error(decoded.error, frameIdOf(decoded.error));
    const frame = decoded.value;
    switch (frame.type) {
      case FrameType.PUBLISH:
        return this.#publish(frame);
      case FrameType.PUBLISH_END:
      case FrameType.PONG:
        return;
      case FrameType.PING:
        return void safeSend(this.#peer, pongFrame(frame.id));
      case FrameType.CREDIT:
        return this.#grant(frame.arg);
      case FrameType.ACK:
        return this.#settle(frame.id, (lease) => this.#queue.ack(lease));
      case FrameType.NACK:
        return this.#nack(frame);
      case FrameType.TOUCH:
        return this.#touch(frame.id);
      default:
        return this.#error(sluiceError("frame.malformed", `frame type 0x${frame.type.toString(16)} is not sent by clients`), frame.id);
    }
  }

  #publish(frame: Frame): void {
    if (!this.#accepting()) return void safeSend(this.#peer, goawayFrame(frame.id));
    if (this.#backlog.length > 0) {
      if (this.#backlog.length >= this.#maxBacklog) {
        return this.#error(sluiceError("queue.full", `queue '${this.#queue.name}' is full and ${this.#maxBacklog} publishes already wait`), frame.id);
      }
      this.#backlog.push(frame);
      return;
    }
    const added = this.#queue.tryEnqueue(frame.payload);
    if (added.ok || added.error.code !== "queue.full" || this.#queue.options.fullMode === "reject") return this.#answer(frame.id, added);
    this.#backlog.push(frame);
    if (!this.#backlogRunning) void this.#drainBacklog();
  }

  // Waits for room for each held publish in order; a closing queue ends it (GOAWAY per frame).
  async #drainBacklog(): Promise<void> {
    this.#backlogRunning = true;
    const signal = this.#stop.signal;
    for (let frame = this.#backlog.peek(); frame !== undefined && !signal.aborted; frame = this.#backlog.peek()) {
      const added = await this.#queue.enqueue(frame.payload, { signal });
      if (signal.aborted) break;
      this.#backlog.shift();
      this.#answer(frame.id, added);
    }
    this.#backlogRunning = false;
  }

  #answer(id: number, added: Result<{ sequenceId: number; duplicate: boolean }>): void {
    if (added.ok) {
      safeSend(this.#peer, receiptFrame(id, { sequenceId: added.value.sequenceId, queue: this.#queue.name, duplicate: added.value.duplicate }));
    } else if (added.error.code === "queue.closed") {
      safeSend(this.#peer, goawayFrame(id));
    } else {
      this.#error(added.error, id);
    }
  }

  #grant(credit: number): void {
    if (credit === 0) return;
    this.#ledger.prune();
    this.#credit = Math.min(MAX_CREDIT, this.#credit + credit);
    this.#creditWaiters.serve(ok());
    if (!this.#delivering) void this.#deliverLoop();
  }

  // One lease per unit of credit; ends when the socket closes or the queue closes/drains.
  async #deliverLoop(): Promise<void> {
    this.#delivering = true;
    const signal = this.#stop.signal;
    while (!signal.aborted) {
      if (this.#credit <= 0 || this.#stalled) {
        if (!(await this.#creditWaiters.wait(signal)).ok) break;
        continue;
      }
      const leased = await this.#queue.lease({ signal });
      if (!leased.ok) break;
      const lease = leased.value;
      if (this.#coalesce !== undefined) await this.#coalesce();
      if (signal.aborted) {
        // Handed over just as the socket closed (or while coalescing): straight back, not the message's fault.
        this.#queue.fail(lease, sluiceError("canceled", "consumer disconnected"), { requeue: true, countAttempt: false, delayMs: 0 });
        break;
      }
      if (this.#peer.batch === undefined) this.#deliverReady(lease);
      else this.#peer.batch(() => this.#deliverReady(lease));
    }
    this.#delivering = false;
  }

  // Delivers `first`, then — without going back to the event loop — every further ready item the
  // credit allows, so a burst of publishes leaves as one batch of sends (one write with
  // `peer.batch`) instead of one await and one syscall per message.
  #deliverReady(first: Lease<Uint8Array>): void {
    const signal = this.#stop.signal;
    for (let lease: Lease<Uint8Array> | undefined = first; lease !== undefined; lease = this.#queue.tryLease()) {
      this.#credit--;
      this.#ledger.hold(lease);
      if (!safeSend(this.#peer, deliverFrame(lease.token, lease.attempt, lease.payload))) {
        // The consumer never got it (socket gone, or its send buffer is full because it stopped
        // reading): put it straight back, uncounted, and hold further deliveries until it reads.
        this.#ledger.settle(lease.token);
        this.#queue.fail(lease, sluiceError("unavailable", "delivery dropped: consumer not reading"), { requeue: true, countAttempt: false, delayMs: 0 });
        this.#credit++;
        this.#stalled = true;
        return;
      }
      if (this.#credit <= 0 || signal.aborted) return;
    }
  }

  #nack(frame: Frame): void {
    const reason = frame.payload.byteLength === 0 ? ok(DEFAULT_NACK) : decodeNackPayload(frame.payload);
    if (!reason.ok) return this.#error(reason.error, frame.id);
    const { code, message, requeue } = reason.value;
    this.#settle(frame.id, (lease) => this.#queue.fail(lease, sluiceError(code, message), { requeue }));
  }

  #touch(token: number): void {
    const lease = this.#ledger.get(token);
    const touched = lease === undefined ? undefined : this.#queue.heartbeat(lease);
    if (touched?.ok) return;
    this.#ledger.settle(token);
    this.#error(touched?.ok === false ? touched.error : inactive(token), token);
  }

  #settle(token: number, end: (lease: NonNullable<ReturnType<LeaseLedger<Uint8Array>["get"]>>) => Result<void>): void {
    const lease = this.#ledger.get(token);
    if (lease === undefined) return this.#error(inactive(token), token);
    const ended = end(lease);
    this.#ledger.settle(token);
    if (!ended.ok) this.#error(ended.error, token);
  }

  #error(error: SluiceError, id = 0): void {
    safeSend(this.#peer, errorFrame(error, id));
  }
}

function inactive(token: number): SluiceError {
  return sluiceError("lease.inactive", `lease ${token} is not held by this connection (acked, expired or never delivered here)`, {
    metadata: { token },
  });
}

import { type SluiceError, sluiceError } from "../result/errors.ts";
import { ok, type Result } from "../result/result.ts";
import type { Lease } from "../queue/lease.ts";
import type { SafeTaskQueue } from "../queue/safe-task-queue.ts";
import { FRAME_HEADER_BYTES, FrameType } from "../protocol/frame-layout.ts";
import { frameIdOf, isProblem, readFrameMessage } from "../protocol/frames.ts";
import { errorFrame, goawayFrame, pongFrame } from "../protocol/frame-builders.ts";
import { FrameWriter } from "../protocol/frame-writer.ts";
import { PublishIntake } from "./publish-intake.ts";
import { decodeNackPayload, type NackPayload } from "../protocol/messages.ts";
import type { FrameCodec } from "../wasm/mod.ts";
import { type FramePeer, safeSend } from "./frame-peer.ts";
import { LeaseLedger } from "./lease-ledger.ts";
import type { WaiterHandle } from "../queue/waiters.ts";
import type { MemoryBudget } from "../queue/memory-budget.ts";

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
   * Optional: schedules `run` after the I/O callbacks now running (e.g. with `setImmediate`).
   * When given, a lease handed to this connection is delivered from there, so every message
   * published by the burst being read leaves in the same batch (with `peer.batch`: one write)
   * instead of one write per message. Costs one event-loop turn of latency per batch. Without
   * it, delivery runs in a microtask.
   */
  readonly coalesce?: (run: () => void) => void;
  /** The server's memory budget, which publishes held while the queue is full count against. */
  readonly memoryBudget?: MemoryBudget;
}

const FRESH_FRAMES = FrameWriter.fresh();
let reusingFrames: FrameWriter | undefined;
// One scratch for every session whose peer copies on send: JS runs one send at a time.
function sharedReusingWriter(): FrameWriter {
  reusingFrames ??= FrameWriter.reusing();
  return reusingFrames;
}

// Credits are u32 on the wire; the running total is capped so it stays an exact small integer.
const MAX_CREDIT = 0x7fffffff;
/** Deliveries per turn before a consumer steps back, so ready items spread across consumers. */
const FAIR_BATCH = 32;
/** Bytes queued in the runtime's send buffer past which a consumer gets nothing more until it drains. */
const SEND_BUFFER_HIGH = 1 << 20;
/** How often a consumer whose send buffer is full is checked for having drained it. */
const DRAIN_POLL_MS = 20;
/** Malformed frames in a row (no good frame between) before the connection is closed with 1008. */
const MAX_MALFORMED_RUN = 64;
/** WebSocket close code "policy violation". */
const POLICY_VIOLATION = 1008;
const DEFAULT_NACK: NackPayload = { code: "internal", message: "nacked by consumer", requeue: true };

/**
 * One WebSocket connection on `GET /v1/queues/:queue/ws`, runtime-neutral (the
 * route feeds it messages and tells it when the socket closed).
 *
 * Producers send PUBLISH (id = their correlation id) and get a RECEIPT with the same id as soon
 * as the message is in the queue (see `PublishIntake`: in order, a bounded backlog while the
 * queue is full, GOAWAY once the server stops accepting).
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
  readonly #schedule: (run: () => void) => void;
  readonly #ledger: LeaseLedger<Uint8Array>;
  readonly #stop = new AbortController();
  readonly #frames: FrameWriter;
  readonly #intake: PublishIntake;
  #credit = 0;
  /**
   * No more deliveries until the consumer speaks again: the runtime dropped a DELIVER, or the
   * consumer held leases for a whole `leaseMs` without sending a single frame (stuck).
   */
  #stalled = false;
  /** Its send buffer is over `SEND_BUFFER_HIGH`: deliveries wait until it drains. */
  #backpressured = false;
  /** The token of a suspect delivered alone: nothing else is delivered until it is settled. */
  #isolated = 0;
  /** Clock time of the last frame received (stuck-consumer detection). */
  #lastReadAt: number;
  /** Malformed frames since the last good one: a client that sends only garbage is closed, not answered forever. */
  #malformedRun = 0;
  /** A `leaseWith` is outstanding (at most one at a time). */
  #parked = false;
  /** …parked while holding leases (`free` false), and its handle: it moves to the free line once they are settled. */
  #parkedBusy: WaiterHandle | undefined;
  /** The lease handed over, waiting for the scheduled delivery. */
  #leased: Lease<Uint8Array> | undefined;
  #blobs: Promise<void> = Promise.resolve();

  constructor(options: WsSessionOptions) {
    this.#queue = options.queue;
    this.#codec = options.codec;
    this.#peer = options.peer;
    this.#schedule = options.coalesce ?? queueMicrotask;
    this.#ledger = new LeaseLedger(options.queue);
    this.#frames = options.peer.copiesOnSend === true ? sharedReusingWriter() : FRESH_FRAMES;
    this.#lastReadAt = options.queue.options.clock.now();
    this.#intake = new PublishIntake({
      queue: options.queue,
      peer: options.peer,
      frames: this.#frames,
      accepting: options.accepting,
      maxBacklog: options.maxPublishBacklog ?? 1024,
      memoryBudget: options.memoryBudget,
      signal: this.#stop.signal,
    });
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
    this.#lastReadAt = this.#queue.options.clock.now();
    // Bun hands over a Uint8Array (Buffer): use it as is — reading `.buffer` would copy it.
    if (data instanceof Uint8Array) return this.#handleBytes(data);
    if (data instanceof ArrayBuffer) return this.#handleBytes(new Uint8Array(data));
    if (ArrayBuffer.isView(data)) return this.#handleBytes(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    if (typeof Blob !== "undefined" && data instanceof Blob) {
      // Blobs read asynchronously; chaining keeps the connection's frames in order.
      this.#blobs = this.#blobs.then(async () => this.#handleBytes(new Uint8Array(await data.arrayBuffer()))).catch(() => {});
      return;
    }
    this.#malformed(sluiceError("frame.malformed", "text messages are not frames: send one binary frame per message"));
  }

  // ERROR for a bad frame; after MAX_MALFORMED_RUN of them in a row, close (1008) instead.
  #malformed(problem: SluiceError): void {
    if (++this.#malformedRun <= MAX_MALFORMED_RUN) return this.#error(problem, frameIdOf(problem));
    if (this.#malformedRun === MAX_MALFORMED_RUN + 1) this.close(POLICY_VIOLATION, `${MAX_MALFORMED_RUN} malformed frames in a row`);
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
      this.#pump();
    }
    const header = readFrameMessage(bytes, this.#codec);
    if (isProblem(header)) return this.#malformed(header);
    this.#malformedRun = 0;
    // `header` is the codec's reused object: read what is needed before anything else decodes.
    const id = header.id;
    switch (header.type) {
      case FrameType.PUBLISH:
        // A copy: the payload outlives the message (it is queued).
        return this.#intake.publish(id, bytes.slice(FRAME_HEADER_BYTES, FRAME_HEADER_BYTES + header.payloadLength));
      case FrameType.PUBLISH_END:
      case FrameType.PONG:
        return;
      case FrameType.PING:
        // A durability barrier: the PONG follows the commit of everything enqueued before it.
        return this.#queue.afterCommit(() => void safeSend(this.#peer, pongFrame(id)));
      case FrameType.CREDIT:
        return this.#grant(header.arg);
      case FrameType.ACK:
        return this.#ack(id);
      case FrameType.NACK:
        return this.#nack(id, bytes.subarray(FRAME_HEADER_BYTES, FRAME_HEADER_BYTES + header.payloadLength));
      case FrameType.TOUCH:
        return this.#touch(id);
      default:
        return this.#error(sluiceError("frame.malformed", `frame type 0x${header.type.toString(16)} is not sent by clients`), id);
    }
  }

  #grant(credit: number): void {
    if (credit === 0) return;
    this.#ledger.prune();
    this.#freeIfEmpty();
    this.#credit = Math.min(MAX_CREDIT, this.#credit + credit);
    this.#pump();
  }

  // Parks for one lease while the consumer has credit. Callbacks, not an async loop: a promise,
  // its resolvers and a continuation per message were most of this path's garbage.
  #pump(): void {
    if (this.#parked || this.#leased !== undefined || this.#credit <= 0 || this.#stalled || this.#backpressured || this.#isolated !== 0) return;
    if (this.#stop.signal.aborted) return;
    this.#parked = true;
    // Holding nothing, it may take a suspect (delivered alone); holding leases, only ordinary items.
    const free = this.#ledger.size === 0;
    const handle = this.#queue.leaseWith(this.#onLease, this.#stop.signal, free);
    if (this.#parked && !free) this.#parkedBusy = handle;
  }

  // May run inside another connection's enqueue: only take the lease and schedule its delivery.
  // An error (socket closed: canceled; queue closed or drained) ends pumping until more credit.
  readonly #onLease = (leased: Result<Lease<Uint8Array>>): void => {
    this.#parked = false;
    this.#parkedBusy = undefined;
    if (!leased.ok) return;
    this.#leased = leased.value;
    this.#schedule(this.#flush);
  };

  readonly #flush = (): void => {
    const lease = this.#leased;
    if (lease === undefined) return;
    this.#leased = undefined;
    if (this.#stop.signal.aborted || this.#stuck()) {
      // Handed over just as the socket closed, or to a consumer that stopped reading: straight
      // back, not the message's fault; a stuck consumer gets nothing more until it reads again.
      this.#queue.fail(lease, sluiceError("canceled", "consumer not reading"), { requeue: true, countAttempt: false, delayMs: 0 });
      if (!this.#stop.signal.aborted) this.#takeBack();
      return;
    }
    const batch = this.#leaseBatch(lease);
    // A stored queue writes each lease ahead of its DELIVER: a crash after the consumer saw it
    // must find it leased, so that the redelivery is attempt + 1 and the crash counts a stall.
    if (this.#queue.journal === undefined) this.#send(batch);
    else this.#queue.afterCommit(() => this.#send(batch));
    this.#pump();
  };

  // `first`, then — without going back to the event loop — further ready items the credit allows
  // (at most FAIR_BATCH, so other consumers get their turn), so a burst of publishes leaves as one
  // batch of sends instead of one syscall per message. A suspect always travels alone.
  #leaseBatch(first: Lease<Uint8Array>): Lease<Uint8Array>[] {
    const batch = [first];
    this.#credit--;
    this.#ledger.hold(first);
    if (first.suspect) {
      this.#isolated = first.token;
      return batch;
    }
    while (this.#credit > 0 && batch.length < FAIR_BATCH) {
      const lease = this.#queue.tryLease(undefined, false);
      if (lease === undefined) break;
      this.#credit--;
      this.#ledger.hold(lease);
      batch.push(lease);
    }
    return batch;
  }

  #send(batch: Lease<Uint8Array>[]): void {
    if (this.#peer.batch === undefined) this.#sendAll(batch);
    else this.#peer.batch(() => this.#sendAll(batch));
    if ((this.#peer.bufferedAmount?.() ?? 0) > SEND_BUFFER_HIGH) this.#waitForDrain();
  }

  #sendAll(batch: Lease<Uint8Array>[]): void {
    for (let i = 0; i < batch.length; i++) {
      const lease = batch[i]!;
      if (this.#stop.signal.aborted || !safeSend(this.#peer, this.#frames.deliver(lease.token, lease.attempt, lease.payload))) {
        // The consumer never got these (socket gone, or the runtime dropped the frame because
        // the consumer stopped reading): straight back, uncounted; wait until it reads again.
        for (let j = i; j < batch.length; j++) this.#giveBack(batch[j]!);
        this.#stalled = !this.#stop.signal.aborted;
        return;
      }
    }
  }

  #giveBack(lease: Lease<Uint8Array>): void {
    this.#ledger.settle(lease.token);
    if (this.#isolated === lease.token) this.#isolated = 0;
    this.#queue.fail(lease, sluiceError("unavailable", "delivery dropped: consumer not reading"), { requeue: true, countAttempt: false, delayMs: 0 });
    this.#credit++;
  }

  // Holding leases for a whole lease period without sending one frame (no ACK, no TOUCH): the
  // consumer is stuck. Its leases would expire anyway; nothing more should join them.
  #stuck(): boolean {
    return this.#ledger.size > 0 && this.#queue.options.clock.now() - this.#lastReadAt >= this.#queue.options.leaseMs;
  }

  // A stuck consumer's leases go back now, each as the stall it is, rather than at their deadlines.
  #takeBack(): void {
    this.#stalled = true;
    this.#ledger.releaseStuck(sluiceError("lease.expired", "consumer stopped reading"));
  }

  #waitForDrain(): void {
    if (this.#backpressured) return;
    this.#backpressured = true;
    const clock = this.#queue.options.clock;
    const poll = () => {
      if (this.#stop.signal.aborted) return;
      if ((this.#peer.bufferedAmount?.() ?? 0) > SEND_BUFFER_HIGH / 2) return void clock.setTimeout(poll, DRAIN_POLL_MS);
      this.#backpressured = false;
      this.#pump();
    };
    clock.setTimeout(poll, DRAIN_POLL_MS);
  }

  #ack(token: number): void {
    const lease = this.#held(token);
    if (lease !== undefined) this.#ended(token, this.#queue.ack(lease));
  }

  #nack(token: number, payload: Uint8Array): void {
    const reason = payload.byteLength === 0 ? ok(DEFAULT_NACK) : decodeNackPayload(payload);
    if (!reason.ok) return this.#error(reason.error, token);
    const { code, message, requeue } = reason.value;
    const lease = this.#held(token);
    if (lease !== undefined) this.#ended(token, this.#queue.fail(lease, sluiceError(code, message), { requeue }));
  }

  // The lease this connection holds under `token`; undefined after answering lease.inactive.
  #held(token: number): Lease<Uint8Array> | undefined {
    const lease = this.#ledger.get(token);
    if (lease === undefined) this.#error(inactive(token), token);
    return lease;
  }

  // The consumer ended the lease (ack / nack): drop it from the ledger, report a refusal.
  #ended(token: number, result: Result<void>): void {
    this.#settled(token);
    if (!result.ok) this.#error(result.error, token);
  }

  #settled(token: number): void {
    this.#ledger.settle(token);
    if (this.#isolated === token) {
      this.#isolated = 0;
      this.#pump();
    } else this.#freeIfEmpty();
  }

  // Parked while it held leases and now holds none: wait in the free line, where suspects are served.
  #freeIfEmpty(): void {
    if (this.#parkedBusy === undefined || this.#ledger.size > 0) return;
    const handle = this.#parkedBusy;
    this.#parkedBusy = undefined;
    this.#queue.nowFree(handle, this.#onLease, this.#stop.signal);
  }

  #touch(token: number): void {
    const lease = this.#ledger.get(token);
    const touched = lease === undefined ? undefined : this.#queue.heartbeat(lease);
    if (touched?.ok) return;
    this.#settled(token);
    this.#error(touched?.ok === false ? touched.error : inactive(token), token);
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

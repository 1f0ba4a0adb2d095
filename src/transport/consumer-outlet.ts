import { type SluiceError, sluiceError } from "../result/errors.ts";
import { ok, type Result } from "../result/result.ts";
import type { Lease } from "../queue/lease.ts";
import type { RelayQueue } from "../queue/relay-queue.ts";
import type { WaiterHandle } from "../queue/waiters.ts";
import type { FrameWriter } from "../protocol/frame-writer.ts";
import { decodeNackPayload, type NackPayload } from "../protocol/messages.ts";
import type { FramePeer } from "./frame-peer.ts";
import { sendDeliveries } from "./deliveries.ts";
import { LeaseLedger } from "./lease-ledger.ts";

// Credits are u32 on the wire; the running total is capped so it stays an exact small integer.
const MAX_CREDIT = 0x7fffffff;
/** Deliveries per turn before a consumer steps back, so ready items spread across consumers. */
const FAIR_BATCH = 32;
/** The same for a consumer that reads batches: its deliveries of one turn leave as one message (at most 64 KiB each). */
const FAIR_BATCH_BATCHED = 128;
/** Bytes queued in the runtime's send buffer past which a consumer gets nothing more until it drains. */
const SEND_BUFFER_HIGH = 1 << 20;
/** How often a consumer whose send buffer is full is checked for having drained it. */
const DRAIN_POLL_MS = 20;
/** With `soon`: a batch this big means a burst — the next deliveries wait for the end of the turn again. */
const SOON_BELOW = 16;
const DEFAULT_NACK: NackPayload = { code: "internal", message: "nacked by consumer", requeue: true };

/**
 * Options of `ConsumerOutlet`.
 *
 * @example
 * ```ts
 * const options: ConsumerOutletOptions = { queue, peer, frames, schedule: queueMicrotask, signal, error: (e, id) => reply(e, id) };
 * ```
 */
export interface ConsumerOutletOptions {
  readonly queue: RelayQueue<Uint8Array>;
  readonly peer: FramePeer;
  readonly frames: FrameWriter;
  /** Runs a delivery batch later (a microtask, or after the I/O callbacks with `setImmediate`). */
  readonly schedule: (run: () => void) => void;
  /**
   * Optional, with a `schedule` that waits for the end of the event-loop turn: runs the first
   * delivery batch of a turn sooner — at the end of the task now running (`queueMicrotask`) —
   * and only the leases handed over after it wait for `schedule`. A message published alone
   * (a low rate) then leaves at once instead of one turn later; a burst still leaves in batches,
   * and once a batch had 16 or more leases (load), all of a turn's wait for `schedule` again.
   */
  readonly soon?: (run: () => void) => void;
  /** Aborted when the connection is gone. */
  readonly signal: AbortSignal;
  /** Sends an ERROR frame. */
  readonly error: (error: SluiceError, id: number) => void;
  /** True once the consumer reads messages with several frames: a batch of deliveries is then one message. */
  readonly batched?: () => boolean;
}

/**
 * The consumer half of a WebSocket connection (`WsSession`): credit, deliveries and the leases
 * it holds.
 *
 * CREDIT n adds up; each DELIVER (id = lease token, arg = attempt) uses one, so a consumer holds
 * at most its credit. Deliveries leave in batches of at most 32 (then it steps back so other
 * consumers get their turn), and stop while more than 1 MiB waits in its send buffer. To a
 * consumer that reads batches (`batched`), a batch of up to 128 is one message (split at 64 KiB).
 * A DELIVER the runtime drops goes straight back uncounted and deliveries pause until the consumer speaks;
 * a consumer that holds leases and sends nothing for a whole `leaseMs` is stuck: its leases go
 * back (a stall each) and it gets nothing more until it speaks. A suspect lease travels alone.
 * On a stored queue a DELIVER leaves only once its lease is committed.
 *
 * @example
 * ```ts
 * const outlet = new ConsumerOutlet({ queue, peer, frames, schedule: queueMicrotask, signal, error });
 * outlet.grant(10);
 * outlet.ack(token);
 * await outlet.releaseAll(sluiceError("unavailable", "consumer disconnected"));
 * ```
 */
export class ConsumerOutlet {
  readonly #options: ConsumerOutletOptions;
  readonly #queue: RelayQueue<Uint8Array>;
  readonly #ledger: LeaseLedger<Uint8Array>;
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
  /** A `leaseWith` is outstanding (at most one at a time). */
  #parked = false;
  /** …parked while holding leases (`free` false), and its handle: it moves to the free line once they are settled. */
  #parkedBusy: WaiterHandle | undefined;
  /** The lease handed over, waiting for the scheduled delivery. */
  #leased: Lease<Uint8Array> | undefined;
  /** With `soon`: this turn already delivered once; the end of the turn (scheduled) delivers the rest. */
  #turnStarted = false;
  /** Leases in the last batch delivered. */
  #lastBatch = 0;

  constructor(options: ConsumerOutletOptions) {
    this.#options = options;
    this.#queue = options.queue;
    this.#ledger = new LeaseLedger(options.queue);
    this.#lastReadAt = options.queue.options.clock.now();
  }

  /** Unused credit. */
  get credit(): number {
    return this.#credit;
  }

  /** Leases held. */
  get held(): number {
    return this.#ledger.size;
  }

  /** The leases held now (a snapshot), e.g. for a runtime that keeps them across a rebuild. */
  heldLeases(): Lease<Uint8Array>[] {
    return this.#ledger.leases();
  }

  /**
   * Takes over what this connection had before its server object was rebuilt (a Durable Object
   * after hibernation): the leases it held — live in the queue under their tokens — and its unused credit.
   */
  adopt(leases: readonly Lease<Uint8Array>[], credit: number): void {
    for (const lease of leases) this.#ledger.hold(lease);
    this.grant(credit);
  }

  /** The consumer sent a frame (any): it is reading; a paused outlet resumes. */
  read(): void {
    this.#lastReadAt = this.#queue.options.clock.now();
    if (this.#stalled) {
      this.#stalled = false;
      this.#pump();
    }
  }

  /** The socket is gone: fail every held lease back (see `LeaseLedger.releaseAll`). */
  releaseAll(reason: SluiceError): Promise<number> {
    return this.#ledger.releaseAll(reason);
  }

  /** CREDIT n: n more deliveries. */
  grant(credit: number): void {
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
    if (this.#options.signal.aborted) return;
    this.#parked = true;
    // Holding nothing, it may take a suspect (delivered alone); holding leases, only ordinary items.
    const free = this.#ledger.size === 0;
    // The credit is what this consumer can take now: a pulling backend fetches that many at once.
    const handle = this.#queue.leaseWith(this.#onLease, this.#options.signal, free, this.#credit);
    if (this.#parked && !free) this.#parkedBusy = handle;
  }

  // May run inside another connection's enqueue: only take the lease and schedule its delivery.
  // An error (socket closed: canceled; queue closed or drained) ends pumping until more credit.
  readonly #onLease = (leased: Result<Lease<Uint8Array>>): void => {
    this.#parked = false;
    this.#parkedBusy = undefined;
    if (!leased.ok) return;
    this.#leased = leased.value;
    const soon = this.#options.soon;
    // Under load (the last batch was a burst) every turn's deliveries wait for its end: one
    // batch per turn, as few messages as possible; at a low rate the first leaves at once.
    if (soon === undefined || this.#lastBatch >= SOON_BELOW) return this.#options.schedule(this.#flush);
    if (this.#turnStarted) return; // `#endTurn` is scheduled and delivers it
    this.#turnStarted = true;
    soon(this.#flush);
    this.#options.schedule(this.#endTurn);
  };

  readonly #endTurn = (): void => {
    this.#turnStarted = false;
    this.#flush();
  };

  readonly #flush = (): void => {
    const lease = this.#leased;
    if (lease === undefined) return;
    this.#leased = undefined;
    if (this.#options.signal.aborted || this.#stuck()) {
      // Handed over just as the socket closed, or to a consumer that stopped reading: straight
      // back, not the message's fault; a stuck consumer gets nothing more until it reads again.
      this.#queue.fail(lease, sluiceError("canceled", "consumer not reading"), { requeue: true, countAttempt: false, delayMs: 0 });
      if (!this.#options.signal.aborted) this.#takeBack();
      return;
    }
    const batch = this.#leaseBatch(lease);
    this.#lastBatch = batch.length;
    // A stored queue writes each lease ahead of its DELIVER: a crash after the consumer saw it
    // must find it leased, so that the redelivery is attempt + 1 and the crash counts a stall.
    if (!this.#queue.commitPending) this.#send(batch);
    else this.#sendAfterCommit(batch);
    this.#pump();
  };

  // Closures live in methods of their own: one in a hot method costs each call a scope object.
  #sendAfterCommit(batch: Lease<Uint8Array>[]): void {
    this.#queue.afterCommit(() => this.#send(batch));
  }

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
    const bound = this.#options.batched?.() ? FAIR_BATCH_BATCHED : FAIR_BATCH;
    while (this.#credit > 0 && batch.length < bound) {
      const lease = this.#queue.tryLease(undefined, false);
      if (lease === undefined) break;
      this.#credit--;
      this.#ledger.hold(lease);
      batch.push(lease);
    }
    return batch;
  }

  #send(batch: Lease<Uint8Array>[]): void {
    const { peer, frames, signal } = this.#options;
    const batched = this.#options.batched?.() ?? false;
    // Batched, the deliveries already are one message (more only past 64 KiB): a cork around
    // it would be one more native call per flush for nothing.
    const sent = peer.batch === undefined || batched ? sendDeliveries(peer, frames, batch, batched, signal) : this.#sendCorked(batch);
    if (sent < batch.length) {
      // The consumer never got these (socket gone, or the runtime dropped the frame because
      // the consumer stopped reading): straight back, uncounted; wait until it reads again.
      for (let j = sent; j < batch.length; j++) this.#giveBack(batch[j]!);
      this.#stalled = !signal.aborted;
    }
    if ((peer.bufferedAmount?.() ?? 0) > SEND_BUFFER_HIGH) this.#waitForDrain();
  }

  // One DELIVER message per lease, corked into one write (`peer.batch`).
  #sendCorked(batch: Lease<Uint8Array>[]): number {
    const { peer, frames, signal } = this.#options;
    let sent = 0;
    peer.batch!(() => void (sent = sendDeliveries(peer, frames, batch, false, signal)));
    return sent;
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
      if (this.#options.signal.aborted) return;
      if ((this.#options.peer.bufferedAmount?.() ?? 0) > SEND_BUFFER_HIGH / 2) return void clock.setTimeout(poll, DRAIN_POLL_MS);
      this.#backpressured = false;
      this.#pump();
    };
    clock.setTimeout(poll, DRAIN_POLL_MS);
  }

  /** ACK of the lease with this token. */
  ack(token: number): void {
    const lease = this.#held(token);
    if (lease === undefined) return;
    const now = this.#queue.options.clock.now();
    const acked = this.#queue.ack(lease, now);
    // Lease to ack, as the pump's histogram measures its handlers: WebSocket consumers too.
    if (acked.ok) this.#queue.metrics.pumpDuration.observe((now - lease.leasedAt) / 1000);
    this.#ended(token, acked);
  }

  /** NACK (payload: an optional NackReason). */
  nack(token: number, payload: Uint8Array): void {
    const reason = payload.byteLength === 0 ? ok(DEFAULT_NACK) : decodeNackPayload(payload);
    if (!reason.ok) return this.#options.error(reason.error, token);
    const { code, message, requeue } = reason.value;
    const lease = this.#held(token);
    if (lease !== undefined) this.#ended(token, this.#queue.fail(lease, sluiceError(code, message), { requeue }));
  }

  // The lease this connection holds under `token`; undefined after answering lease.inactive.
  #held(token: number): Lease<Uint8Array> | undefined {
    const lease = this.#ledger.get(token);
    if (lease === undefined) this.#options.error(inactive(token), token);
    return lease;
  }

  // The consumer ended the lease (ack / nack): drop it from the ledger, report a refusal.
  #ended(token: number, result: Result<void>): void {
    this.#settled(token);
    if (!result.ok) this.#options.error(result.error, token);
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
    this.#queue.nowFree(handle, this.#onLease, this.#options.signal);
  }

  /** TOUCH: heartbeat. */
  touch(token: number): void {
    const lease = this.#ledger.get(token);
    const touched = lease === undefined ? undefined : this.#queue.heartbeat(lease);
    if (touched?.ok) return;
    this.#settled(token);
    this.#options.error(touched?.ok === false ? touched.error : inactive(token), token);
  }
}

function inactive(token: number): SluiceError {
  return sluiceError("lease.inactive", `lease ${token} is not held by this connection (acked, expired or never delivered here)`, {
    metadata: { token },
  });
}

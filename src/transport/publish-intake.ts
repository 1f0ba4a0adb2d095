import { type SluiceError, sluiceError } from "../result/errors.ts";
import type { Result } from "../result/result.ts";
import { Fifo } from "../queue/fifo.ts";
import type { RelayQueue } from "../queue/relay-queue.ts";
import { errorFrame, goawayFrame } from "../protocol/frame-builders.ts";
import type { FrameWriter } from "../protocol/frame-writer.ts";
import { type FramePeer, safeSend } from "./frame-peer.ts";
import type { MemoryBudget } from "../queue/memory-budget.ts";
import { publishOutcome } from "./publish-answer.ts";
import type { Enqueued } from "../queue/relay-queue.ts";

/**
 * PUBLISH frames refused with `queue.full` after the GOAWAY that a producer may still send before
 * its connection is closed (WebSocket 1013) or its stream ended (HTTP duplex).
 *
 * @example
 * ```ts
 * new PublishIntake({ ...options, maxRejected: DEFAULT_MAX_REJECTED_PUBLISHES });
 * ```
 */
export const DEFAULT_MAX_REJECTED_PUBLISHES = 64;

/**
 * WebSocket close code "Try Again Later" (RFC 6455 registry): a producer that kept publishing
 * into a full queue after GOAWAY.
 *
 * @example
 * ```ts
 * socket.onclose = (e) => { if (e.code === TRY_AGAIN_LATER) backOff(); };
 * ```
 */
export const TRY_AGAIN_LATER = 1013;

/** Default `maxBacklogBytes`: what one connection may hold while its queue is full. */
const DEFAULT_MAX_BACKLOG_BYTES = 8 * 1024 * 1024;

/**
 * What a producer that ignores `queue.full` gets, one refused PUBLISH at a time: the first
 * refusal of a run also earns a GOAWAY (id 0: "publish elsewhere or later"); more than `limit`
 * refusals after it end the connection. A run ends after `limit` accepted publishes in a row, so
 * a producer that backs off as told is never cut off, and one that floods a full queue is served
 * at most `limit + 1` errors per `limit` messages the queue took.
 *
 * @example
 * ```ts
 * const strikes = new FullQueueStrikes(64);
 * if (strikes.rejected() === "close") socket.close(TRY_AGAIN_LATER, "queue full");
 * strikes.accepted();
 * ```
 */
export class FullQueueStrikes {
  readonly limit: number;
  #strikes = 0;
  #accepted = 0;

  constructor(limit: number = DEFAULT_MAX_REJECTED_PUBLISHES) {
    if (!Number.isSafeInteger(limit) || limit < 0) throw new RangeError(`FullQueueStrikes: limit must be a non-negative integer (got ${limit})`);
    this.limit = limit;
  }

  /** A PUBLISH refused with `queue.full`: "goaway" (first of a run), "close" (past the limit) or "error". */
  rejected(): "goaway" | "close" | "error" {
    this.#accepted = 0;
    this.#strikes++;
    if (this.#strikes === 1) return "goaway";
    return this.#strikes > this.limit + 1 ? "close" : "error";
  }

  /** A PUBLISH taken by the queue. */
  accepted(): void {
    if (this.#strikes === 0) return;
    if (++this.#accepted >= Math.max(1, this.limit)) this.#strikes = 0;
  }
}

/** A PUBLISH held while the queue is full. */
interface HeldPublish {
  readonly id: number;
  readonly payload: Uint8Array;
}

/**
 * Options of `PublishIntake`.
 *
 * @example
 * ```ts
 * const options: PublishIntakeOptions = { queue, peer, frames, accepting: () => true, maxBacklog: 1024, signal };
 * ```
 */
export interface PublishIntakeOptions {
  readonly queue: RelayQueue<Uint8Array>;
  readonly peer: FramePeer;
  readonly frames: FrameWriter;
  /** False once the server shuts down: a PUBLISH is then answered with GOAWAY (id = its id). */
  readonly accepting: () => boolean;
  /** PUBLISH frames held while the queue is full. */
  readonly maxBacklog: number;
  /** Aborted when the connection is gone: held publishes are dropped unanswered. */
  readonly signal: AbortSignal;
  /** `queue.full` refusals tolerated after the GOAWAY before closing with 1013. Default 64. */
  readonly maxRejected?: number;
  /** The server's memory budget: held publishes count against it (bytes), besides `maxBacklog` (frames). */
  readonly memoryBudget?: MemoryBudget;
  /**
   * Payload bytes one connection may hold while the queue is full (one publish is always let in).
   * Default 8 MiB: a flooding producer cannot take the server's whole budget for itself.
   */
  readonly maxBacklogBytes?: number;
  /**
   * The connection's leadership fence (`ConnectionFence`): once active, each PUBLISH is admitted
   * only while its term is current (else ERROR `lease.inactive`), and only at once — never held
   * while the queue is full (`queue.full` instead), since a held publish could go in after a
   * newer leader's.
   */
  readonly fence?: { readonly active: boolean; check(): SluiceError | undefined };
}

/**
 * The producer half of a WebSocket connection (`WsSession`): each PUBLISH is enqueued and
 * answered with a RECEIPT (same id) as soon as the message is in the queue — for a stored
 * queue, once it is committed (an `unavailable` ERROR if the commit failed) — in order. While the
 * queue is full (fullMode "wait") publishes wait in a backlog of at most `maxBacklog` frames;
 * beyond it a PUBLISH gets ERROR `queue.full` instead of being buffered. A closing queue or a
 * server that stopped accepting answers GOAWAY (id = the PUBLISH's id): not enqueued.
 *
 * A producer that keeps publishing into a full queue is not served errors without end (the
 * runtimes cannot stop reading one WebSocket): its first refused PUBLISH (backlog full, or
 * `fullMode: "reject"`) also gets GOAWAY (id 0), and after `maxRejected` more refusals the socket
 * is closed with 1013 "try again later" (`FullQueueStrikes`). Its held publishes are then
 * dropped unanswered — never enqueued, so resending them duplicates nothing — and PUBLISH frames
 * still in flight are ignored.
 *
 * @example
 * ```ts
 * const intake = new PublishIntake({ queue, peer, frames: FrameWriter.fresh(), accepting: () => true, maxBacklog: 1024, signal });
 * intake.publish(frameId, payloadCopy);
 * ```
 */
export class PublishIntake {
  readonly #options: PublishIntakeOptions;
  readonly #backlog = new Fifo<HeldPublish>();
  readonly #strikes: FullQueueStrikes;
  /** Aborted with the connection, or when this intake closes it for flooding a full queue. */
  readonly #stop = new AbortController();
  readonly #receipt: { sequenceId: number; queue: string; duplicate: boolean } = { sequenceId: 0, queue: "", duplicate: false };
  #backlogRunning = false;
  #backlogBytes = 0;
  #closing = false;

  constructor(options: PublishIntakeOptions) {
    this.#options = options;
    this.#strikes = new FullQueueStrikes(options.maxRejected);
    const stop = () => this.#stop.abort(options.signal.reason);
    if (options.signal.aborted) stop();
    else options.signal.addEventListener("abort", stop, { once: true });
    // Whatever is still held when the connection ends is dropped: its bytes go back to the budget.
    this.#stop.signal.addEventListener("abort", () => this.#dropBacklog(), { once: true });
  }

  /** True once this intake closed the socket (1013) for publishing into a full queue after GOAWAY. */
  get closedForFlooding(): boolean {
    return this.#closing;
  }

  /**
   * Takes one PUBLISH. `owned`: `payload` is the caller's own copy (queued as is); false when it
   * is a view into a buffer the runtime reuses — copied only if the message is kept.
   */
  publish(id: number, payload: Uint8Array, owned = true): void {
    if (this.#closing) return;
    const { queue, peer, maxBacklog } = this.#options;
    if (!this.#options.accepting()) return void safeSend(peer, goawayFrame(id));
    if (this.#options.fence?.active) return this.#publishFenced(id, payload, owned, this.#options.fence);
    if (this.#backlog.length > 0) {
      // Refused without copying it: a producer flooding a full queue costs no garbage here.
      if (this.#backlog.length >= maxBacklog || !this.#canHold(payload.byteLength)) {
        return this.#refuse(id, sluiceError("queue.full", `queue '${queue.name}' is full and ${this.#backlog.length} publishes already wait`));
      }
      return this.#hold(id, owned ? payload : payload.slice());
    }
    const kept = owned ? payload : payload.slice();
    const added = queue.tryEnqueue(kept);
    if (!queue.waitsForRoom(added)) return this.#answer(id, added);
    if (!this.#canHold(kept.byteLength)) return this.#refuse(id, sluiceError("queue.full", `queue '${queue.name}' is full and the server's memory budget is spent`));
    this.#hold(id, kept);
    if (!this.#backlogRunning) void this.#drainBacklog();
  }

  // Checked against the fence at admission, and admitted at once or refused: never held.
  #publishFenced(id: number, payload: Uint8Array, owned: boolean, fence: { check(): SluiceError | undefined }): void {
    const { queue } = this.#options;
    const superseded = fence.check();
    if (superseded !== undefined) return void safeSend(this.#options.peer, errorFrame(superseded, id));
    if (this.#backlog.length > 0) return this.#refuse(id, sluiceError("queue.full", `queue '${queue.name}' is full and ${this.#backlog.length} publishes already wait`));
    const added = queue.tryEnqueue(owned ? payload : payload.slice());
    if (queue.waitsForRoom(added)) return this.#refuse(id, added.ok ? sluiceError("queue.full", `queue '${queue.name}' is full`) : added.error);
    this.#answer(id, added);
  }

  // Waits for room for each held publish in order; a closing queue ends it (GOAWAY per frame).
  async #drainBacklog(): Promise<void> {
    this.#backlogRunning = true;
    const { queue } = this.#options;
    const signal = this.#stop.signal;
    for (let frame = this.#backlog.peek(); frame !== undefined && !signal.aborted; frame = this.#backlog.peek()) {
      const added = await queue.enqueue(frame.payload, { signal });
      if (signal.aborted) break;
      this.#backlog.shift();
      this.#release(frame);
      this.#answer(frame.id, added);
    }
    this.#backlogRunning = false;
  }

  // Every answer goes through the commit wait, so answers keep the publishes' order.
  #answer(id: number, added: Result<Enqueued>): void {
    const queue = this.#options.queue;
    // A memory queue answers at once (`whenStored` would call straight back): no closure per publish.
    if (!queue.stored) return this.#send(id, added);
    this.#answerWhenStored(id, added);
  }

  // A method of its own: the closure's scope would otherwise be made on every `#answer`.
  #answerWhenStored(id: number, added: Result<Enqueued>): void {
    this.#options.queue.whenStored(added, (result) => this.#send(id, result));
  }

  #send(id: number, added: Result<Enqueued>): void {
    const { peer, queue, frames } = this.#options;
    if (added.ok) {
      this.#strikes.accepted();
      // One scratch per intake: the peer and the frame writer read it before they return.
      const receipt = this.#receipt;
      receipt.sequenceId = added.value.sequenceId;
      receipt.queue = queue.name;
      receipt.duplicate = added.value.duplicate;
      return void (peer.receipt !== undefined ? peer.receipt(id, receipt) : safeSend(peer, frames.receipt(id, receipt)));
    }
    const outcome = publishOutcome(added);
    if (outcome === "goaway") safeSend(peer, goawayFrame(id));
    else if (outcome === "full") this.#refuse(id, added.error);
    else safeSend(peer, errorFrame(added.error, id));
  }

  // ERROR queue.full for `id`, plus GOAWAY on the first refusal of a run; past the limit, close.
  #refuse(id: number, error: SluiceError): void {
    if (this.#closing) return;
    const { peer } = this.#options;
    const verdict = this.#strikes.rejected();
    if (verdict === "close") return this.#closeForFlooding();
    safeSend(peer, errorFrame(error, id));
    if (verdict === "goaway") safeSend(peer, goawayFrame(0));
  }

  // Holds a publish while the queue is full, if the memory budget has room for its bytes.
  // Whether a publish of `size` bytes may wait here: this connection's bytes and the server's budget.
  #canHold(size: number): boolean {
    if (this.#backlogBytes > 0 && this.#backlogBytes + size > (this.#options.maxBacklogBytes ?? DEFAULT_MAX_BACKLOG_BYTES)) return false;
    return this.#options.memoryBudget?.fits(size) ?? true;
  }

  #hold(id: number, payload: Uint8Array): void {
    this.#options.memoryBudget?.take(payload.byteLength);
    this.#backlog.push({ id, payload });
    this.#backlogBytes += payload.byteLength;
  }

  #release(held: HeldPublish): void {
    this.#backlogBytes -= held.payload.byteLength;
    this.#options.memoryBudget?.give(held.payload.byteLength);
  }

  #dropBacklog(): void {
    for (let held = this.#backlog.shift(); held !== undefined; held = this.#backlog.shift()) this.#release(held);
  }

  #closeForFlooding(): void {
    this.#closing = true;
    // Held publishes were never enqueued: dropped unanswered, the producer may resend them.
    this.#stop.abort(sluiceError("queue.full", "closed: kept publishing into a full queue after GOAWAY"));
    // After the receipts already owed (they wait for their commit): a stored message's producer
    // must hear that it was stored before the socket goes.
    this.#options.queue.afterCommit(() => {
      try {
        this.#options.peer.close(TRY_AGAIN_LATER, "queue full: publishes kept coming after GOAWAY; try again later");
      } catch {
        // Already closed.
      }
    });
  }
}

import { type BatchLimits, FrameBatch } from "../protocol/frame-batch.ts";
import type { FrameWriter } from "../protocol/frame-writer.ts";
import type { ReceiptPayload } from "../protocol/messages.ts";
import type { FramePeer } from "./frame-peer.ts";

/** Receipts one RECEIPT range may stand for (its `arg`). */
const MAX_RUN = 0xffff;

/**
 * The answers of one WebSocket connection — RECEIPT, ERROR, PONG, GOAWAY — batched once the
 * client said it reads batches (`FrameFlag.ReadsBatches`, see `enable`): the frames produced
 * while one incoming message is handled leave as one message when it is done (`hold` /
 * `release`), and frames produced elsewhere (a store commit answering receipts, a timer) leave at
 * the end of that microtask. Bounded: a batch never waits past the current turn, and is sent as
 * soon as the next frame would pass 64 KiB or 256 frames. Until `enable`, every frame goes
 * straight to the peer, one per message, as before.
 *
 * Receipts of consecutive PUBLISH ids stored under consecutive sequence ids (a producer's batch,
 * once batching is on) become one RECEIPT range: id = the first PUBLISH id, `arg` = how many,
 * sequence id = the first one's. A duplicate, a gap, or any other frame ends the run.
 *
 * It is itself a `FramePeer`: `send` reports a frame as handed over once it is batched (a batch
 * the runtime drops is lost like a dropped single frame), `close` sends what is batched first.
 *
 * @example
 * ```ts
 * const out = new ReplyBatcher(peer, FrameWriter.fresh());
 * out.enable();                 // the client set FrameFlag.ReadsBatches
 * out.hold();
 * for (const [i, id] of ids.entries()) out.receipt(id, { sequenceId: 100 + i, queue: "jobs", duplicate: false });
 * out.release();                // one message: one RECEIPT (id = ids[0], arg = ids.length)
 * ```
 */
export class ReplyBatcher implements FramePeer {
  readonly #peer: FramePeer;
  readonly #frames: FrameWriter;
  readonly #batch: FrameBatch;
  readonly copiesOnSend: boolean | undefined;
  #on = false;
  #holding = 0;
  #scheduled = false;
  // The receipt run not yet written: `#runCount` receipts from PUBLISH `#runId`, sequence `#runSeq`.
  #runId = 0;
  #runSeq = 0;
  #runCount = 0;
  #runQueue = "";

  constructor(peer: FramePeer, frames: FrameWriter, limits: BatchLimits = {}) {
    this.#peer = peer;
    this.#frames = frames;
    this.#batch = new FrameBatch(limits);
    this.copiesOnSend = peer.copiesOnSend;
  }

  /** True once answers are batched. */
  get batching(): boolean {
    return this.#on;
  }

  /** The client reads messages with several frames: batch from now on. */
  enable(): void {
    this.#on = true;
  }

  /** Sends the RECEIPT of PUBLISH `id`; batching, a run of consecutive ones becomes one RECEIPT range. */
  receipt(id: number, receipt: ReceiptPayload): boolean {
    if (!this.#on) return this.#peer.send(this.#frames.receipt(id, receipt)) !== false;
    const n = this.#runCount;
    if (n > 0 && n < MAX_RUN && !receipt.duplicate && id === this.#runId + n && receipt.sequenceId === this.#runSeq + n && receipt.queue === this.#runQueue) {
      this.#runCount = n + 1;
      return true;
    }
    if (receipt.duplicate) return this.send(this.#frames.receipt(id, receipt));
    this.#endRun();
    this.#runId = id;
    this.#runSeq = receipt.sequenceId;
    this.#runQueue = receipt.queue;
    this.#runCount = 1;
    this.#scheduleFlush();
    return true;
  }

  /** Sends (or batches) one frame; the frame may be reused by the caller once this returns. */
  send(frame: Uint8Array): boolean {
    if (!this.#on) return this.#peer.send(frame) !== false;
    this.#endRun();
    const batch = this.#batch;
    if (!batch.fits(frame.byteLength)) this.flush();
    batch.append(frame);
    if (batch.full) this.flush();
    else this.#scheduleFlush();
    return true;
  }

  #scheduleFlush(): void {
    if (this.#holding > 0 || this.#scheduled) return;
    this.#scheduled = true;
    queueMicrotask(this.#flushLater);
  }

  // Writes the pending receipt run as one RECEIPT into the batch.
  #endRun(): void {
    const count = this.#runCount;
    if (count === 0) return;
    this.#runCount = 0;
    const frame = this.#frames.receipt(this.#runId, { sequenceId: this.#runSeq, queue: this.#runQueue, duplicate: false }, count);
    if (!this.#batch.fits(frame.byteLength)) this.#send(this.#batch);
    this.#batch.append(frame);
  }

  /** An incoming message is being handled: its answers wait for `release`. */
  hold(): void {
    this.#holding++;
  }

  /** The message is handled: what it produced leaves now, as one message. */
  release(): void {
    if (--this.#holding === 0) this.flush();
  }

  /** Sends what is batched now; false when the runtime refused it. */
  flush(): boolean {
    this.#endRun();
    return this.#send(this.#batch);
  }

  #send(batch: FrameBatch): boolean {
    if (batch.frames === 0) return true;
    const bytes = this.#peer.copiesOnSend === true ? batch.takeView() : batch.take();
    try {
      return this.#peer.send(bytes) !== false;
    } catch {
      return false;
    }
  }

  /** Sends what is batched, then closes. */
  close(code: number, reason: string): void {
    this.flush();
    this.#peer.close(code, reason);
  }

  /** Runs `sends` as one write: the peer's own `batch` (e.g. cork) until batching is on; batched frames need none. */
  batch(sends: () => void): void {
    if (!this.#on && this.#peer.batch !== undefined) return this.#peer.batch(sends);
    sends();
  }

  /** The peer's send buffer plus what waits here. */
  bufferedAmount(): number {
    return (this.#peer.bufferedAmount?.() ?? 0) + this.#batch.byteLength + (this.#runCount > 0 ? 64 : 0);
  }

  readonly #flushLater = (): void => {
    this.#scheduled = false;
    if (this.#holding === 0) this.flush();
  };
}

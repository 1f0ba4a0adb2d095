import { type BatchLimits, FrameBatch } from "../protocol/frame-batch.ts";
import type { FramePeer } from "./frame-peer.ts";

/**
 * The answers of one WebSocket connection — RECEIPT, ERROR, PONG, GOAWAY — batched once the
 * client said it reads batches (`FrameFlag.ReadsBatches`, see `enable`): the frames produced
 * while one incoming message is handled leave as one message when it is done (`hold` /
 * `release`), and frames produced elsewhere (a store commit answering receipts, a timer) leave at
 * the end of that microtask. Bounded: a batch never waits past the current turn, and is sent as
 * soon as the next frame would pass 64 KiB or 256 frames. Until `enable`, every frame goes
 * straight to the peer, one per message, as before.
 *
 * It is itself a `FramePeer`: `send` reports a frame as handed over once it is batched (a batch
 * the runtime drops is lost like a dropped single frame), `close` sends what is batched first.
 *
 * @example
 * ```ts
 * const out = new ReplyBatcher(peer);
 * out.enable();                 // the client set FrameFlag.ReadsBatches
 * out.hold();
 * for (const id of ids) out.send(frames.receipt(id, receipt));
 * out.release();                // one message with every receipt
 * ```
 */
export class ReplyBatcher implements FramePeer {
  readonly #peer: FramePeer;
  readonly #batch: FrameBatch;
  readonly copiesOnSend: boolean | undefined;
  #on = false;
  #holding = 0;
  #scheduled = false;

  constructor(peer: FramePeer, limits: BatchLimits = {}) {
    this.#peer = peer;
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

  /** Sends (or batches) one frame; the frame may be reused by the caller once this returns. */
  send(frame: Uint8Array): boolean {
    if (!this.#on) return this.#peer.send(frame) !== false;
    const batch = this.#batch;
    if (!batch.fits(frame.byteLength)) this.flush();
    batch.append(frame);
    if (batch.full) this.flush();
    else if (this.#holding === 0 && !this.#scheduled) {
      this.#scheduled = true;
      queueMicrotask(this.#flushLater);
    }
    return true;
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
    const batch = this.#batch;
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
    return (this.#peer.bufferedAmount?.() ?? 0) + this.#batch.byteLength;
  }

  readonly #flushLater = (): void => {
    this.#scheduled = false;
    if (this.#holding === 0) this.flush();
  };
}

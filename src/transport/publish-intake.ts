import { sluiceError } from "../result/errors.ts";
import type { Result } from "../result/result.ts";
import { Fifo } from "../queue/fifo.ts";
import type { SafeTaskQueue } from "../queue/safe-task-queue.ts";
import { errorFrame, goawayFrame } from "../protocol/frame-builders.ts";
import type { FrameWriter } from "../protocol/frame-writer.ts";
import { type FramePeer, safeSend } from "./frame-peer.ts";

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
  readonly queue: SafeTaskQueue<Uint8Array>;
  readonly peer: FramePeer;
  readonly frames: FrameWriter;
  /** False once the server shuts down: a PUBLISH is then answered with GOAWAY (id = its id). */
  readonly accepting: () => boolean;
  /** PUBLISH frames held while the queue is full. */
  readonly maxBacklog: number;
  /** Aborted when the connection is gone: held publishes are dropped unanswered. */
  readonly signal: AbortSignal;
}

/**
 * The producer half of a WebSocket connection (`WsSession`): each PUBLISH is enqueued and
 * answered with a RECEIPT (same id) as soon as the message is in the queue — for a stored
 * queue, once it is committed (an `unavailable` ERROR if the commit failed) — in order. While the
 * queue is full (fullMode "wait") publishes wait in a backlog of at most `maxBacklog` frames;
 * beyond it a PUBLISH gets ERROR `queue.full` instead of being buffered. A closing queue or a
 * server that stopped accepting answers GOAWAY (id = the PUBLISH's id): not enqueued.
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
  #backlogRunning = false;

  constructor(options: PublishIntakeOptions) {
    this.#options = options;
  }

  /** Takes one PUBLISH; `payload` must be the caller's own copy (it is queued as is). */
  publish(id: number, payload: Uint8Array): void {
    const { queue, peer, maxBacklog } = this.#options;
    if (!this.#options.accepting()) return void safeSend(peer, goawayFrame(id));
    if (this.#backlog.length > 0) {
      if (this.#backlog.length >= maxBacklog) {
        return void safeSend(peer, errorFrame(sluiceError("queue.full", `queue '${queue.name}' is full and ${maxBacklog} publishes already wait`), id));
      }
      this.#backlog.push({ id, payload });
      return;
    }
    const added = queue.tryEnqueue(payload);
    if (!queue.waitsForRoom(added)) return this.#answer(id, added);
    this.#backlog.push({ id, payload });
    if (!this.#backlogRunning) void this.#drainBacklog();
  }

  // Waits for room for each held publish in order; a closing queue ends it (GOAWAY per frame).
  async #drainBacklog(): Promise<void> {
    this.#backlogRunning = true;
    const { queue, signal } = this.#options;
    for (let frame = this.#backlog.peek(); frame !== undefined && !signal.aborted; frame = this.#backlog.peek()) {
      const added = await queue.enqueue(frame.payload, { signal });
      if (signal.aborted) break;
      this.#backlog.shift();
      this.#answer(frame.id, added);
    }
    this.#backlogRunning = false;
  }

  #answer(id: number, added: Result<{ sequenceId: number; duplicate: boolean }>): void {
    // A stored queue answers once the commit window holding this message has committed: a
    // receipt is a promise. Every answer takes that path so answers keep the publishes' order.
    if (this.#options.queue.journal === undefined) return this.#send(id, added);
    this.#options.queue.afterCommit((committed) => this.#send(id, committed.ok ? added : committed));
  }

  #send(id: number, added: Result<{ sequenceId: number; duplicate: boolean }>): void {
    const { peer, queue, frames } = this.#options;
    if (added.ok) {
      safeSend(peer, frames.receipt(id, { sequenceId: added.value.sequenceId, queue: queue.name, duplicate: added.value.duplicate }));
    } else if (added.error.code === "queue.closed") {
      safeSend(peer, goawayFrame(id));
    } else {
      safeSend(peer, errorFrame(added.error, id));
    }
  }
}

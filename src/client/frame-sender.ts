/**
 * How the SDK's WebSocket clients send frames: every frame of one event-loop turn goes out as one
 * WebSocket message (a batch, DESIGN.md "Wire frames"), bounded — the batch is sent at the end of
 * the turn (`setImmediate`, else `setTimeout(0)`), or at once when the next frame would pass the
 * size cap (64 KiB) or the frame cap (256). Every frame it writes carries
 * `FrameFlag.ReadsBatches`, which tells the server that this client reads batched answers.
 * With `batch: false` each frame is its own message, sent at once (the flag is still set: the
 * SDK always reads batches).
 *
 * @example
 * ```ts
 * const sender = new FrameSender(socket, { batch: true, onFailed: (e) => console.error(e.code) });
 * sender.write(FrameType.ACK, 0, token, 0);
 * sender.write(FrameType.CREDIT, 0, 0, 16);
 * // both leave in one message at the end of this turn; sender.flush() sends them now
 * ```
 *
 * @module
 */
import { type SluiceError, sluiceError } from "../result/errors.ts";
import { type BatchLimits, DEFAULT_BATCH_MAX_BYTES, FrameBatch } from "../protocol/frame-batch.ts";
import { FRAME_HEADER_BYTES, FrameFlag } from "../protocol/frame-layout.ts";
import { encodeFrame } from "../protocol/frames.ts";
import type { ClientSocket } from "./socket.ts";

/**
 * The `batch` option of the SDK's clients: `true` (the default: caps 64 KiB / 256 frames), the
 * caps to use, or `false` for one frame per message.
 *
 * @example
 * ```ts
 * new Producer({ url, queue: "jobs", batch: { maxBytes: 16 * 1024, maxFrames: 64 } });
 * ```
 */
export type BatchOption = boolean | BatchLimits;

/**
 * Options of `FrameSender`.
 *
 * @example
 * ```ts
 * const options: FrameSenderOptions = { batch: false, onFailed: (e) => log(e) };
 * ```
 */
export interface FrameSenderOptions {
  readonly batch?: BatchOption;
  /** The socket refused a send (it is gone): what was in that message is lost. */
  readonly onFailed: (error: SluiceError) => void;
  /** Runs just before a batch leaves; frames it writes join that batch (e.g. one CREDIT for all the acks in it). */
  readonly beforeFlush?: () => void;
}

type Immediate = (run: () => void) => unknown;
let immediate: Immediate | undefined;
// The end of this turn: after the I/O callbacks and microtasks now running, without a timer clamp
// (`setImmediate`; `setTimeout(0)` where there is none). Looked up when the first sender is made,
// not at import: Deno loads its Node compatibility layer on the first read of `setImmediate` (~20 ms).
function nextTurn(): Immediate {
  if (immediate !== undefined) return immediate;
  const native = (globalThis as { setImmediate?: Immediate }).setImmediate;
  // Bound: workerd refuses a setImmediate called with another `this` ("Illegal invocation").
  immediate = typeof native === "function" ? native.bind(globalThis) : (run) => setTimeout(run, 0);
  return immediate;
}

/**
 * Frames to one socket, batched per turn (see the module doc).
 *
 * @example
 * ```ts
 * const sender = new FrameSender(socket, { onFailed });
 * sender.write(FrameType.PUBLISH, 0, 1, 0, payload);
 * sender.append(pingFrame(1));
 * ```
 */
export class FrameSender {
  readonly #socket: ClientSocket;
  readonly #batch: FrameBatch | undefined;
  readonly #onFailed: (error: SluiceError) => void;
  readonly #beforeFlush: (() => void) | undefined;
  readonly #nextTurn = nextTurn();
  #scheduled = false;
  #flushing = false;
  #stopped = false;

  constructor(socket: ClientSocket, options: FrameSenderOptions) {
    this.#socket = socket;
    const batch = options.batch ?? true;
    // One socket per sender: it keeps its buffer (up to the size cap) from batch to batch.
    const limits = batch === true || batch === false ? {} : batch;
    this.#batch = batch === false ? undefined : new FrameBatch({ keepBytes: limits.maxBytes ?? DEFAULT_BATCH_MAX_BYTES, ...limits });
    this.#onFailed = options.onFailed;
    this.#beforeFlush = options.beforeFlush;
  }

  /** True when frames wait for the end of the turn (`batch` not false). */
  get batching(): boolean {
    return this.#batch !== undefined;
  }

  /** Frames waiting for the end of the turn. */
  get pending(): number {
    return this.#batch?.frames ?? 0;
  }

  /** Writes one frame (header, then `payload`; a CRC32C when `flags` has `FrameFlag.Crc`). */
  write(type: number, flags: number, id: number, arg: number, payload?: Uint8Array): void {
    if (this.#stopped) return;
    const marked = flags | FrameFlag.ReadsBatches;
    const batch = this.#batch;
    if (batch === undefined) {
      return this.#send(encodeFrame({ type, flags: marked & ~FrameFlag.Crc, id, arg, payload, crc: (flags & FrameFlag.Crc) !== 0 }));
    }
    if (!batch.fits(FRAME_HEADER_BYTES + (payload?.byteLength ?? 0))) this.flush();
    batch.write(type, marked, id, arg, payload);
    this.#added(batch);
  }

  /** Sends an encoded frame (e.g. a PING) after the frames written before it. */
  append(frame: Uint8Array): void {
    if (this.#stopped) return;
    const batch = this.#batch;
    if (batch === undefined) return this.#send(frame);
    if (!batch.fits(frame.byteLength)) this.flush();
    batch.append(frame);
    this.#added(batch);
  }

  /** Sends what is batched now. */
  flush(): void {
    const batch = this.#batch;
    if (batch === undefined || batch.frames === 0 || this.#stopped || this.#flushing) return;
    this.#flushing = true;
    try {
      this.#beforeFlush?.();
    } finally {
      this.#flushing = false;
    }
    this.#send(batch.take());
  }

  /** Drops what is batched and sends nothing more (the socket is gone). */
  stop(): void {
    this.#stopped = true;
    this.#batch?.clear();
  }

  #added(batch: FrameBatch): void {
    if (batch.full && !this.#flushing) return this.flush();
    if (this.#scheduled) return;
    this.#scheduled = true;
    this.#nextTurn(this.#onTurnEnd);
  }

  readonly #onTurnEnd = (): void => {
    this.#scheduled = false;
    this.flush();
  };

  #send(bytes: Uint8Array): void {
    try {
      this.#socket.send(bytes);
    } catch (thrown) {
      this.#onFailed(sluiceError("unavailable", `send failed: ${String(thrown)}`));
    }
  }
}

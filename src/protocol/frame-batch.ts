/**
 * Batches of frames (DESIGN.md "Wire frames": a WebSocket binary message may carry several frames
 * back to back). `FrameBatch` collects frames in one growing buffer up to a size cap and a frame
 * cap; `eachFrame` reads every frame of a received message, in order.
 *
 * @example
 * ```ts
 * const batch = new FrameBatch({ maxBytes: 64 * 1024, maxFrames: 256 });
 * batch.write(FrameType.ACK, 0, token, 0);
 * if (!batch.fits(24 + payload.byteLength)) socket.send(batch.take());
 * eachFrame(bytes, codec, (frame) => frame.ok && handle(frame.value));
 * ```
 *
 * @module
 */
import type { SluiceError } from "../result/errors.ts";
import type { Result } from "../result/result.ts";
import { crc32c } from "./crc32c.ts";
import { type FrameCodec, storeFrameHeader } from "./frame-codec.ts";
import { FRAME_HEADER_BYTES, FrameFlag, FrameStatus } from "./frame-layout.ts";
import { decodeFrameMessage, type Frame, isProblem, readFrameMessage } from "./frames.ts";

/**
 * Default size cap of one batch: a batch is sent before it would pass 64 KiB (a single frame
 * larger than that still travels, alone).
 *
 * @example
 * ```ts
 * new FrameBatch({ maxBytes: DEFAULT_BATCH_MAX_BYTES });
 * ```
 */
export const DEFAULT_BATCH_MAX_BYTES = 64 * 1024;

/**
 * Default frame cap of one batch.
 *
 * @example
 * ```ts
 * new FrameBatch({ maxFrames: DEFAULT_BATCH_MAX_FRAMES });
 * ```
 */
export const DEFAULT_BATCH_MAX_FRAMES = 256;

/**
 * The caps of a batch.
 *
 * @example
 * ```ts
 * const limits: BatchLimits = { maxBytes: 16 * 1024, maxFrames: 64 };
 * ```
 */
export interface BatchLimits {
  /** Bytes a batch may reach (default 64 KiB); a first frame larger than this still goes, alone. */
  readonly maxBytes?: number;
  /** Frames in one batch (default 256). */
  readonly maxFrames?: number;
  /**
   * Buffer bytes kept once a batch is taken (default 16 KiB): a bigger buffer is let go, so an
   * idle connection holds little; a batch shared by many connections may keep more.
   */
  readonly keepBytes?: number;
}

/** Capacity a batch buffer starts with; it grows by doubling. */
const INITIAL_BYTES = 1024;
/** A buffer grown past this is dropped once its batch is taken, so idle connections hold little. */
const KEEP_BYTES = 16 * 1024;
const EMPTY = new Uint8Array(0);

/**
 * Frames collected for one WebSocket message. Not thread-safe (JS runs one thing at a time); the
 * buffer is the batch's own, so frames appended are copies.
 *
 * @example
 * ```ts
 * const batch = new FrameBatch();
 * batch.append(pingFrame(1));
 * batch.write(FrameType.PUBLISH, FrameFlag.ReadsBatches, 7, 0, payload);
 * socket.send(batch.take()); // one message, two frames
 * ```
 */
export class FrameBatch {
  readonly maxBytes: number;
  readonly maxFrames: number;
  readonly #keepBytes: number;
  #buffer: Uint8Array = EMPTY;
  #length = 0;
  #frames = 0;
  /** Bytes of the last batch taken: a buffer grown again starts there, not at 1 KiB. */
  #lastLength = 0;

  constructor(limits: BatchLimits = {}) {
    this.maxBytes = limits.maxBytes ?? DEFAULT_BATCH_MAX_BYTES;
    this.maxFrames = limits.maxFrames ?? DEFAULT_BATCH_MAX_FRAMES;
    this.#keepBytes = limits.keepBytes ?? KEEP_BYTES;
    if (!Number.isInteger(this.maxBytes) || this.maxBytes < FRAME_HEADER_BYTES) throw new RangeError(`maxBytes must be an integer >= ${FRAME_HEADER_BYTES}, got ${this.maxBytes}`);
    if (!Number.isInteger(this.maxFrames) || this.maxFrames < 1) throw new RangeError(`maxFrames must be a positive integer, got ${this.maxFrames}`);
  }

  /** Frames in the batch. */
  get frames(): number {
    return this.#frames;
  }

  /** Bytes in the batch. */
  get byteLength(): number {
    return this.#length;
  }

  /** Whether a frame of `bytes` bytes joins the batch within its caps (an empty batch takes any frame). */
  fits(bytes: number): boolean {
    return this.#frames === 0 || (this.#frames < this.maxFrames && this.#length + bytes <= this.maxBytes);
  }

  /** True when no further frame fits (frame cap reached). */
  get full(): boolean {
    return this.#frames >= this.maxFrames || this.#length >= this.maxBytes;
  }

  /** Appends an encoded frame (copied). */
  append(frame: Uint8Array): void {
    const at = this.#reserve(frame.byteLength);
    this.#buffer.set(frame, at);
    this.#frames++;
  }

  /** Writes a frame in place: header (a CRC32C of the payload when `flags` has `FrameFlag.Crc`), then `payload`. */
  write(type: number, flags: number, id: number, arg: number, payload?: Uint8Array): void {
    const length = payload?.byteLength ?? 0;
    const at = this.#reserve(FRAME_HEADER_BYTES + length);
    const crc = (flags & FrameFlag.Crc) !== 0 && payload !== undefined ? crc32c(payload) : 0;
    storeFrameHeader(this.#buffer, at, type, flags, length, id, arg, crc);
    if (payload !== undefined && length > 0) this.#buffer.set(payload, at + FRAME_HEADER_BYTES);
    this.#frames++;
  }

  /** The batch as a buffer of its own (exactly its bytes); the batch is empty afterwards. */
  take(): Uint8Array {
    const out = this.#buffer.slice(0, this.#length);
    this.#lastLength = this.#length;
    this.clear();
    return out;
  }

  /**
   * The batch as a view of the batch's buffer, valid until the next `append`/`write` — for a
   * `send` that copies before it returns (Bun's); the batch is empty afterwards.
   */
  takeView(): Uint8Array {
    const out = this.#buffer.subarray(0, this.#length);
    this.#lastLength = this.#length;
    this.#length = 0;
    this.#frames = 0;
    // The view keeps a big buffer alive until it is sent; the batch lets go of it.
    if (this.#buffer.byteLength > this.#keepBytes) this.#buffer = EMPTY;
    return out;
  }

  /** Drops the frames (e.g. the socket they were for is gone). */
  clear(): void {
    this.#length = 0;
    this.#frames = 0;
    if (this.#buffer.byteLength > this.#keepBytes) this.#buffer = EMPTY;
  }

  // Room for `bytes` more at the end; returns where they go.
  #reserve(bytes: number): number {
    const at = this.#length;
    const need = at + bytes;
    if (need > this.#buffer.byteLength) {
      let size = Math.max(INITIAL_BYTES, this.#buffer.byteLength, Math.min(this.#lastLength, this.maxBytes));
      while (size < need) size *= 2;
      const grown = new Uint8Array(size);
      grown.set(this.#buffer.subarray(0, at));
      this.#buffer = grown;
    }
    this.#length = need;
    return at;
  }
}

/**
 * Reads every frame of one received WebSocket message (one frame or several back to back), in
 * order; each is decoded as `decodeFrameMessage` does (payload copied). After a frame whose
 * header announces more bytes than the message holds, the rest cannot be framed: that frame is
 * reported as `frame.malformed` and reading stops.
 *
 * @example
 * ```ts
 * eachFrame(new Uint8Array(event.data), codec, (frame) => {
 *   if (frame.ok) handle(frame.value); else report(frame.error);
 * });
 * ```
 */
export function eachFrame(bytes: Uint8Array, codec: FrameCodec, visit: (frame: Result<Frame>) => void): void {
  for (let at = 0; at < bytes.byteLength;) {
    const end = frameEnd(bytes, at);
    visit(decodeFrameMessage(at === 0 && end === bytes.byteLength ? bytes : bytes.subarray(at, end), codec));
    at = end;
  }
}

/**
 * What `readFrames` hands over for each frame: its header fields, and its payload as
 * `bytes[start, start + length)` — a view of the message, valid as long as the message is.
 *
 * @example
 * ```ts
 * const visit: FrameVisitor = (type, flags, id, arg, bytes, start, length) => {
 *   if (type === FrameType.DELIVER) handle(id, arg, bytes.subarray(start, start + length));
 * };
 * ```
 */
export type FrameVisitor = (type: number, flags: number, id: number, arg: number, bytes: Uint8Array, start: number, length: number) => void;

/**
 * Reads every frame of one received WebSocket message, in order, without a result object or a
 * payload copy per frame: a message of several well-formed frames is decoded in one pass;
 * anything else is read frame by frame, each problem reported to `problem` as `eachFrame` would
 * (and reading stops after a frame cut short).
 *
 * @example
 * ```ts
 * readFrames(new Uint8Array(event.data), codec, visit, (error) => report(error));
 * ```
 */
export function readFrames(bytes: Uint8Array, codec: FrameCodec, visit: FrameVisitor, problem: (error: SluiceError) => void): void {
  const first = frameEnd(bytes, 0);
  if (first < bytes.byteLength) {
    // Offsets of the decode are the frames' offsets in `bytes` (a codec decodes a copy from 0).
    const r = codec.decodeFrom(bytes);
    let clean = r.errorOffset < 0 && r.partialOffset < 0 && r.consumed === bytes.byteLength;
    for (let i = 0; clean && i < r.count; i++) clean = r.status[i] === FrameStatus.Ok;
    if (clean) {
      const { count, types, flags, ids, args, offsets, payloadLengths } = r;
      for (let i = 0; i < count; i++) visit(types[i]!, flags[i]!, ids[i]!, args[i]!, bytes, offsets[i]! + FRAME_HEADER_BYTES, payloadLengths[i]!);
      return;
    }
  }
  for (let at = 0, end = first; at < bytes.byteLength; at = end, end = frameEnd(bytes, at)) {
    const frame = at === 0 && end === bytes.byteLength ? bytes : bytes.subarray(at, end);
    const header = readFrameMessage(frame, codec);
    if (isProblem(header)) problem(header);
    else visit(header.type, header.flags, header.id, header.arg, bytes, at + FRAME_HEADER_BYTES, header.payloadLength);
  }
}

/**
 * Where the frame that starts at `at` ends, from its header's payloadLength (u32 LE at offset 4);
 * the message's end when the header or the payload is cut short (the decoder then says so).
 *
 * @example
 * ```ts
 * for (let at = 0; at < bytes.byteLength; at = frameEnd(bytes, at)) handle(bytes.subarray(at, frameEnd(bytes, at)));
 * ```
 */
export function frameEnd(bytes: Uint8Array, at: number): number {
  if (bytes.byteLength - at < FRAME_HEADER_BYTES) return bytes.byteLength;
  const length = (bytes[at + 4]! | (bytes[at + 5]! << 8) | (bytes[at + 6]! << 16) | (bytes[at + 7]! << 24)) >>> 0;
  return Math.min(bytes.byteLength, at + FRAME_HEADER_BYTES + length);
}

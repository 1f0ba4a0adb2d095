/**
 * Whole wire frames (DESIGN.md "Wire frames") on top of the frame codec of `src/wasm/`:
 * `encodeFrame` builds header + payload (with an optional CRC32C), `decodeFrameMessage` reads a
 * WebSocket message that must hold exactly one frame, and `FrameStreamDecoder` reads an HTTP
 * duplex body that carries frames back to back across arbitrary chunk boundaries.
 *
 * Decoders never throw on peer input: every problem is a `frame.malformed` / `frame.too_large`
 * Result whose `metadata.id` names the offending frame when its header could be read, so the
 * caller can answer with an ERROR frame for that id.
 *
 * @example
 * ```ts
 * const codec = createFrameCodec({ maxPayloadBytes: 1 << 20 });
 * const bytes = encodeFrame({ type: FrameType.PUBLISH, id: 7, payload: data, crc: true });
 * const frame = decodeFrameMessage(bytes, codec); // ok({ type: 1, id: 7, arg: 0, flags: 1, payload })
 * ```
 */
import { type SluiceError, sluiceError } from "../result/errors.ts";
import { err, ok, type Result } from "../result/result.ts";
import { crc32c } from "./crc32c.ts";
import { encodeFrameHeader, type DecodeResult, type FirstFrame, type FrameCodec } from "./frame-codec.ts";
import { FRAME_HEADER_BYTES, FrameFlag, FrameStatus, type FrameStatusCode } from "./frame-layout.ts";

/** A decoded frame. `payload` is a copy the caller owns (never a view of codec memory). */
export interface Frame {
  readonly type: number;
  readonly flags: number;
  readonly id: number;
  readonly arg: number;
  readonly payload: Uint8Array;
}

/** What `encodeFrame` needs; `id`, `arg`, `flags` default to 0, `payload` to empty. */
export interface FrameInit {
  readonly type: number;
  readonly id?: number;
  readonly arg?: number;
  readonly flags?: number;
  readonly payload?: Uint8Array;
  /** Set the CRC flag and store CRC32C(payload) in the header. */
  readonly crc?: boolean;
}

const EMPTY = new Uint8Array(0);

/**
 * Encodes one frame into a fresh buffer. Throws `RangeError` for out-of-range header fields
 * (a programmer error: ids and args come from this process).
 *
 * @example
 * ```ts
 * ws.send(encodeFrame({ type: FrameType.CREDIT, arg: 32 }));
 * ```
 */
export function encodeFrame(init: FrameInit): Uint8Array {
  const payload = init.payload ?? EMPTY;
  const out = new Uint8Array(FRAME_HEADER_BYTES + payload.byteLength);
  const flags = (init.flags ?? 0) | (init.crc ? FrameFlag.Crc : 0);
  encodeFrameHeader(out, 0, {
    type: init.type,
    flags,
    payloadLength: payload.byteLength,
    id: init.id ?? 0,
    arg: init.arg ?? 0,
    crc: init.crc ? crc32c(payload) : 0,
  });
  out.set(payload, FRAME_HEADER_BYTES);
  return out;
}

/**
 * Decodes a message that must contain exactly one frame (one WebSocket binary message).
 * Truncated input, trailing bytes, a bad header or a CRC mismatch → `frame.malformed`;
 * a payload over the codec's limit → `frame.too_large`.
 *
 * @example
 * ```ts
 * const r = decodeFrameMessage(new Uint8Array(event.data), codec);
 * if (!r.ok) ws.send(errorFrame(r.error, frameIdOf(r.error)));
 * ```
 */
export function decodeFrameMessage(bytes: Uint8Array, codec: FrameCodec): Result<Frame> {
  const header = readFrameMessage(bytes, codec);
  if (isProblem(header)) return err(header);
  // A copy: the payload outlives the message (it is queued).
  const payload = bytes.slice(FRAME_HEADER_BYTES, FRAME_HEADER_BYTES + header.payloadLength);
  return ok({ type: header.type, flags: header.flags, id: header.id, arg: header.arg, payload });
}

/**
 * The allocation-free core of `decodeFrameMessage`, for per-message hot paths: validates a
 * message that must hold exactly one frame and returns its header — the codec's reused
 * `FirstFrame`, valid until the codec's next call; the payload is
 * `bytes[24, 24 + payloadLength)` — or the `SluiceError` to answer with (`isProblem` tells which).
 *
 * @example
 * ```ts
 * const header = readFrameMessage(bytes, codec);
 * if (isProblem(header)) return reply(errorFrame(header, frameIdOf(header)));
 * if (header.type === FrameType.ACK) ack(header.id);
 * ```
 */
export function readFrameMessage(bytes: Uint8Array, codec: FrameCodec): FirstFrame | SluiceError {
  if (bytes.byteLength < FRAME_HEADER_BYTES) {
    return sluiceError("frame.malformed", `frame of ${bytes.byteLength} bytes is shorter than its ${FRAME_HEADER_BYTES}-byte header`);
  }
  // Only header + limit bytes are handed to the codec: an oversize message is rejected from its
  // header without first copying megabytes into WASM memory.
  const limit = FRAME_HEADER_BYTES + codec.maxPayloadBytes;
  const f = codec.decodeFirst(bytes.byteLength <= limit ? bytes : bytes.subarray(0, limit));
  if (f.count === 0) {
    return sluiceError("frame.malformed", `frame is truncated: header announces ${f.partialNeeded} bytes, message has ${bytes.byteLength}`);
  }
  if (f.status !== FrameStatus.Ok) return statusProblem(f.status, f.type, f.id, f.payloadLength, codec.maxPayloadBytes);
  if (FRAME_HEADER_BYTES + f.payloadLength !== bytes.byteLength) {
    return sluiceError("frame.malformed", `one frame per message: ${bytes.byteLength - FRAME_HEADER_BYTES - f.payloadLength} trailing bytes`, {
      metadata: { id: f.id },
    });
  }
  return f;
}

/**
 * Tells the two outcomes of `readFrameMessage` apart.
 *
 * @example
 * ```ts
 * if (isProblem(header)) console.log(header.code);
 * ```
 */
export function isProblem(header: FirstFrame | SluiceError): header is SluiceError {
  return (header as Partial<SluiceError>).code !== undefined;
}

/**
 * The id of the frame an error is about (`metadata.id`), or 0 when the header was unreadable.
 *
 * @example
 * ```ts
 * frameIdOf(sluiceError("frame.too_large", "big", { metadata: { id: 9 } })); // 9
 * ```
 */
export function frameIdOf(error: SluiceError): number {
  const id = error.metadata?.id;
  return typeof id === "number" && Number.isSafeInteger(id) && id >= 0 ? id : 0;
}

/**
 * Incremental decoder for a byte stream of back-to-back frames (an HTTP duplex body).
 *
 * Keeps at most one partial frame between chunks, and never more than header + the codec's
 * payload limit: a header announcing more is rejected before its payload arrives. A malformed
 * or oversize header makes the stream unreadable from there on (frame boundaries are lost), so
 * the decoder turns `failed` and ignores further input; a CRC mismatch only skips that frame.
 *
 * @example
 * ```ts
 * const decoder = new FrameStreamDecoder(codec);
 * for await (const chunk of body) for (const item of decoder.push(chunk)) handle(item);
 * const end = decoder.end(); // err when the body stopped inside a frame
 * ```
 */
export class FrameStreamDecoder {
  readonly #codec: FrameCodec;
  #tail = new Uint8Array(0);
  #tailLength = 0;
  /** Bytes the partial frame in `#tail` needs before decoding can make progress. */
  #needed = 0;
  #failed = false;

  constructor(codec: FrameCodec) {
    this.#codec = codec;
  }

  /** True after a malformed or oversize header; the rest of the stream is ignored. */
  get failed(): boolean {
    return this.#failed;
  }

  /** Bytes held back as the start of an incomplete frame. */
  get buffered(): number {
    return this.#tailLength;
  }

  /** Feeds one chunk; returns the frames (and per-frame errors) it completed, in order. */
  push(chunk: Uint8Array): Result<Frame>[] {
    if (this.#failed || chunk.byteLength === 0) return [];
    const total = this.#tailLength + chunk.byteLength;
    if (total < this.#needed) {
      // Still inside one big frame: just collect, do not re-decode the same header per chunk.
      this.#keep(chunk, this.#needed);
      return [];
    }
    const arena = this.#codec.inputBuffer(total);
    arena.set(this.#tail.subarray(0, this.#tailLength), 0);
    arena.set(chunk, this.#tailLength);
    const r = this.#codec.decode(total);
    const out: Result<Frame>[] = [];
    for (let i = 0; i < r.count; i++) {
      const problem = frameProblem(r, i, this.#codec.maxPayloadBytes);
      if (problem) {
        out.push(err(problem));
        continue;
      }
      const start = r.offsets[i]! + FRAME_HEADER_BYTES;
      out.push(ok(frameAt(r, i, arena.slice(start, start + r.payloadLengths[i]!))));
    }
    if (r.errorOffset >= 0) {
      this.#failed = true;
      this.#tailLength = 0;
      this.#needed = 0;
      return out;
    }
    // Copy the incomplete rest out of the arena: the next decode reuses (or detaches) it.
    const rest = arena.slice(r.consumed, total);
    this.#tailLength = 0;
    this.#needed = r.partialOffset >= 0 ? r.partialNeeded : 0;
    if (rest.byteLength > 0) this.#keep(rest, this.#needed);
    return out;
  }

  /** Call when the stream ended: `frame.malformed` if it stopped in the middle of a frame. */
  end(): Result<void> {
    if (this.#failed || this.#tailLength === 0) return ok();
    const held = this.#tailLength;
    this.#tailLength = 0;
    return err("frame.malformed", `stream ended inside a frame (${held} of ${Math.max(this.#needed, FRAME_HEADER_BYTES)} bytes)`);
  }

  #keep(bytes: Uint8Array, capacityHint: number): void {
    const need = this.#tailLength + bytes.byteLength;
    if (this.#tail.byteLength < need) {
      const grown = new Uint8Array(Math.max(need, capacityHint, this.#tail.byteLength * 2, 256));
      grown.set(this.#tail.subarray(0, this.#tailLength));
      this.#tail = grown;
    }
    this.#tail.set(bytes, this.#tailLength);
    this.#tailLength = need;
  }
}

function frameAt(r: DecodeResult, i: number, payload: Uint8Array): Frame {
  return { type: r.types[i]!, flags: r.flags[i]!, id: r.ids[i]!, arg: r.args[i]!, payload };
}

// Maps a non-Ok decode status to the error the peer gets; the id is kept when it is a safe integer.
function frameProblem(r: DecodeResult, i: number, maxPayloadBytes: number): SluiceError | undefined {
  const status = r.status[i]! as FrameStatusCode;
  return status === FrameStatus.Ok ? undefined : statusProblem(status, r.types[i]!, r.ids[i]!, r.payloadLengths[i]!, maxPayloadBytes);
}

function statusProblem(status: FrameStatusCode, type: number, id: number, payloadLength: number, maxPayloadBytes: number): SluiceError {
  const metadata: Record<string, unknown> = Number.isSafeInteger(id) ? { id, type } : { type };
  switch (status) {
    case FrameStatus.TooLarge:
      return sluiceError("frame.too_large", `frame payload of ${payloadLength} bytes exceeds the limit of ${maxPayloadBytes}`, {
        metadata: { ...metadata, payloadLength, limit: maxPayloadBytes },
      });
    case FrameStatus.BadCrc:
      return sluiceError("frame.malformed", "frame payload does not match its CRC32C", { metadata });
    default:
      // A malformed header may carry any id; it is echoed only when it is a usable one.
      return sluiceError("frame.malformed", `malformed frame header (version must be 1, type 0x${type.toString(16)} must be known, id < 2^53)`, {
        metadata,
      });
  }
}

/**
 * The `FrameCodec` contract (WASM and pure-JS implementations), its options, and the shared
 * header encoder.
 *
 * @module
 */
import {
  DEFAULT_MAX_PAYLOAD_BYTES,
  FRAME_HEADER_BYTES,
  FRAME_VERSION,
  HeaderOffset,
  MAX_FRAME_ID,
  type FrameStatusCode,
} from "./frame-layout.ts";

/**
 * Header fields for `encodeHeader`; `flags`, `arg` and `crc` default to 0.
 *
 * @example
 * ```ts
 * const header: FrameHeader = { type: FrameType.ACK, payloadLength: 0, id: 7 };
 * ```
 */
export interface FrameHeader {
  type: number;
  flags?: number;
  payloadLength: number;
  id: number;
  arg?: number;
  crc?: number;
}

/**
 * Struct-of-arrays result of one batch decode; entry `i` describes the frame at `offsets[i]`
 * (payload at `offsets[i] + 24`). Bad-CRC frames are entries with status `BadCrc`; decoding went
 * on past them. A malformed or too-large header is the last entry and stops decoding.
 *
 * @example
 * ```ts
 * const r: DecodeResult = codec.decodeFrom(chunk);
 * for (let i = 0; i < r.count; i++) if (r.status[i] === FrameStatus.Ok) handle(r.types[i], r.ids[i]);
 * ```
 */
export interface DecodeResult {
  readonly count: number;
  readonly offsets: Uint32Array;
  readonly types: Uint8Array;
  readonly flags: Uint16Array;
  /** Frame ids as doubles (exact below 2^53; larger ids are `Malformed`). */
  readonly ids: Float64Array;
  readonly args: Uint32Array;
  readonly payloadLengths: Uint32Array;
  /** Per-frame `FrameStatus`. */
  readonly status: Uint8Array;
  /** Bytes fully handled: the end of the last Ok/BadCrc frame (a stopping header is not consumed). */
  readonly consumed: number;
  /** Offset of the untrusted header that stopped decoding, or -1. */
  readonly errorOffset: number;
  /** Its status (`Malformed` or `TooLarge`), or 0 (`Ok`) when decoding did not stop early. */
  readonly errorStatus: FrameStatusCode;
  /** Offset of a trailing incomplete frame (equals `consumed`), or -1 when there is none. */
  readonly partialOffset: number;
  /** Total bytes that partial frame needs (24 while its header is incomplete), or 0. */
  readonly partialNeeded: number;
}

/**
 * What `decodeFirst` reads: the first entry of a decode plus the frame count, in one object the
 * codec reuses (overwritten by its next call), so a WebSocket message — one frame — is
 * decoded without allocating. `count` 0 means the bytes end inside the first frame
 * (`partialNeeded` says how many it needs) and the other fields are 0.
 *
 * @example
 * ```ts
 * const f = codec.decodeFirst(message);
 * if (f.count > 0 && f.status === FrameStatus.Ok) handle(f.type, f.id, f.arg, f.payloadLength);
 * ```
 */
export interface FirstFrame {
  count: number;
  status: FrameStatusCode;
  type: number;
  flags: number;
  id: number;
  arg: number;
  payloadLength: number;
  partialNeeded: number;
}

/**
 * A fresh, zeroed `FirstFrame` (each codec owns one).
 *
 * @example
 * ```ts
 * private readonly first = emptyFirstFrame();
 * ```
 */
export function emptyFirstFrame(): FirstFrame {
  return { count: 0, status: 0, type: 0, flags: 0, id: 0, arg: 0, payloadLength: 0, partialNeeded: 0 };
}

/**
 * Options of `createFrameCodec`.
 *
 * @example
 * ```ts
 * const codec = createFrameCodec({ maxPayloadBytes: 64 * 1024 });
 * ```
 */
export interface FrameCodecOptions {
  /** Payload limit; larger frames are `TooLarge`. Default 1 MiB, at most 2^31 - 65536. */
  maxPayloadBytes?: number;
}

/**
 * Batch frame decoder + header encoder: batch decoding and header encoding of wire frames (DESIGN.md "Wire frames",
 * layout in `src/protocol/frame-layout.ts`), implemented in WASM (`assembly/frames.ts`) and as a
 * pure-JS reference (`js-frame-codec.ts`) with identical results.
 *
 * Memory ownership (both implementations):
 * - `inputBuffer(n)` returns a view of the codec's input arena (for WASM: inside WASM memory) of at
 *   least `n` bytes. Write a chunk there, then call `decode(length)`: nothing is copied.
 * - Any call that may grow the arena (`inputBuffer` with a larger `n`, `decodeFrom`/`crc32c` with a
 *   larger input) invalidates earlier arena views and earlier results: WASM memory growth detaches
 *   the old `ArrayBuffer`. Re-fetch the view after such calls.
 * - The typed arrays of a `DecodeResult` are views over codec memory, valid until the next
 *   `decode`/`decodeFrom`/`crc32c`/`inputBuffer` call; copy what you keep.
 * - `decodeFrom(bytes)` copies `bytes` into the arena (WASM) or reads them in place (JS).
 *
 * @example
 * ```ts
 * const codec = createFrameCodec({ maxPayloadBytes: 1 << 20 });
 * const arena = codec.inputBuffer(chunk.byteLength);
 * arena.set(chunk);
 * const r = codec.decode(chunk.byteLength);
 * for (let i = 0; i < r.count; i++) if (r.status[i] === FrameStatus.Ok) handle(r.types[i], r.ids[i]);
 * const tail = chunk.subarray(r.consumed); // keep for the next chunk when r.partialOffset >= 0
 * ```
 */
export interface FrameCodec {
  readonly kind: "wasm" | "js";
  readonly maxPayloadBytes: number;
  /** View of the input arena holding at least `minBytes` bytes (may grow memory). */
  inputBuffer(minBytes: number): Uint8Array;
  /** Decodes the first `length` bytes of the input arena. */
  decode(length: number): DecodeResult;
  /** Decodes `bytes` (copied into the arena for WASM). */
  decodeFrom(bytes: Uint8Array): DecodeResult;
  /**
   * Same decode as `decodeFrom(bytes)`, but reports only the count and the first entry, in the
   * codec's reused `FirstFrame` (no typed-array views are created).
   */
  decodeFirst(bytes: Uint8Array): FirstFrame;
  /** CRC32C (Castagnoli) of `bytes`. */
  crc32c(bytes: Uint8Array): number;
  /** Writes a 24-byte header at `buf[offset]`; throws `RangeError` on bad fields or no room. */
  encodeHeader(buf: Uint8Array, offset: number, header: FrameHeader): void;
}

/**
 * Largest accepted `maxPayloadBytes`: keeps header + payload + arena sizes inside u32 math.
 *
 * @example
 * ```ts
 * resolveCodecOptions({ maxPayloadBytes: MAX_PAYLOAD_LIMIT + 1 }); // throws RangeError
 * ```
 */
export const MAX_PAYLOAD_LIMIT = 0x7fff0000;

/**
 * Validates codec options (programmer errors throw `RangeError`) and applies defaults.
 *
 * @example
 * ```ts
 * resolveCodecOptions({}).maxPayloadBytes; // 1048576
 * ```
 */
export function resolveCodecOptions(options: FrameCodecOptions = {}): { maxPayloadBytes: number } {
  const max = options.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES;
  if (!Number.isInteger(max) || max < 0 || max > MAX_PAYLOAD_LIMIT) {
    throw new RangeError(`maxPayloadBytes must be an integer in [0, ${MAX_PAYLOAD_LIMIT}], got ${max}`);
  }
  return { maxPayloadBytes: max };
}

function checkU32(name: string, value: number, max = 0xffffffff): number {
  if (!Number.isInteger(value) || value < 0 || value > max) throw new RangeError(`frame ${name} out of range: ${value}`);
  return value;
}

/**
 * Writes a frame header (little-endian) at `buf[offset]`. Shared by both codecs: a 24-byte
 * store is cheaper in JS than a call into WASM plus a copy back out.
 *
 * @example
 * ```ts
 * const frame = new Uint8Array(24 + payload.length);
 * frame.set(payload, 24);
 * encodeFrameHeader(frame, 0, { type: FrameType.PUBLISH, flags: FrameFlag.Crc, payloadLength: payload.length, id: 7, crc: crc32c(payload) });
 * ```
 */
export function encodeFrameHeader(buf: Uint8Array, offset: number, header: FrameHeader): void {
  if (!Number.isInteger(offset) || offset < 0 || offset + FRAME_HEADER_BYTES > buf.byteLength) {
    throw new RangeError(`no room for a ${FRAME_HEADER_BYTES}-byte header at offset ${offset} of ${buf.byteLength}`);
  }
  const type = checkU32("type", header.type, 0xff);
  const flags = checkU32("flags", header.flags ?? 0, 0xffff);
  const length = checkU32("payloadLength", header.payloadLength);
  const id = checkU32("id", header.id, MAX_FRAME_ID);
  const arg = checkU32("arg", header.arg ?? 0);
  const crc = checkU32("crc", header.crc ?? 0);
  storeFrameHeader(buf, offset, type, flags, length, id, arg, crc);
}

/**
 * Stores a frame header at `buf[at]` with no checks (callers pass fields they built, within
 * range) and no DataView to allocate: the per-message send paths use it.
 *
 * @example
 * ```ts
 * storeFrameHeader(out, 0, FrameType.DELIVER, 0, payload.byteLength, lease.token, lease.attempt, 0);
 * ```
 */
export function storeFrameHeader(
  buf: Uint8Array,
  at: number,
  type: number,
  flags: number,
  payloadLength: number,
  id: number,
  arg: number,
  crc: number,
): void {
  buf[at + HeaderOffset.version] = FRAME_VERSION;
  buf[at + HeaderOffset.type] = type;
  storeU16(buf, at + HeaderOffset.flags, flags);
  storeU32(buf, at + HeaderOffset.payloadLength, payloadLength);
  storeU32(buf, at + HeaderOffset.id, id % 0x100000000);
  storeU32(buf, at + HeaderOffset.id + 4, Math.floor(id / 0x100000000));
  storeU32(buf, at + HeaderOffset.arg, arg);
  storeU32(buf, at + HeaderOffset.crc, crc);
}

function storeU16(buf: Uint8Array, at: number, value: number): void {
  buf[at] = value;
  buf[at + 1] = value >>> 8;
}

function storeU32(buf: Uint8Array, at: number, value: number): void {
  buf[at] = value;
  buf[at + 1] = value >>> 8;
  buf[at + 2] = value >>> 16;
  buf[at + 3] = value >>> 24;
}

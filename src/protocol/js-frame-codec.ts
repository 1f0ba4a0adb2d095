/**
 * Pure-JS reference `FrameCodec`: the specification the WASM codec is fuzzed against, and the
 * fallback where WASM is unavailable. Same algorithm as `assembly/frames.ts`, step for step.
 *
 * @example
 * ```ts
 * const codec = createJsFrameCodec();
 * const r = codec.decodeFrom(bytes); // reads `bytes` in place
 * ```
 */
import { FRAME_HEADER_BYTES, FRAME_VERSION, FrameStatus, FrameType, MAX_FRAME_ID } from "./frame-layout.ts";
import { crc32c } from "./crc32c.ts";
import {
  type DecodeResult,
  emptyFirstFrame,
  type FirstFrame,
  type FrameCodec,
  type FrameCodecOptions,
  type FrameHeader,
  MAX_PAYLOAD_LIMIT,
  encodeFrameHeader,
  resolveCodecOptions,
} from "./frame-codec.ts";
import type { FrameStatusCode } from "./frame-layout.ts";

// Type byte -> 1 when defined; a table lookup beats `Set#has` on the hot path.
const KNOWN = new Uint8Array(256);
for (const code of Object.values(FrameType)) KNOWN[code] = 1;
const ID_HIGH_LIMIT = Math.floor(MAX_FRAME_ID / 0x100000000) + 1; // 2^21: high word of 2^53

// Little-endian reads straight from the bytes: no DataView to allocate per decode.
function u16(b: Uint8Array, at: number): number {
  return b[at]! | (b[at + 1]! << 8);
}
function u32(b: Uint8Array, at: number): number {
  return (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0;
}

class JsFrameCodec implements FrameCodec {
  readonly kind = "js" as const;
  readonly maxPayloadBytes: number;
  private arena = new Uint8Array(0);
  private cap = 0;
  private offsets = new Uint32Array(0);
  private types = new Uint8Array(0);
  private flags = new Uint16Array(0);
  private ids = new Float64Array(0);
  private args = new Uint32Array(0);
  private lengths = new Uint32Array(0);
  private status = new Uint8Array(0);
  private readonly first = emptyFirstFrame();
  // What the last scan found besides the per-frame arrays.
  private consumed = 0;
  private errorOffset = -1;
  private errorStatus: FrameStatusCode = FrameStatus.Ok;
  private partialOffset = -1;
  private partialNeeded = 0;

  constructor(options: FrameCodecOptions) {
    this.maxPayloadBytes = resolveCodecOptions(options).maxPayloadBytes;
  }

  inputBuffer(minBytes: number): Uint8Array {
    if (!Number.isInteger(minBytes) || minBytes < 0 || minBytes > MAX_PAYLOAD_LIMIT) {
      throw new RangeError(`inputBuffer size out of range: ${minBytes}`);
    }
    if (this.arena.byteLength < minBytes || this.arena.byteLength === 0) {
      this.arena = new Uint8Array((Math.max(minBytes, 65536) + 0xffff) & ~0xffff);
    }
    return this.arena;
  }

  decode(length: number): DecodeResult {
    if (!Number.isInteger(length) || length < 0 || length > this.arena.byteLength) {
      throw new RangeError(`decode length ${length} exceeds the input arena (${this.arena.byteLength})`);
    }
    return this.run(this.arena, length);
  }

  decodeFrom(bytes: Uint8Array): DecodeResult {
    return this.run(bytes, bytes.byteLength);
  }

  decodeFirst(bytes: Uint8Array): FirstFrame {
    const n = this.scan(bytes, bytes.byteLength);
    const f = this.first;
    f.count = n;
    f.partialNeeded = n === 0 ? this.partialNeeded : 0;
    if (n === 0) {
      f.status = FrameStatus.Ok;
      f.type = f.flags = f.id = f.arg = f.payloadLength = 0;
    } else {
      f.status = this.status[0]! as FrameStatusCode;
      f.type = this.types[0]!;
      f.flags = this.flags[0]!;
      f.id = this.ids[0]!;
      f.arg = this.args[0]!;
      f.payloadLength = this.lengths[0]!;
    }
    return f;
  }

  crc32c(bytes: Uint8Array): number {
    return crc32c(bytes);
  }

  encodeHeader(buf: Uint8Array, offset: number, header: FrameHeader): void {
    encodeFrameHeader(buf, offset, header);
  }

  private ensure(frames: number): void {
    if (frames <= this.cap) return;
    const cap = Math.max(frames, this.cap * 2, 64);
    this.cap = cap;
    this.offsets = new Uint32Array(cap);
    this.types = new Uint8Array(cap);
    this.flags = new Uint16Array(cap);
    this.ids = new Float64Array(cap);
    this.args = new Uint32Array(cap);
    this.lengths = new Uint32Array(cap);
    this.status = new Uint8Array(cap);
  }

  private run(bytes: Uint8Array, len: number): DecodeResult {
    const n = this.scan(bytes, len);
    return {
      count: n,
      offsets: this.offsets.subarray(0, n),
      types: this.types.subarray(0, n),
      flags: this.flags.subarray(0, n),
      ids: this.ids.subarray(0, n),
      args: this.args.subarray(0, n),
      payloadLengths: this.lengths.subarray(0, n),
      status: this.status.subarray(0, n),
      consumed: this.consumed,
      errorOffset: this.errorOffset,
      errorStatus: this.errorStatus,
      partialOffset: this.partialOffset,
      partialNeeded: this.partialNeeded,
    };
  }

  /** Decodes into the per-frame arrays and the scan fields; returns the frame count. */
  private scan(bytes: Uint8Array, len: number): number {
    this.ensure(Math.floor(len / FRAME_HEADER_BYTES));
    const max = this.maxPayloadBytes;
    const { offsets, types, flags: flagsOut, ids, args, lengths, status } = this;
    let pos = 0;
    let n = 0;
    let errorOffset = -1;
    let errorStatus: FrameStatusCode = FrameStatus.Ok;
    let partialOffset = -1;
    let partialNeeded = 0;
    while (pos < len) {
      const rem = len - pos;
      if (rem < FRAME_HEADER_BYTES) {
        partialOffset = pos;
        partialNeeded = FRAME_HEADER_BYTES;
        break;
      }
      const version = bytes[pos]!;
      const type = bytes[pos + 1]!;
      const flags = u16(bytes, pos + 2);
      const plen = u32(bytes, pos + 4);
      const lo = u32(bytes, pos + 8);
      const hi = u32(bytes, pos + 12);
      let st: FrameStatusCode = FrameStatus.Ok;
      if (version !== FRAME_VERSION || KNOWN[type] === 0 || hi >= ID_HIGH_LIMIT) st = FrameStatus.Malformed;
      else if (plen > max) st = FrameStatus.TooLarge;
      if (st === FrameStatus.Ok && plen > rem - FRAME_HEADER_BYTES) {
        partialOffset = pos;
        partialNeeded = FRAME_HEADER_BYTES + plen;
        break;
      }
      if (st === FrameStatus.Ok && (flags & 1) !== 0 && crc32c(bytes, pos + FRAME_HEADER_BYTES, plen) !== u32(bytes, pos + 20)) {
        st = FrameStatus.BadCrc;
      }
      ids[n] = hi * 4294967296 + lo;
      offsets[n] = pos;
      args[n] = u32(bytes, pos + 16);
      lengths[n] = plen;
      flagsOut[n] = flags;
      types[n] = type;
      status[n] = st;
      n++;
      if (st === FrameStatus.Malformed || st === FrameStatus.TooLarge) {
        errorOffset = pos;
        errorStatus = st;
        break;
      }
      pos += FRAME_HEADER_BYTES + plen;
    }
    this.consumed = pos;
    this.errorOffset = errorOffset;
    this.errorStatus = errorStatus;
    this.partialOffset = partialOffset;
    this.partialNeeded = partialNeeded;
    return n;
  }
}

/**
 * The pure-JS reference codec (no WASM involved).
 *
 * @example
 * ```ts
 * createJsFrameCodec({ maxPayloadBytes: 64 * 1024 }).decodeFrom(bytes).count;
 * ```
 */
export function createJsFrameCodec(options: FrameCodecOptions = {}): FrameCodec {
  return new JsFrameCodec(options);
}

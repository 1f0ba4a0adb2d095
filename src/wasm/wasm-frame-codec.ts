/**
 * `FrameCodec` backed by the WASM module: the caller writes chunks straight into the module's
 * input arena (`inputBuffer`) and reads results as typed-array views over WASM memory, so the
 * hot path copies nothing across the boundary (see `frame-codec.ts` for the ownership rules).
 *
 * @example
 * ```ts
 * const codec = createWasmFrameCodec(compileSluiceModule());
 * codec.inputBuffer(chunk.length).set(chunk);
 * const { count, status } = codec.decode(chunk.length);
 * ```
 */
import type { FrameStatusCode } from "../protocol/frame-layout.ts";
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
} from "../protocol/frame-codec.ts";
import { CRC_TABLE_BYTES, type SluiceExports, alignedHeapBase, instantiateSluice } from "./loader.ts";

const LAYOUT_BYTES = 64;

class WasmFrameCodec implements FrameCodec {
  readonly kind = "wasm" as const;
  readonly maxPayloadBytes: number;
  private readonly ex: SluiceExports;
  private readonly layoutAt: number;
  private buffer: ArrayBuffer | null = null;
  private words = new Uint32Array(0);
  private arena = new Uint8Array(0);
  // Whole-memory views for `decodeFirst`: reading entry 0 through them creates no objects.
  private mem8 = new Uint8Array(0);
  private mem16 = new Uint16Array(0);
  private mem32 = new Uint32Array(0);
  private mem64 = new Float64Array(0);
  private readonly first = emptyFirstFrame();

  constructor(module: WebAssembly.Module, options: FrameCodecOptions) {
    this.maxPayloadBytes = resolveCodecOptions(options).maxPayloadBytes;
    const probe = instantiateSluice(module);
    const base = alignedHeapBase(probe);
    this.ex = probe;
    const need = base + CRC_TABLE_BYTES + LAYOUT_BYTES;
    const have = probe.memory.buffer.byteLength;
    if (need > have) probe.memory.grow(Math.ceil((need - have) / 65536));
    probe.initCrcTables(base);
    this.layoutAt = base + CRC_TABLE_BYTES;
    probe.codecSetup(this.layoutAt, this.layoutAt + LAYOUT_BYTES);
    this.reserve(65536);
  }

  /** Ensures arena capacity; refreshes views when memory grew (old views are detached). */
  private reserve(minBytes: number): void {
    if (!Number.isInteger(minBytes) || minBytes < 0 || minBytes > MAX_PAYLOAD_LIMIT) {
      throw new RangeError(`input size out of range: ${minBytes}`);
    }
    if (this.buffer === this.ex.memory.buffer && this.words[1]! >= minBytes) return;
    if (this.ex.codecReserve(minBytes) === 0) throw new RangeError(`cannot grow WASM memory to hold ${minBytes} bytes`);
    this.refresh();
  }

  private refresh(): void {
    // Never shared (the module declares no shared memory); Deno's lib types say it could be.
    const buffer = this.ex.memory.buffer as ArrayBuffer;
    this.buffer = buffer;
    this.words = new Uint32Array(buffer, this.layoutAt, LAYOUT_BYTES / 4);
    this.arena = new Uint8Array(buffer, this.words[0]!, this.words[1]!);
    this.mem8 = new Uint8Array(buffer);
    this.mem16 = new Uint16Array(buffer, 0, buffer.byteLength >>> 1);
    this.mem32 = new Uint32Array(buffer, 0, buffer.byteLength >>> 2);
    this.mem64 = new Float64Array(buffer, 0, buffer.byteLength >>> 3);
  }

  inputBuffer(minBytes: number): Uint8Array {
    this.reserve(minBytes);
    return this.arena;
  }

  decode(length: number): DecodeResult {
    if (this.buffer !== this.ex.memory.buffer) this.refresh();
    if (!Number.isInteger(length) || length < 0 || length > this.words[1]!) {
      throw new RangeError(`decode length ${length} exceeds the input arena (${this.words[1]})`);
    }
    this.ex.codecDecode(length, this.maxPayloadBytes);
    const w = this.words;
    const n = w[10]!;
    const buffer = this.buffer!;
    return {
      count: n,
      ids: new Float64Array(buffer, w[3]!, n),
      offsets: new Uint32Array(buffer, w[4]!, n),
      args: new Uint32Array(buffer, w[5]!, n),
      payloadLengths: new Uint32Array(buffer, w[6]!, n),
      flags: new Uint16Array(buffer, w[7]!, n),
      types: new Uint8Array(buffer, w[8]!, n),
      status: new Uint8Array(buffer, w[9]!, n),
      consumed: w[11]!,
      errorOffset: w[12]! - 1,
      errorStatus: w[13]! as FrameStatusCode,
      partialOffset: w[14]! - 1,
      partialNeeded: w[15]!,
    };
  }

  decodeFrom(bytes: Uint8Array): DecodeResult {
    this.reserve(bytes.byteLength);
    this.arena.set(bytes);
    return this.decode(bytes.byteLength);
  }

  decodeFirst(bytes: Uint8Array): FirstFrame {
    this.reserve(bytes.byteLength);
    this.arena.set(bytes);
    // codecReserve placed the result arrays: decoding never grows memory, the views stay valid.
    this.ex.codecDecode(bytes.byteLength, this.maxPayloadBytes);
    const w = this.words;
    const f = this.first;
    const n = w[10]!;
    f.count = n;
    f.partialNeeded = n === 0 ? w[15]! : 0;
    if (n === 0) {
      f.status = 0;
      f.type = f.flags = f.id = f.arg = f.payloadLength = 0;
    } else {
      // The result arrays are aligned to their element size (the views in `decode` rely on it too).
      f.id = this.mem64[w[3]! >>> 3]!;
      f.arg = this.mem32[w[5]! >>> 2]!;
      f.payloadLength = this.mem32[w[6]! >>> 2]!;
      f.flags = this.mem16[w[7]! >>> 1]!;
      f.type = this.mem8[w[8]!]!;
      f.status = this.mem8[w[9]!]! as FrameStatusCode;
    }
    return f;
  }

  crc32c(bytes: Uint8Array): number {
    this.reserve(bytes.byteLength);
    this.arena.set(bytes);
    return this.ex.codecCrc(bytes.byteLength) >>> 0;
  }

  encodeHeader(buf: Uint8Array, offset: number, header: FrameHeader): void {
    encodeFrameHeader(buf, offset, header);
  }
}

/**
 * A WASM-backed codec over a compiled Sluice module (own instance and memory).
 *
 * @example
 * ```ts
 * const codec = createWasmFrameCodecFrom(compileSluiceModule(), { maxPayloadBytes: 65536 });
 * ```
 */
export function createWasmFrameCodecFrom(module: WebAssembly.Module, options: FrameCodecOptions = {}): FrameCodec {
  return new WasmFrameCodec(module, options);
}

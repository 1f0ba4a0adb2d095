/**
 * Entry of `src/wasm/`: picks the WASM implementation of the hot path, or the pure-JS reference
 * when `WebAssembly` is missing, the module cannot be compiled/instantiated (e.g. workerd without
 * `provideWasmModule`), or env `SLUICE_WASM=0`.
 *
 * @example
 * ```ts
 * import { createFrameCodec, createLeaseTable, wasmMode } from "./wasm/mod.ts";
 * const table = createLeaseTable();
 * const codec = createFrameCodec({ maxPayloadBytes: 1 << 20 });
 * console.log(wasmMode()); // "wasm" or "js"
 * ```
 */
import type { FrameCodec, FrameCodecOptions } from "../protocol/frame-codec.ts";
import { createJsFrameCodec } from "../protocol/js-frame-codec.ts";
import { createJsLeaseTable } from "./js-lease-table.ts";
import type { LeaseTable, TokenLane } from "./lease-table.ts";
import { compileSluiceModule } from "./loader.ts";
import { createWasmFrameCodecFrom } from "./wasm-frame-codec.ts";
import { createWasmLeaseTableFrom } from "./wasm-lease-table.ts";

export type { DecodeResult, FirstFrame, FrameCodec, FrameCodecOptions, FrameHeader } from "../protocol/frame-codec.ts";
export { encodeFrameHeader, storeFrameHeader } from "../protocol/frame-codec.ts";
export { crc32c } from "../protocol/crc32c.ts";
export type { LeaseTable } from "./lease-table.ts";
export { LEASE_GENERATION_LIMIT, LEASE_SLOT_BITS, LEASE_SLOT_SPAN } from "./lease-table.ts";
export { createJsFrameCodec } from "../protocol/js-frame-codec.ts";
export { createJsLeaseTable } from "./js-lease-table.ts";

/** Options of `createLeaseTable` and friends. */
export interface LeaseTableOptions {
  /** Slots allocated up front (the table grows by doubling). Default 1024. */
  initialSlots?: number;
  /** The table's token lane (`nextTokenLane()`); default: a token space of its own. */
  lane?: TokenLane;
}

let provided: WebAssembly.Module | undefined;
let compiled: WebAssembly.Module | undefined;
let compileError: unknown;

/** True unless env `SLUICE_WASM` is "0"/"false"/"off"; env access may throw (Deno permissions). */
function wasmAllowed(): boolean {
  try {
    const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
    const value = env?.SLUICE_WASM?.trim().toLowerCase();
    return !(value === "0" || value === "false" || value === "off");
  } catch {
    return true;
  }
}

/** The compiled module (cached), or throws why there is none. */
function sluiceModule(): WebAssembly.Module {
  if (provided) return provided;
  if (compiled) return compiled;
  if (compileError !== undefined) throw compileError;
  try {
    if (typeof WebAssembly === "undefined") throw new Error("WebAssembly is not available");
    compiled = compileSluiceModule();
    return compiled;
  } catch (e) {
    compileError = e;
    throw e;
  }
}

/**
 * Supplies a precompiled module, for runtimes that forbid compiling WASM from bytes (workerd:
 * `import wasm from "../build/sluice.wasm"` with a CompiledWasm rule, then `provideWasmModule(wasm)`).
 *
 * @example
 * ```ts
 * provideWasmModule(sluiceWasm);
 * ```
 */
export function provideWasmModule(module: WebAssembly.Module): void {
  provided = module;
}

/**
 * Which implementation the `create*` selectors return right now.
 *
 * @example
 * ```ts
 * if (wasmMode() === "js") log.warn("WASM hot path disabled");
 * ```
 */
export function wasmMode(): "wasm" | "js" {
  if (!wasmAllowed()) return "js";
  try {
    sluiceModule();
    return "wasm";
  } catch {
    return "js";
  }
}

/**
 * A lease table: WASM when available and allowed, else the JS reference.
 *
 * @example
 * ```ts
 * const table = createLeaseTable({ initialSlots: 4096 });
 * ```
 */
export function createLeaseTable(options: LeaseTableOptions = {}): LeaseTable {
  if (wasmMode() === "wasm") {
    try {
      return createWasmLeaseTableFrom(sluiceModule(), options);
    } catch {
      // Instantiation failed (e.g. memory limits): the JS reference has the same behaviour.
    }
  }
  return createJsLeaseTable(options);
}

/**
 * A frame codec: WASM when available and allowed, else the JS reference. Option errors throw.
 *
 * @example
 * ```ts
 * const codec = createFrameCodec({ maxPayloadBytes: 256 * 1024 });
 * ```
 */
export function createFrameCodec(options: FrameCodecOptions = {}): FrameCodec {
  if (wasmMode() === "wasm") {
    let codec: FrameCodec | undefined;
    try {
      codec = createWasmFrameCodecFrom(sluiceModule(), options);
    } catch (e) {
      if (e instanceof RangeError && /maxPayloadBytes/.test(e.message)) throw e;
    }
    if (codec) return codec;
  }
  return createJsFrameCodec(options);
}

/**
 * The WASM lease table, ignoring `SLUICE_WASM` (tests, benchmarks); throws without WASM.
 *
 * @example
 * ```ts
 * const wasm = createWasmLeaseTable();
 * ```
 */
export function createWasmLeaseTable(options: LeaseTableOptions = {}): LeaseTable {
  return createWasmLeaseTableFrom(sluiceModule(), options);
}

/**
 * The WASM frame codec, ignoring `SLUICE_WASM` (tests, benchmarks); throws without WASM.
 *
 * @example
 * ```ts
 * const wasm = createWasmFrameCodec({ maxPayloadBytes: 4096 });
 * ```
 */
export function createWasmFrameCodec(options: FrameCodecOptions = {}): FrameCodec {
  return createWasmFrameCodecFrom(sluiceModule(), options);
}

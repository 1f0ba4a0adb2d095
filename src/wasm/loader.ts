/**
 * Compiles and instantiates the Sluice WASM module (assembly/, embedded in build/sluice-wasm.ts).
 *
 * Choice: synchronous `new WebAssembly.Module(bytes)` + `new WebAssembly.Instance`, from bytes
 * embedded as base64 in a plain ES module. It works unchanged on Bun, Deno and bundlers, needs no
 * file/network access, and lets `createLeaseTable()` stay synchronous; the module is ~4 KB, so a
 * sync compile is cheap. workerd (Cloudflare) forbids compiling WASM from bytes at runtime
 * altogether ("Wasm code generation disallowed by embedder"), so there the worker imports
 * `build/sluice.wasm` as a module (wrangler `CompiledWasm` rule) and hands it to
 * `provideWasmModule()`. Without it, compilation fails and `src/wasm/mod.ts` falls back to JS.
 * The module is compiled once; each codec or lease table gets its own instance and memory.
 *
 * @example
 * ```ts
 * const ex = instantiateSluice(compileSluiceModule());
 * ex.leaseSetup(...);
 * ```
 */
import { SLUICE_WASM_BASE64 } from "../../build/sluice-wasm.ts";

/** The module's exports (numbers only: no loader glue). */
export interface SluiceExports {
  readonly memory: WebAssembly.Memory;
  heapBase(): number;
  initCrcTables(at: number): void;
  codecSetup(layoutAt: number, arenaAt: number): void;
  codecReserve(minBytes: number): number;
  codecDecode(len: number, maxPayload: number): number;
  codecCrc(len: number): number;
  leaseSetup(scratchAt: number, scratchSlots: number, recordsAt: number, initialSlots: number, lane: number, lanes: number): number;
  leaseSize(): number;
  leaseAcquire(attempt: number, deadline: number): number;
  leaseAcquireMany(attempt: number, deadline: number, count: number): number;
  leaseIsActive(token: number): number;
  leaseAttemptOf(token: number): number;
  leaseDeadlineOf(token: number): number;
  leaseExtend(token: number, deadline: number): number;
  leaseRelease(token: number): number;
  leaseTake(token: number): number;
  leaseReleaseMany(count: number): number;
  leaseExpireUpTo(now: number, maxOut: number): number;
  leaseNextDeadline(): number;
  leaseSetGeneration(slot: number, generation: number): number;
  leaseOutPtr(): number;
}

/** Bytes reserved after `__heap_base` for the CRC tables (16 × 256 × u32). */
export const CRC_TABLE_BYTES = 16384;

/**
 * Decodes the embedded base64 module bytes: with `Uint8Array.fromBase64` where the runtime has
 * it (Bun, Deno), else `atob` (Bun, Deno, workerd and Node all have that). The native decoder
 * matters for memory, not time: the byte loop below runs often enough at start to be compiled by
 * the optimizing JIT, whose code pages count in the server's resident memory (issue 21).
 *
 * @example
 * ```ts
 * sluiceWasmBytes().byteLength; // ~3.7 KB
 * ```
 */
export function sluiceWasmBytes(): Uint8Array {
  const native = (Uint8Array as { fromBase64?: (text: string) => Uint8Array }).fromBase64;
  if (typeof native === "function") return native(SLUICE_WASM_BASE64);
  const text = atob(SLUICE_WASM_BASE64);
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return bytes;
}

/**
 * Compiles the module synchronously; throws where WASM is missing or code generation is blocked.
 *
 * @example
 * ```ts
 * const module = compileSluiceModule();
 * ```
 */
export function compileSluiceModule(): WebAssembly.Module {
  return new WebAssembly.Module(sluiceWasmBytes() as Uint8Array<ArrayBuffer>);
}

/**
 * A fresh instance (own memory) with at least `minBytes` of memory; returns its exports.
 *
 * @example
 * ```ts
 * const ex = instantiateSluice(module, 65536);
 * ```
 */
export function instantiateSluice(module: WebAssembly.Module, minBytes = 0): SluiceExports {
  const ex = new WebAssembly.Instance(module, {}).exports as unknown as SluiceExports;
  const have = ex.memory.buffer.byteLength;
  if (minBytes > have) ex.memory.grow(Math.ceil((minBytes - have) / 65536));
  return ex;
}

/**
 * First 16-aligned free address after the module's static data.
 *
 * @example
 * ```ts
 * const base = alignedHeapBase(ex);
 * ```
 */
export function alignedHeapBase(ex: SluiceExports): number {
  return (ex.heapBase() + 15) & ~15;
}

/**
 * `LeaseTable` backed by the WASM module (`assembly/leases.ts`). Single operations are one call
 * each; `acquireMany`/`releaseMany`/`expireUpTo` move tokens through a scratch area in WASM
 * memory so a whole batch costs one boundary crossing plus one typed-array copy.
 *
 * @example
 * ```ts
 * const table = createWasmLeaseTableFrom(compileSluiceModule());
 * const token = table.acquire(1, now + 30_000);
 * ```
 */
import { CRC_TABLE_BYTES, type SluiceExports, alignedHeapBase, instantiateSluice } from "./loader.ts";
import { type LeaseTable, SINGLE_LANE, type TokenLane, tokenSlot } from "./lease-table.ts";

/** Tokens per batch crossing (64 KiB of f64). */
const SCRATCH_SLOTS = 8192;

class WasmLeaseTable implements LeaseTable {
  private readonly ex: SluiceExports;
  private readonly scratchAt: number;
  private scratch = new Float64Array(0);

  constructor(module: WebAssembly.Module, initialSlots: number, lane: TokenLane = SINGLE_LANE) {
    const ex = instantiateSluice(module);
    // Layout after static data: [CRC tables (unused here)][scratch][records...]; keeping the CRC
    // gap makes both instance kinds share one address plan.
    this.scratchAt = alignedHeapBase(ex) + CRC_TABLE_BYTES;
    const recordsAt = this.scratchAt + SCRATCH_SLOTS * 8;
    const have = ex.memory.buffer.byteLength;
    if (recordsAt > have) ex.memory.grow(Math.ceil((recordsAt - have) / 65536));
    if (ex.leaseSetup(this.scratchAt, SCRATCH_SLOTS, recordsAt, initialSlots, lane.index, lane.count) === 0) {
      throw new RangeError(`cannot allocate WASM memory for ${initialSlots} lease slots`);
    }
    this.ex = ex;
  }

  /** Scratch view; re-created after memory growth detached the previous buffer. */
  private view(): Float64Array {
    if (this.scratch.buffer !== this.ex.memory.buffer) {
      this.scratch = new Float64Array(this.ex.memory.buffer as ArrayBuffer, this.scratchAt, SCRATCH_SLOTS);
    }
    return this.scratch;
  }

  get size(): number {
    return this.ex.leaseSize();
  }

  acquire(attempt: number, deadline: number): number {
    const token = this.ex.leaseAcquire(attempt, deadline);
    if (token === 0) throw new RangeError("lease table is full (2^24 live leases or no memory)");
    return token;
  }

  acquireMany(attempt: number, deadline: number, count: number, out: Float64Array): number {
    const want = Math.min(count, out.length);
    let done = 0;
    while (done < want) {
      const chunk = Math.min(want - done, SCRATCH_SLOTS);
      const n = this.ex.leaseAcquireMany(attempt, deadline, chunk);
      out.set(this.view().subarray(0, n), done);
      done += n;
      if (n < chunk) throw new RangeError("lease table is full (2^24 live leases or no memory)");
    }
    return done;
  }

  isActive(token: number): boolean {
    return this.ex.leaseIsActive(token) !== 0;
  }

  slotOf(token: number): number {
    return tokenSlot(token);
  }

  attemptOf(token: number): number {
    return this.ex.leaseAttemptOf(token);
  }

  deadlineOf(token: number): number {
    return this.ex.leaseDeadlineOf(token);
  }

  extend(token: number, deadline: number): boolean {
    return this.ex.leaseExtend(token, deadline) !== 0;
  }

  release(token: number): boolean {
    return this.ex.leaseRelease(token) !== 0;
  }

  take(token: number): number {
    return this.ex.leaseTake(token);
  }

  releaseMany(tokens: Float64Array, count: number): number {
    const want = Math.min(count, tokens.length);
    let released = 0;
    for (let done = 0; done < want; done += SCRATCH_SLOTS) {
      const chunk = Math.min(want - done, SCRATCH_SLOTS);
      this.view().set(tokens.subarray(done, done + chunk));
      released += this.ex.leaseReleaseMany(chunk);
    }
    return released;
  }

  expireUpTo(now: number, out: Float64Array): number {
    const n = this.ex.leaseExpireUpTo(now, out.length);
    if (n > 0) out.set(new Float64Array(this.ex.memory.buffer, this.ex.leaseOutPtr(), n));
    return n;
  }

  nextDeadline(): number {
    return this.ex.leaseNextDeadline();
  }

  setGenerationForTest(slot: number, generation: number): boolean {
    return this.ex.leaseSetGeneration(slot, generation) !== 0;
  }
}

/**
 * A WASM-backed lease table over a compiled Sluice module (own instance and memory).
 *
 * @example
 * ```ts
 * const table = createWasmLeaseTableFrom(compileSluiceModule(), { initialSlots: 4096 });
 * ```
 */
export function createWasmLeaseTableFrom(module: WebAssembly.Module, options: { initialSlots?: number; lane?: TokenLane } = {}): LeaseTable {
  return new WasmLeaseTable(module, options.initialSlots ?? 1024, options.lane);
}

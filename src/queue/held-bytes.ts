import type { QueueItem } from "./item.ts";
import type { MemoryBudget } from "./memory-budget.ts";

/**
 * The payload bytes one queue holds in memory (ready, delayed, in flight), against its own
 * `maxBytes` and the server's shared `MemoryBudget` (internal).
 *
 * @example
 * ```ts
 * const held = new HeldBytes(64 << 20, budget, (p: Uint8Array) => p.byteLength);
 * const size = held.sizeOf(payload);
 * if (held.fits(size)) held.take(item, size); // …and held.give(item) when it leaves
 * ```
 */
export class HeldBytes<T> {
  #held = 0;

  constructor(
    private maxBytes: number,
    private readonly budget: MemoryBudget | undefined,
    readonly sizeOf: (payload: T) => number,
  ) {}

  /** A new `maxBytes` (a queue reconfigured live): nothing held is dropped, only what fits next changes. */
  resize(maxBytes: number): void {
    this.maxBytes = maxBytes;
  }

  /** Bytes held now. */
  get held(): number {
    return this.#held;
  }

  /** True when `size` more bytes fit this queue's `maxBytes` and the shared budget (always when this queue holds none). */
  fits(size: number): boolean {
    if (this.#held === 0) return true;
    return this.#held + size <= this.maxBytes && (this.budget?.fits(size) ?? true);
  }

  /** Bytes that still fit this queue's `maxBytes` and the shared budget (what a page-in may read). */
  room(): number {
    const own = this.maxBytes - this.#held;
    const shared = this.budget === undefined ? own : this.budget.limitBytes - this.budget.used;
    return Math.max(0, Math.min(own, shared));
  }

  /** Counts `item` (of `size` bytes) as held, fitting or not. */
  take(item: QueueItem<T>, size: number = this.sizeOf(item.payload)): void {
    item.bytes = size;
    this.#held += size;
    this.budget?.take(size);
  }

  /** `item` left memory. */
  give(item: QueueItem<T>): void {
    this.#held -= item.bytes;
    this.budget?.give(item.bytes);
    item.bytes = 0;
  }
}

/**
 * The default size of a payload: its bytes for binary data, two bytes a code unit for strings,
 * nothing for anything else (pass `sizeOf` to count it).
 *
 * @example
 * ```ts
 * defaultSizeOf(new Uint8Array(10)); // 10
 * ```
 */
export function defaultSizeOf(payload: unknown): number {
  if (payload instanceof Uint8Array) return payload.byteLength;
  if (typeof payload === "string") return payload.length * 2;
  if (payload instanceof ArrayBuffer) return payload.byteLength;
  return 0;
}

/**
 * The queue's port to a durable store: what a `SafeTaskQueue` tells its journal about every
 * change, and what it reads back at start-up and as its memory window drains. `src/store/`
 * implements it over SQL; the queue knows nothing of SQL, files or runtimes.
 *
 * @module
 */
import type { SluiceError } from "../result/errors.ts";
import type { Result } from "../result/result.ts";
import type { QueueItem } from "./item.ts";

/**
 * Which budget ended an item in the poison queue: explicit failures (`maxRetries`), stalls
 * (`maxStalls`: expiry, disconnect, crash), or a `fail(…, { requeue: false })` / `moveToPoison`.
 *
 * @example
 * ```ts
 * if (entry.exhausted === "stalls") console.log("it kept crashing or timing out its consumers");
 * ```
 */
export type PoisonExhausted = "failures" | "stalls" | "rejected";

/**
 * An item as the store holds it between deliveries: the item and when it may be delivered.
 *
 * @example
 * ```ts
 * for (const { item, notBefore } of journal.page(cursor, 256, 1 << 20)) ready(item, notBefore);
 * ```
 */
export interface StoredItem<T> {
  readonly item: QueueItem<T>;
  /** Clock ms before which it must not be delivered (a requeue delay); 0 = now. */
  readonly notBefore: number;
}

/**
 * A poison entry as the store holds it.
 *
 * @example
 * ```ts
 * const { item, error, exhausted } = loaded.poison[0];
 * ```
 */
export interface StoredPoison<T> {
  readonly item: QueueItem<T>;
  readonly error: SluiceError;
  readonly attempts: number;
  readonly poisonedAt: number;
  readonly exhausted: PoisonExhausted;
}

/**
 * What a journal holds for a queue at start-up (after `recover`), without its items: those are
 * paged in with `page`.
 *
 * @example
 * ```ts
 * const state = journal.load();
 * console.log(`${state.items} stored item(s), last sequence ${state.lastSequence}`);
 * ```
 */
export interface JournalState<T> {
  /** Items stored (ready, delayed or leased before a crash), not counting poison entries. */
  readonly items: number;
  /** The highest sequence id ever issued, so ids are never reused. */
  readonly lastSequence: number;
  readonly poison: readonly StoredPoison<T>[];
  /** Idempotency keys of stored items, for the queue's own key dedup. */
  readonly keys: readonly (readonly [string, number])[];
}

/**
 * The queue's durable journal. Every method that records a change is synchronous and cheap: it
 * only marks the item dirty; the journal writes all changes of a commit window in one
 * transaction. `afterCommit` runs a callback once everything recorded so far is committed (with
 * the commit's result), which is how receipts wait for durability.
 *
 * @example
 * ```ts
 * const queue = SafeTaskQueue.create<Uint8Array>({ name: "jobs", journal: store.queue("jobs", bytesCodec) });
 * ```
 */
export interface QueueJournal<T> {
  /** Items that were leased when the process died, oldest first; they are still marked leased. */
  recover(): QueueItem<T>[];
  /** Counts, sequence and poison entries, once recovery's changes are recorded. */
  load(): JournalState<T>;
  /** Up to `maxItems` stored items after sequence `afterSequence`, in order, stopping past `maxBytes`. */
  page(afterSequence: number, maxItems: number, maxBytes: number): StoredItem<T>[];
  /** A new item (whether it also stays in memory is the queue's business). */
  added(item: QueueItem<T>): void;
  /** An item's delivery state changed: leased, or back to waiting until `notBefore`. */
  changed(item: QueueItem<T>, leased: boolean, notBefore: number): void;
  /** Acked: the item is gone. */
  removed(item: QueueItem<T>): void;
  /** Moved to the poison queue. */
  poisoned(entry: StoredPoison<T>): void;
  /** Taken out of the poison queue, back to waiting. */
  replayed(item: QueueItem<T>): void;
  /** Dropped from the poison queue for good. */
  purged(item: QueueItem<T>): void;
  /** Bytes the payload takes (the memory window counts them). */
  sizeOf(payload: T): number;
  /** True while changes are recorded but not yet committed. */
  readonly dirty: boolean;
  /** Runs `done` once every change recorded so far is committed (at once when none is pending). */
  afterCommit(done: (committed: Result<void>) => void): void;
  /** Set while the store cannot write (disk full, I/O error): producers get `unavailable`. */
  readonly failure: SluiceError | undefined;
}

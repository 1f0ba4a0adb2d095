import type { SluiceError } from "../result/errors.ts";
import type { AttemptRecord, QueueItem } from "./item.ts";
import type { PoisonExhausted, StoredPoison } from "./journal.ts";

/**
 * What the poison queue keeps of an item.
 *
 * @example
 * ```ts
 * const entry: PoisonEntry<Uint8Array> = queue.poison.list()[0];
 * ```
 */
export interface PoisonEntry<T> {
  readonly sequenceId: number;
  readonly payload: T;
  readonly lastError: SluiceError;
  /** Delivery attempts in the round that poisoned it. */
  readonly attempts: number;
  /** Every failed delivery, across replays, oldest first. */
  readonly history: readonly AttemptRecord[];
  readonly enqueuedAt: number;
  readonly poisonedAt: number;
  /** Which budget ran out: "failures" (`maxRetries`), "stalls" (`maxStalls`) or "rejected" (`requeue: false`). */
  readonly exhausted: PoisonExhausted;
}

/**
 * The dead-letter queue of a `SafeTaskQueue`. Items land here after their last
 * allowed attempt, on `fail(…, { requeue: false })` or `moveToPoison`, with their last error and
 * the history of their failed deliveries and which budget ran out. `replay` puts them back
 * (attempt 1 again, both budgets reset, history kept). With a journal, every change is stored.
 *
 * @example
 * ```ts
 * for (const entry of queue.poison.list()) console.log(entry.sequenceId, entry.lastError.code);
 * queue.poison.replay([42]);  // deliver item 42 again
 * queue.poison.purge();       // drop the rest
 * ```
 */
export class PoisonQueue<T> {
  readonly #entries = new Map<number, StoredPoison<T>>();

  constructor(
    readonly name: string,
    private readonly putBack: (item: QueueItem<T>) => void,
    private readonly onPurge: (item: QueueItem<T>) => void = () => {},
  ) {}

  get size(): number {
    return this.#entries.size;
  }

  /** Adds an item (called by the queue, also when it reloads its store); returns the entry. */
  add(item: QueueItem<T>, error: SluiceError, now: number, exhausted: PoisonExhausted, attempts = item.attempts): StoredPoison<T> {
    const entry: StoredPoison<T> = { item, poisonedAt: now, error, attempts, exhausted };
    this.#entries.set(item.sequenceId, entry);
    return entry;
  }

  /** Every entry, oldest poisoned first. */
  list(): PoisonEntry<T>[] {
    return [...this.#entries.values()].map(({ item, poisonedAt, error, attempts, exhausted }) => ({
      sequenceId: item.sequenceId,
      payload: item.payload,
      lastError: error,
      attempts,
      history: item.history ?? [],
      enqueuedAt: item.enqueuedAt,
      poisonedAt,
      exhausted,
    }));
  }

  /** Puts entries (all, or those with the given sequence ids) back into the queue. Returns how many. */
  replay(ids?: readonly number[]): number {
    const taken = this.#take(ids);
    for (const item of taken) {
      item.attempts = 0;
      item.failures = 0;
      item.stalls = 0;
      this.putBack(item);
    }
    return taken.length;
  }

  /** Drops entries (all, or those with the given sequence ids) for good. Returns how many. */
  purge(ids?: readonly number[]): number {
    const taken = this.#take(ids);
    for (const item of taken) this.onPurge(item);
    return taken.length;
  }

  #take(ids?: readonly number[]): QueueItem<T>[] {
    const keys = ids ?? [...this.#entries.keys()];
    const taken: QueueItem<T>[] = [];
    for (const id of keys) {
      const entry = this.#entries.get(id);
      if (entry === undefined) continue;
      this.#entries.delete(id);
      taken.push(entry.item);
    }
    return taken;
  }
}

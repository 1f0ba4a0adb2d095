import type { SluiceError } from "../result/errors.ts";
import type { AttemptRecord, QueueItem } from "./item.ts";

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
}

/**
 * The dead-letter queue of a `SafeTaskQueue`. Items land here after their last
 * allowed attempt, on `fail(…, { requeue: false })` or `moveToPoison`, with their last error and
 * the history of their failed deliveries. `replay` puts them back (attempt 1 again, history kept).
 *
 * @example
 * ```ts
 * for (const entry of queue.poison.list()) console.log(entry.sequenceId, entry.lastError.code);
 * queue.poison.replay([42]);  // deliver item 42 again
 * queue.poison.purge();       // drop the rest
 * ```
 */
export class PoisonQueue<T> {
  readonly #entries = new Map<number, { item: QueueItem<T>; poisonedAt: number; error: SluiceError; attempts: number }>();

  constructor(
    readonly name: string,
    private readonly putBack: (item: QueueItem<T>) => void,
    private readonly onChange: () => void = () => {},
  ) {}

  get size(): number {
    return this.#entries.size;
  }

  /** Adds an item (called by the queue). */
  add(item: QueueItem<T>, error: SluiceError, now: number): void {
    this.#entries.set(item.sequenceId, { item, poisonedAt: now, error, attempts: item.attempts });
    this.onChange();
  }

  /** Every entry, oldest poisoned first. */
  list(): PoisonEntry<T>[] {
    return [...this.#entries.values()].map(({ item, poisonedAt, error, attempts }) => ({
      sequenceId: item.sequenceId,
      payload: item.payload,
      lastError: error,
      attempts,
      history: item.history ?? [],
      enqueuedAt: item.enqueuedAt,
      poisonedAt,
    }));
  }

  /** Puts entries (all, or those with the given sequence ids) back into the queue. Returns how many. */
  replay(ids?: readonly number[]): number {
    const taken = this.#take(ids);
    for (const item of taken) {
      item.attempts = 0;
      this.putBack(item);
    }
    if (taken.length > 0) this.onChange();
    return taken.length;
  }

  /** Drops entries (all, or those with the given sequence ids) for good. Returns how many. */
  purge(ids?: readonly number[]): number {
    const taken = this.#take(ids);
    if (taken.length > 0) this.onChange();
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

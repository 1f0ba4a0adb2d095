import type { Result } from "../result/result.ts";
import { ok } from "../result/result.ts";
import { Fifo } from "./fifo.ts";
import type { QueueItem } from "./item.ts";
import type { Lease } from "./lease.ts";
import { type WaiterHandle, Waiters } from "./waiters.ts";

/**
 * The items ready for delivery and the consumers waiting for one (internal to `SafeTaskQueue`).
 *
 * Two lines, for crash attribution: ordinary items, and *suspects* — items that were in the hands
 * of a consumer that vanished while holding several leases. Nobody knows which of them killed it,
 * so none is charged a stall; instead each suspect goes only to a consumer that holds nothing
 * else ("free"), alone, so that if it kills that consumer too, the stall is charged to it and to
 * nobody else. Consumers waiting while they hold other leases ("busy") get ordinary items only.
 *
 * @example
 * ```ts
 * const line = new ReadyLine<string>();
 * line.offer(item, start);            // to the oldest fitting waiter, or queued
 * const next = line.take(true);       // a free consumer: a suspect first, else the next item
 * line.park(onLease, signal, false);  // a busy consumer waits for an ordinary item
 * ```
 */
export class ReadyLine<T> {
  readonly #items = new Fifo<QueueItem<T>>(64);
  readonly #suspects = new Fifo<QueueItem<T>>();
  readonly #busy = new Waiters<Lease<T>>();
  readonly #free = new Waiters<Lease<T>>();

  /** Items ready (ordinary and suspects). */
  get length(): number {
    return this.#items.length + this.#suspects.length;
  }

  /** Hands `item` to the oldest waiter that may take it (`start` turns it into its lease), or queues it. */
  offer(item: QueueItem<T>, start: (item: QueueItem<T>) => Lease<T>): void {
    if (this.#busy.size === 0 && this.#free.size === 0) return this.push(item); // nobody waits: the usual case under load
    if (item.suspect) {
      if (this.#free.size > 0) this.#free.serve(ok(start(item)));
      else this.#suspects.push(item);
    } else if (this.#busy.size > 0) this.#busy.serve(ok(start(item)));
    else if (this.#free.size > 0) this.#free.serve(ok(start(item)));
    else this.#items.push(item);
  }

  /** Queues `item` without serving anyone (the queue is not open). */
  push(item: QueueItem<T>): void {
    (item.suspect ? this.#suspects : this.#items).push(item);
  }

  /** The next item for a consumer; only a `free` one (holding nothing) gets suspects, and them first. */
  take(free: boolean): QueueItem<T> | undefined {
    if (free && this.#suspects.length > 0) return this.#suspects.shift();
    return this.#items.shift();
  }

  /** Waits for a lease (see `Waiters.park`); `free`: this consumer holds nothing else. */
  park(onLease: (leased: Result<Lease<T>>) => void, signal: AbortSignal | undefined, free: boolean): WaiterHandle | undefined {
    return (free ? this.#free : this.#busy).park(onLease, signal);
  }

  /** Takes a busy waiter out of its line (its consumer holds nothing now and will wait as free); false if it was served. */
  withdrawBusy(handle: WaiterHandle): boolean {
    return this.#busy.withdraw(handle);
  }

  /** Ends every wait with `result` (close, drain). */
  failAll(result: Result<never>): void {
    this.#busy.failAll(result);
    this.#free.failAll(result);
  }
}

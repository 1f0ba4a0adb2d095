import { canceledError } from "../result/errors.ts";
import { err, type Result } from "../result/result.ts";

interface Waiter<T> {
  resolve(result: Result<T>): void;
  group: SignalGroup<T> | undefined;
}

interface SignalGroup<T> {
  readonly members: Set<Waiter<T>>;
}

/**
 * Callers parked until something is available (a lease, room in the queue),
 * served first-come first-served. A waiter whose signal aborts leaves the line with `canceled`.
 *
 * Waiters that share a signal share one abort listener: a pump parks all its workers on the same
 * signal, and `addEventListener` scans the existing listeners, so one listener per waiter would
 * make parking N workers cost O(N²).
 *
 * @example
 * ```ts
 * const waiting = waiters.wait(signal);   // Promise<Result<T>>
 * waiters.serve(ok(value));               // wakes the oldest waiter; false if none
 * waiters.failAll(err("queue.closed", "closed"));
 * ```
 */
export class Waiters<T> {
  readonly #line = new Set<Waiter<T>>();
  // Weak, and a group keeps its listener while it lives: a consumer that waits, is served and waits
  // again on the same signal costs no add/removeEventListener per wait, and a signal that is
  // dropped unaborted takes its group (and listener) with it.
  readonly #groups = new WeakMap<AbortSignal, SignalGroup<T>>();

  get size(): number {
    return this.#line.size;
  }

  wait(signal?: AbortSignal): Promise<Result<T>> {
    if (signal?.aborted) return Promise.resolve(err(canceledError(signal)));
    return new Promise((resolve) => {
      const waiter: Waiter<T> = { resolve, group: signal === undefined ? undefined : this.#join(signal) };
      waiter.group?.members.add(waiter);
      this.#line.add(waiter);
    });
  }

  /** Hands `result` to the oldest waiter. Returns false when nobody waits. */
  serve(result: Result<T>): boolean {
    if (this.#line.size === 0) return false; // hot path: no iterator allocated
    for (const waiter of this.#line) {
      this.#leave(waiter);
      waiter.resolve(result);
      return true;
    }
    return false;
  }

  /** Wakes every waiter with the same result. */
  failAll(result: Result<T>): void {
    if (this.#line.size === 0) return;
    const all = [...this.#line];
    for (const waiter of all) {
      this.#leave(waiter);
      waiter.resolve(result);
    }
  }

  #join(signal: AbortSignal): SignalGroup<T> {
    let group = this.#groups.get(signal);
    if (group === undefined) {
      const members = new Set<Waiter<T>>();
      const onAbort = () => {
        this.#groups.delete(signal);
        const canceled = err(canceledError(signal));
        for (const waiter of members) {
          this.#line.delete(waiter);
          waiter.resolve(canceled);
        }
        members.clear();
      };
      group = { members };
      this.#groups.set(signal, group);
      signal.addEventListener("abort", onAbort, { once: true });
    }
    return group;
  }

  #leave(waiter: Waiter<T>): void {
    this.#line.delete(waiter);
    const group = waiter.group;
    if (group === undefined) return;
    group.members.delete(waiter);
  }
}

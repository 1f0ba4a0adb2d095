/**
 * `Waiters<T>`: callers parked until something is available (a lease, room in the queue),
 * served first-come first-served. A waiter whose signal aborts leaves the line with `canceled`.
 *
 * @example
 * ```ts
 * const waiting = waiters.wait(signal);   // Promise<Result<T>>
 * waiters.serve(ok(value));               // wakes the oldest waiter; false if none
 * waiters.failAll(err("queue.closed", "closed"));
 * ```
 */
import { canceledError } from "../result/errors.ts";
import { err, type Result } from "../result/result.ts";

interface Waiter<T> {
  resolve(result: Result<T>): void;
  off(): void;
}

export class Waiters<T> {
  #line = new Set<Waiter<T>>();

  get size(): number {
    return this.#line.size;
  }

  wait(signal?: AbortSignal): Promise<Result<T>> {
    if (signal?.aborted) return Promise.resolve(err(canceledError(signal)));
    return new Promise((resolve) => {
      const onAbort = () => {
        this.#line.delete(waiter);
        resolve(err(canceledError(signal)));
      };
      const waiter: Waiter<T> = {
        resolve,
        off: () => signal?.removeEventListener("abort", onAbort),
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#line.add(waiter);
    });
  }

  /** Hands `result` to the oldest waiter. Returns false when nobody waits. */
  serve(result: Result<T>): boolean {
    if (this.#line.size === 0) return false; // hot path: no iterator allocated
    for (const waiter of this.#line) {
      this.#line.delete(waiter);
      waiter.off();
      waiter.resolve(result);
      return true;
    }
    return false;
  }

  /** Wakes every waiter with the same result. */
  failAll(result: Result<T>): void {
    if (this.#line.size === 0) return;
    const all = [...this.#line];
    this.#line.clear();
    for (const waiter of all) {
      waiter.off();
      waiter.resolve(result);
    }
  }
}

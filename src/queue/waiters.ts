import { canceledError } from "../result/errors.ts";
import { err, ok, type Result } from "../result/result.ts";
import type { Clock } from "../result/clock.ts";

interface Waiter<T> {
  resolve: ((result: Result<T>) => void) | undefined;
  group: SignalGroup<T> | undefined;
  prev: Waiter<T> | undefined;
  next: Waiter<T> | undefined;
  groupPrev: Waiter<T> | undefined;
  groupNext: Waiter<T> | undefined;
}

interface SignalGroup<T> {
  head: Waiter<T> | undefined;
}

/**
 * Callers parked until something is available (a lease, room in the queue),
 * served first-come first-served. A waiter whose signal aborts leaves the line with `canceled`.
 *
 * Waiters that share a signal share one abort listener: a pump parks all its workers on the same
 * signal, and `addEventListener` scans the existing listeners, so one listener per waiter would
 * make parking N workers cost O(N²).
 *
 * The line and each signal's group are intrusive doubly linked lists through the waiter nodes:
 * joining and leaving cost no Set or Map operation. Under load a consumer parks and is served
 * once per message, and hash-set churn there was a large share of the young-generation
 * collector's work (bench/HISTORY.md, issue 7).
 *
 * @example
 * ```ts
 * const waiting = waiters.wait(signal);   // Promise<Result<T>>
 * waiters.serve(ok(value));               // wakes the oldest waiter; false if none
 * waiters.failAll(err("queue.closed", "closed"));
 * ```
 */
/**
 * A parked waiter, as `Waiters.park` returns it: only good for `withdraw`.
 *
 * @example
 * ```ts
 * const handle = waiters.park(onServed, signal);
 * if (handle !== undefined) waiters.withdraw(handle);
 * ```
 */
export type WaiterHandle = object;

export class Waiters<T> {
  #head: Waiter<T> | undefined;
  #tail: Waiter<T> | undefined;
  #size = 0;
  // Weak, and a group keeps its listener while it lives: a consumer that waits, is served and waits
  // again on the same signal costs no add/removeEventListener per wait, and a signal that is
  // dropped unaborted takes its group (and listener) with it.
  readonly #groups = new WeakMap<AbortSignal, SignalGroup<T>>();

  get size(): number {
    return this.#size;
  }

  wait(signal?: AbortSignal): Promise<Result<T>> {
    if (signal?.aborted) return Promise.resolve(err(canceledError(signal)));
    return new Promise((resolve) => this.park(resolve, signal));
  }

  /**
   * The callback form of `wait`, for hot paths that park once per message: no promise. `onServed`
   * runs exactly once — synchronously inside `serve` / `failAll` / the abort, or right here when
   * `signal` is already aborted.
   */
  park(onServed: (result: Result<T>) => void, signal?: AbortSignal): WaiterHandle | undefined {
    if (signal?.aborted) return void onServed(err(canceledError(signal)));
    const waiter: Waiter<T> = { resolve: onServed, group: undefined, prev: this.#tail, next: undefined, groupPrev: undefined, groupNext: undefined };
    if (this.#tail === undefined) this.#head = waiter;
    else this.#tail.next = waiter;
    this.#tail = waiter;
    this.#size++;
    if (signal !== undefined) {
      const group = this.#join(signal);
      waiter.group = group;
      waiter.groupNext = group.head;
      if (group.head !== undefined) group.head.groupPrev = waiter;
      group.head = waiter;
    }
    return waiter;
  }

  /**
   * Takes a waiter parked by `park` out of the line without serving it (it is to wait elsewhere).
   * False when it was served (or withdrawn) already.
   */
  withdraw(handle: WaiterHandle): boolean {
    const waiter = handle as Waiter<T>;
    if (waiter.resolve === undefined) return false;
    this.#unlink(waiter);
    return true;
  }

  serve(result: Result<T>): boolean {
    const waiter = this.#head;
    if (waiter === undefined) return false;
    this.#settle(waiter, result);
    return true;
  }

  failAll(result: Result<T>): void {
    while (this.#head !== undefined) this.#settle(this.#head, result);
  }

  #join(signal: AbortSignal): SignalGroup<T> {
    return this.#groups.get(signal) ?? this.#newGroup(signal);
  }

  // Apart from `#join`: its closure would otherwise cost every park a scope object.
  #newGroup(signal: AbortSignal): SignalGroup<T> {
    const members: SignalGroup<T> = { head: undefined };
    const onAbort = () => {
      this.#groups.delete(signal);
      const canceled = err(canceledError(signal));
      while (members.head !== undefined) this.#settle(members.head, canceled);
    };
    this.#groups.set(signal, members);
    signal.addEventListener("abort", onAbort, { once: true });
    return members;
  }

  // Unlinks the waiter from the line and from its signal's group, then resolves it (once).
  #settle(waiter: Waiter<T>, result: Result<T>): void {
    const resolve = waiter.resolve!;
    this.#unlink(waiter);
    resolve(result);
  }

  #unlink(waiter: Waiter<T>): void {
    if (waiter.prev === undefined) this.#head = waiter.next;
    else waiter.prev.next = waiter.next;
    if (waiter.next === undefined) this.#tail = waiter.prev;
    else waiter.next.prev = waiter.prev;
    this.#size--;
    const group = waiter.group;
    if (group !== undefined) {
      if (waiter.groupPrev === undefined) group.head = waiter.groupNext;
      else waiter.groupPrev.groupNext = waiter.groupNext;
      if (waiter.groupNext !== undefined) waiter.groupNext.groupPrev = waiter.groupPrev;
    }
    waiter.resolve = waiter.group = waiter.prev = waiter.next = waiter.groupPrev = waiter.groupNext = undefined;
  }
}

/**
 * Waits until `idle` is served (everything in flight ended) or `deadlineMs` passes on `clock`,
 * whichever comes first; `canceled` if `signal` aborts first. How both backends' `drain` waits.
 *
 * @example
 * ```ts
 * const idle = await idleOrDeadline(idleWaiters, clock, 5000, signal);
 * ```
 */
export async function idleOrDeadline(idle: Waiters<void>, clock: Clock, deadlineMs: number, signal?: AbortSignal): Promise<Result<void>> {
  const timer = clock.setTimeout(() => idle.failAll(ok()), deadlineMs);
  const waited = await idle.wait(signal);
  clock.clearTimeout(timer);
  return waited;
}


import type { SluiceError } from "../result/errors.ts";
import { err, ok, type Result } from "../result/result.ts";
import { Waiters } from "../queue/waiters.ts";

/**
 * Requests waiting for the server's answer, by frame id, with a bounded window:
 * `reserve()` waits while `limit` requests are outstanding, so a producer never has more than
 * its window of unanswered publishes in flight.
 *
 * @example
 * ```ts
 * await replies.reserve(signal);
 * const answer = replies.expect(id);  // Promise<Result<T>>
 * replies.settle(id, ok(receipt));     // when the RECEIPT arrives
 * ```
 */
export class Replies<T> {
  readonly #limit: number;
  readonly #pending = new Map<number, (result: Result<T>) => void>();
  readonly #room = new Waiters<void>();
  /** `through` waits: until no request with id ≤ `last` is pending, counting the failures among them. */
  readonly #through: { last: number; failed: number; first: SluiceError | undefined; resolve: (r: Result<void>) => void }[] = [];
  /** Slots taken by `reserve` whose request is not registered yet (it may still be connecting). */
  #reserved = 0;

  constructor(limit: number) {
    this.#limit = limit;
  }

  get size(): number {
    return this.#pending.size;
  }

  /** Waits until fewer than `limit` requests are outstanding, then takes a slot (`expect` or `release` it). */
  async reserve(signal?: AbortSignal): Promise<Result<void>> {
    while (this.#pending.size + this.#reserved >= this.#limit) {
      const room = await this.#room.wait(signal);
      if (!room.ok) return room;
    }
    this.#reserved++;
    return ok();
  }

  /**
   * Takes a slot now if one is free and no earlier `reserve` is waiting or holds a slot (so
   * requests keep their order); false otherwise (then use `reserve`).
   */
  tryReserve(): boolean {
    if (this.#reserved > 0 || this.#room.size > 0 || this.#pending.size >= this.#limit) return false;
    this.#reserved++;
    return true;
  }

  /** Gives back a reserved slot that will not be used (the send failed before it was made). */
  release(): void {
    this.#reserved--;
    this.#room.serve(ok());
  }

  /** Registers request `id` in a reserved slot; the promise settles with its answer. */
  expect(id: number): Promise<Result<T>> {
    this.#reserved--;
    return new Promise((resolve) => this.#pending.set(id, resolve));
  }

  /** Answers request `id` (ignored when unknown, e.g. already failed). */
  settle(id: number, result: Result<T>): boolean {
    const resolve = this.#pending.get(id);
    if (resolve === undefined) return false;
    this.#pending.delete(id);
    resolve(result);
    this.#room.serve(ok());
    if (this.#through.length > 0) this.#answered(id, result.ok ? undefined : result.error);
    return true;
  }

  /**
   * Resolves once every request registered with an id ≤ `last` has its answer: `ok`, or the
   * first failure among them with `metadata.failed` (how many failed). Ids grow as requests are
   * registered, so this is "everything sent before now".
   */
  through(last: number): Promise<Result<void>> {
    if (this.#lowest() > last) return Promise.resolve(ok());
    return new Promise((resolve) => this.#through.push({ last, failed: 0, first: undefined, resolve }));
  }

  // The lowest id still pending (ids are registered in increasing order; Maps keep that order).
  #lowest(): number {
    for (const id of this.#pending.keys()) return id;
    return Number.POSITIVE_INFINITY;
  }

  #answered(id: number, error: SluiceError | undefined): void {
    const lowest = this.#lowest();
    for (let i = 0; i < this.#through.length; i++) {
      const waiter = this.#through[i]!;
      if (error !== undefined && id <= waiter.last) {
        waiter.failed++;
        waiter.first ??= error;
      }
      if (lowest <= waiter.last) continue;
      this.#through.splice(i--, 1);
      const { first, failed } = waiter;
      waiter.resolve(first === undefined ? ok() : err({ ...first, metadata: { ...first.metadata, failed } }));
    }
  }

  /** Fails every outstanding request (the connection is gone). */
  failAll(error: SluiceError): void {
    const ids = [...this.#pending.keys()];
    const all = [...this.#pending.values()];
    this.#pending.clear();
    for (const resolve of all) resolve(err(error));
    this.#room.failAll(ok());
    for (const waiter of this.#through.splice(0)) {
      const failed = waiter.failed + ids.filter((id) => id <= waiter.last).length;
      const first = waiter.first ?? (failed > 0 ? error : undefined);
      waiter.resolve(first === undefined ? ok() : err({ ...first, metadata: { ...first.metadata, failed } }));
    }
  }
}

/**
 * One server-wide budget for the bytes held in memory on behalf of clients: queued payloads of
 * every queue, producer backlogs. Whoever holds bytes takes them here and gives them back; when
 * the budget is spent, memory queues hold producers back (`queue.full`), stored queues leave new
 * messages in their store, and producer backlogs refuse more.
 *
 * A single holding larger than the whole budget is let in when nothing else is held, so one
 * message within the frame limit can always get through.
 *
 * @example
 * ```ts
 * const budget = new MemoryBudget(256 * 1024 * 1024);
 * if (budget.tryTake(payload.byteLength)) hold(payload);
 * budget.give(payload.byteLength); // once released
 * ```
 */
export class MemoryBudget {
  #used = 0;

  constructor(readonly limitBytes: number) {
    if (!Number.isSafeInteger(limitBytes) || limitBytes < 1) throw new RangeError(`MemoryBudget: limitBytes must be a positive integer (got ${limitBytes})`);
  }

  /** Bytes held now. */
  get used(): number {
    return this.#used;
  }

  /** True when `bytes` more would fit (always, while nothing is held). */
  fits(bytes: number): boolean {
    return this.#used === 0 || this.#used + bytes <= this.limitBytes;
  }

  /** Takes `bytes` if they fit; false (and nothing taken) if not. */
  tryTake(bytes: number): boolean {
    if (!this.fits(bytes)) return false;
    this.#used += bytes;
    return true;
  }

  /** Takes `bytes` whether or not they fit (an operator's replay, a page already read). */
  take(bytes: number): void {
    this.#used += bytes;
  }

  /** Gives back bytes taken earlier. */
  give(bytes: number): void {
    this.#used -= bytes;
  }
}

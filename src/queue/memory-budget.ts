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
  #limit: number;

  constructor(limitBytes: number) {
    this.#limit = checkLimit(limitBytes);
  }

  /** The budget in bytes. */
  get limitBytes(): number {
    return this.#limit;
  }

  /**
   * Changes the budget live (the control plane's `limits.memoryBudgetBytes`). Nothing held is
   * dropped: below what is held, holders simply wait (or page from their store) until bytes are
   * given back.
   */
  resize(limitBytes: number): void {
    this.#limit = checkLimit(limitBytes);
  }

  /** Bytes held now. */
  get used(): number {
    return this.#used;
  }

  /** True when `bytes` more would fit (always, while nothing is held). */
  fits(bytes: number): boolean {
    return this.#used === 0 || this.#used + bytes <= this.#limit;
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

function checkLimit(limitBytes: number): number {
  if (!Number.isSafeInteger(limitBytes) || limitBytes < 1) throw new RangeError(`MemoryBudget: limitBytes must be a positive integer (got ${limitBytes})`);
  return limitBytes;
}

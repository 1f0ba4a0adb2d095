import type { Clock } from "../result/clock.ts";
import { DelayedSet } from "./delayed-set.ts";

/**
 * Items waiting out a requeue delay, released to `onReady` when their time comes.
 * One clock timer, always set for the earliest item, however many items wait.
 *
 * @example
 * ```ts
 * const line = new DelayLine<Item>(clock, (item) => ready.push(item));
 * line.add(item, 250);   // released 250 ms from now
 * line.releaseDue();     // release what is due already (cheap when nothing is)
 * ```
 */
export class DelayLine<T> {
  readonly #waiting = new DelayedSet<T>();
  #timer: unknown;
  #timerAt = Infinity;

  constructor(
    private readonly clock: Clock,
    private readonly onReady: (item: T) => void,
  ) {}

  get size(): number {
    return this.#waiting.size;
  }

  /** Holds `item` for `delayMs`. */
  add(item: T, delayMs: number): void {
    this.#waiting.add(item, this.clock.now() + delayMs);
    this.#schedule();
  }

  /** Releases every item that is due now. */
  releaseDue(): void {
    if (this.#waiting.size === 0) return;
    for (const item of this.#waiting.takeReady(this.clock.now())) this.onReady(item);
  }

  /** Stops the timer and returns every waiting item, due or not, in ready order. */
  takeAll(): T[] {
    this.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = Infinity;
    return this.#waiting.takeAll();
  }

  [Symbol.iterator](): IterableIterator<T> {
    return this.#waiting[Symbol.iterator]();
  }

  #schedule(): void {
    const next = this.#waiting.nextReadyAt();
    if (next >= this.#timerAt) return;
    this.clock.clearTimeout(this.#timer);
    this.#timerAt = next;
    this.#timer = this.clock.setTimeout(() => {
      this.#timer = undefined;
      this.#timerAt = Infinity;
      this.releaseDue();
      if (this.#waiting.size > 0) this.#schedule();
    }, next - this.clock.now());
  }
}

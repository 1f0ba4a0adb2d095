import type { Clock, TimerHandle } from "./clock.ts";

interface VirtualTimer {
  readonly id: number;
  readonly due: number;
  readonly callback: () => void;
}

type Immediate = (callback: () => void) => unknown;
// Prefer setImmediate: a macrotask with no 1 ms clamp, so thousands of advances stay fast.
const nextMacrotask: Immediate =
  typeof (globalThis as { setImmediate?: Immediate }).setImmediate === "function"
    ? (globalThis as unknown as { setImmediate: Immediate }).setImmediate
    : (callback) => globalThis.setTimeout(callback, 0);

/** Lets queued promise jobs (and the jobs they queue) run before time moves again. */
function flushJobs(): Promise<void> {
  // A macrotask runs only after the whole microtask queue has drained, however deep the chain.
  return new Promise((resolve) => nextMacrotask(resolve));
}

/**
 * A `Clock` whose time moves only when a test says so.
 *
 * `advance(ms)` runs every timer that falls due, in time order (ties in creation order), and lets
 * awaited continuations run between them, so code like `await delay(100); await delay(200)` sees
 * both timers fire within one `advance(300)`.
 *
 * @example
 * ```ts
 * const clock = new VirtualClock();
 * const done = delay(100, { clock });
 * await clock.advance(100);
 * (await done).ok; // true
 * ```
 */
export class VirtualClock implements Clock {
  #now: number;
  #nextId = 1;
  #timers: VirtualTimer[] = [];

  constructor(startMs = 0) {
    this.#now = startMs;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(callback: () => void, ms: number): TimerHandle {
    const timer = { id: this.#nextId++, due: this.#now + Math.max(0, ms), callback };
    // Keep sorted by (due, id); insertion from the back is cheap for the common monotonic case.
    let i = this.#timers.length;
    while (i > 0 && this.#timers[i - 1]!.due > timer.due) i--;
    this.#timers.splice(i, 0, timer);
    return timer.id;
  }

  clearTimeout(handle: TimerHandle): void {
    const index = this.#timers.findIndex((t) => t.id === handle);
    if (index >= 0) this.#timers.splice(index, 1);
  }

  /** Number of timers not yet fired or cleared. */
  get pendingTimers(): number {
    return this.#timers.length;
  }

  /** Moves time forward by `ms`, firing due timers in order with promise jobs flushed between them. */
  async advance(ms: number): Promise<void> {
    if (!(ms >= 0)) throw new RangeError(`advance: ms must be >= 0, got ${ms}`);
    await this.advanceTo(this.#now + ms);
  }

  /** Moves time forward to the absolute instant `target` (never backwards). */
  async advanceTo(target: number): Promise<void> {
    await flushJobs();
    for (;;) {
      const next = this.#timers[0];
      if (next === undefined || next.due > target) break;
      this.#timers.shift();
      if (next.due > this.#now) this.#now = next.due;
      next.callback();
      await flushJobs();
    }
    if (target > this.#now) this.#now = target;
    await flushJobs();
  }

  /** Lets pending promise jobs run without moving time. */
  flush(): Promise<void> {
    return flushJobs();
  }
}

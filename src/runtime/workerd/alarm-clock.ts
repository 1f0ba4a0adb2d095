/**
 * `AlarmClock`: a `Clock` whose timers live on a Durable Object's single alarm, so a queue in a
 * `SluiceQueue` object keeps no JavaScript timer pending (a pending `setTimeout` keeps an object
 * from hibernating) and still expires leases and releases delayed retries on time — the alarm
 * wakes the object, rebuilding it if it hibernated.
 *
 * Timers are kept in memory; the alarm is set to the earliest one (only moved when an earlier
 * timer arrives, so a queue's sweeps cost one `setAlarm` per lease period). `fire()` — called
 * from the object's `alarm()` handler — runs every timer that is due and sets the alarm for the
 * next. Timers are lost with the object, by design: a rebuilt object schedules its own again
 * from its stored state (lease deadlines, retry times). A timer due within `immediateMs` runs on
 * an ordinary `setTimeout` instead (it fires at once, holding nothing back).
 *
 * @example
 * ```ts
 * const clock = new AlarmClock((at) => void ctx.storage.setAlarm(at));
 * const queue = SafeTaskQueue.create<Uint8Array>({ name: "jobs", clock, journal });
 * // in the Durable Object: async alarm() { clock.fire(); }
 * ```
 */
import type { Clock, TimerHandle } from "../../result/clock.ts";

interface Timer {
  readonly at: number;
  readonly run: () => void;
  cancelled: boolean;
}

/**
 * A `Clock` on a Durable Object's alarm (see the module doc).
 *
 * @example
 * ```ts
 * const clock = new AlarmClock((at) => void ctx.storage.setAlarm(at).catch(() => {}));
 * ```
 */
export class AlarmClock implements Clock {
  #timers: Timer[] = [];
  /** When the alarm is set for, as far as this incarnation knows (Infinity: not set by it). */
  #armedAt = Infinity;
  #fires = 0;

  /**
   * @param setAlarm sets the object's alarm (`ctx.storage.setAlarm`)
   * @param immediateMs timers due within this many ms use `setTimeout` (default 0: only due-now ones)
   */
  constructor(
    private readonly setAlarm: (at: number) => void,
    private readonly immediateMs = 0,
  ) {}

  /** Timers waiting for the alarm. */
  get pending(): number {
    return this.#timers.length;
  }

  /** When the alarm is set for (Infinity when this clock set none). */
  get armedAt(): number {
    return this.#armedAt;
  }

  /** Alarms handled (`fire` calls). */
  get fires(): number {
    return this.#fires;
  }

  now(): number {
    return Date.now();
  }

  setTimeout(callback: () => void, ms: number): TimerHandle {
    if (ms <= this.immediateMs) return { immediate: globalThis.setTimeout(callback, Math.max(0, ms)) };
    const timer: Timer = { at: this.now() + ms, run: callback, cancelled: false };
    this.#timers.push(timer);
    this.#arm(timer.at);
    return timer;
  }

  clearTimeout(handle: TimerHandle): void {
    if (handle === undefined || handle === null) return;
    const immediate = (handle as { immediate?: ReturnType<typeof setTimeout> }).immediate;
    if (immediate !== undefined) return globalThis.clearTimeout(immediate);
    // The alarm stays where it is: one that finds nothing due just sets the next.
    (handle as Timer).cancelled = true;
    this.#timers = this.#timers.filter((t) => t !== handle);
  }

  /** The alarm rang: runs every due timer (earliest first), then sets the alarm for the next. */
  fire(): void {
    this.#fires++;
    this.#armedAt = Infinity;
    const now = this.now();
    const due = this.#timers.filter((t) => t.at <= now).sort((a, b) => a.at - b.at);
    this.#timers = this.#timers.filter((t) => t.at > now);
    for (const timer of due) if (!timer.cancelled) timer.run();
    let next = Infinity;
    for (const timer of this.#timers) next = Math.min(next, timer.at);
    if (next !== Infinity) this.#arm(next);
  }

  #arm(at: number): void {
    if (at >= this.#armedAt) return;
    this.#armedAt = at;
    this.setAlarm(at);
  }
}

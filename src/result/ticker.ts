import { type Clock, systemClock } from "./clock.ts";
import { delay } from "./delay.ts";
import { requireNumber } from "./options.ts";

/**
 * Options of `ticker`.
 *
 * @example
 * ```ts
 * ticker(1000, { signal: controller.signal, clock: new VirtualClock() });
 * ```
 */
export interface TickerOptions {
  signal?: AbortSignal;
  clock?: Clock;
}

/**
 * An async iterable that ticks every `intervalMs` on the clock until its signal aborts,
 * yielding 1, 2, 3, … once per interval.
 *
 * Ticks are scheduled against absolute times (start + n * interval), so a slow consumer does not
 * make them drift. On abort the pending timer is released and iteration ends normally.
 *
 * @example
 * ```ts
 * for await (const n of ticker(5000, { signal, clock })) sendPing(n);
 * ```
 */
export function ticker(intervalMs: number, options: TickerOptions = {}): AsyncGenerator<number> {
  requireNumber("ticker", "intervalMs", intervalMs, Number.MIN_VALUE);
  return tick(intervalMs, options);
}

async function* tick(intervalMs: number, { signal, clock = systemClock }: TickerOptions): AsyncGenerator<number> {
  const start = clock.now();
  for (let n = 1; ; n++) {
    const waited = await delay(Math.max(0, start + n * intervalMs - clock.now()), { signal, clock });
    if (!waited.ok) return;
    yield n;
  }
}

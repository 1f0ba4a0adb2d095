/**
 * The dashboard's memory of the stats feed: per queue, the last `HISTORY_POINTS` samples of depth,
 * in-flight and poison depth, and the rates between consecutive samples.
 *
 * @example
 * ```ts
 * const history = new StatsHistory();
 * const rates = history.push(sample); // Map queue → QueueRates
 * history.series("jobs").depth; // [times, pending, active, poisoned]
 * ```
 *
 * @module
 */
import { type QueueRates, queueRates, type QueueStatsView, type StatsSample } from "../src/client/admin-types.ts";

/**
 * Samples kept per queue (five minutes at the feed's default one per second).
 *
 * @example
 * ```ts
 * HISTORY_POINTS; // 300
 * ```
 */
export const HISTORY_POINTS = 300;

/**
 * One queue's chart data, in uPlot's aligned form: times in seconds, then one array per series.
 *
 * @example
 * ```ts
 * const [times, pending, active, poisoned] = series.depth;
 * ```
 */
export interface QueueSeries {
  readonly depth: [number[], number[], number[], number[]];
  readonly rates: [number[], number[], number[], number[]];
}

/**
 * Keeps recent samples per queue and derives rates.
 *
 * @example
 * ```ts
 * new StatsHistory().push({ at: Date.now(), queues: [] });
 * ```
 */
export class StatsHistory {
  readonly #series = new Map<string, QueueSeries>();
  readonly #last = new Map<string, { at: number; stats: QueueStatsView }>();

  /** Adds a sample; the rates of each queue since its previous sample (zeros for its first). */
  push(sample: StatsSample): Map<string, QueueRates> {
    const rates = new Map<string, QueueRates>();
    for (const stats of sample.queues) {
      const before = this.#last.get(stats.queue);
      const rate = before ? queueRates(before.stats, stats, sample.at - before.at) : { enqueued: 0, acked: 0, failed: 0, poisoned: 0 };
      this.#last.set(stats.queue, { at: sample.at, stats });
      rates.set(stats.queue, rate);
      const series = this.series(stats.queue);
      const t = sample.at / 1000;
      append(series.depth, [t, stats.pending, stats.active, stats.poisoned]);
      append(series.rates, [t, rate.enqueued, rate.acked, rate.failed]);
    }
    return rates;
  }

  /** The chart data of `queue` (empty arrays before its first sample). */
  series(queue: string): QueueSeries {
    let series = this.#series.get(queue);
    if (series === undefined) {
      series = { depth: [[], [], [], []], rates: [[], [], [], []] };
      this.#series.set(queue, series);
    }
    return series;
  }
}

function append(columns: number[][], values: readonly number[]): void {
  columns.forEach((column, i) => {
    column.push(values[i]!);
    if (column.length > HISTORY_POINTS) column.shift();
  });
}

/**
 * Figures of `sluice bench`: latency samples with percentiles, and the summary table.
 *
 * @example
 * ```ts
 * const lat = new Latencies();
 * lat.add(1.5); lat.add(3);
 * lat.summary(); // { count: 2, p50: 1.5, p90: 3, p99: 3, max: 3, mean: 2.25 }
 * ```
 *
 * @module
 */
import { formatTable } from "./table.ts";

/**
 * Percentiles of a set of latencies, in ms.
 *
 * @example
 * ```ts
 * const s: LatencySummary = { count: 1, mean: 2, p50: 2, p90: 2, p99: 2, max: 2 };
 * ```
 */
export interface LatencySummary {
  readonly count: number;
  readonly mean: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
}

/**
 * Collects latency samples (ms).
 *
 * @example
 * ```ts
 * const lat = new Latencies();
 * lat.add(performance.now() - started);
 * ```
 */
export class Latencies {
  readonly #samples: number[] = [];

  /** Adds one sample. */
  add(ms: number): void {
    this.#samples.push(ms);
  }

  /** Percentiles (nearest rank) of the samples so far; zeros when there are none. */
  summary(): LatencySummary {
    const sorted = [...this.#samples].sort((a, b) => a - b);
    const n = sorted.length;
    if (n === 0) return { count: 0, mean: 0, p50: 0, p90: 0, p99: 0, max: 0 };
    const at = (p: number) => sorted[Math.min(n - 1, Math.max(0, Math.ceil(p * n) - 1))]!;
    return { count: n, mean: sorted.reduce((a, b) => a + b, 0) / n, p50: at(0.5), p90: at(0.9), p99: at(0.99), max: sorted[n - 1]! };
  }
}

/**
 * One side of a bench run (publish or consume).
 *
 * @example
 * ```ts
 * const side: BenchSide = { messages: 1000, seconds: 0.5, bytes: 128000, latency: lat.summary() };
 * ```
 */
export interface BenchSide {
  readonly messages: number;
  readonly seconds: number;
  readonly bytes: number;
  /** Publish: send → receipt. Consume: publish → delivery (same process clock). */
  readonly latency: LatencySummary;
}

/**
 * The result table: messages, msg/s, MB/s and latency percentiles per side.
 *
 * @example
 * ```ts
 * console.log(benchTable({ publish: side, consume: side }));
 * ```
 */
export function benchTable(sides: { readonly publish?: BenchSide; readonly consume?: BenchSide }): string {
  const rows = Object.entries(sides)
    .filter((entry): entry is [string, BenchSide] => entry[1] !== undefined)
    .map(([name, s]) => {
      const rate = s.seconds > 0 ? s.messages / s.seconds : 0;
      const mbs = s.seconds > 0 ? s.bytes / s.seconds / 1e6 : 0;
      const ms = (v: number) => v.toFixed(2);
      return [name, s.messages, Math.round(rate), mbs.toFixed(2), ms(s.latency.p50), ms(s.latency.p90), ms(s.latency.p99), ms(s.latency.max)];
    });
  return formatTable(["", "MSGS", "MSG/S", "MB/S", "P50 MS", "P90 MS", "P99 MS", "MAX MS"], rows);
}

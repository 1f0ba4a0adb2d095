/**
 * `LoadRecorder`: what one load scenario counts and measures, in the load generator's single
 * clock (`performance.now()`): publishes, receipts, deliveries, acks, duplicate deliveries, and
 * HDR histograms (hdr-histogram-js, microsecond resolution) of publish→receipt,
 * publish→deliver and publish→ack. Only messages published inside the measurement window
 * are recorded, so warm-up and drain do not colour the percentiles.
 *
 * @example
 * ```ts
 * const rec = new LoadRecorder();
 * const index = rec.published++;          // when sending message `index`
 * rec.onDeliver(index, publishedAtMs, performance.now());
 * rec.summary("deliver");                 // { p50Ms, p90Ms, p99Ms, maxMs, count }
 * ```
 */
import * as hdr from "hdr-histogram-js";

/** Latency percentiles of one histogram, in milliseconds. */
export interface LatencySummary {
  readonly count: number;
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
  readonly p999Ms: number;
  readonly maxMs: number;
}

type Kind = "receipt" | "deliver" | "ack";

function histogram(): hdr.Histogram {
  // 1 µs … 60 s at 3 significant digits; the JS implementation needs no WASM init.
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });
}

export class LoadRecorder {
  /** Messages sent (also the next message index). */
  published = 0;
  receipts = 0;
  delivered = 0;
  acked = 0;
  /** Deliveries of an index that had already been delivered (expected 0: no expiry, no disconnects). */
  duplicates = 0;
  /** ERROR / GOAWAY frames received. */
  errors = 0;
  /** Latencies are recorded for messages published in [measureFromMs, measureUntilMs). */
  measureFromMs = Number.POSITIVE_INFINITY;
  measureUntilMs = Number.POSITIVE_INFINITY;
  readonly #hist: Record<Kind, hdr.Histogram> = { receipt: histogram(), deliver: histogram(), ack: histogram() };
  #sentAt = new Float64Array(1 << 16);
  #seen = new Uint8Array(1 << 16);

  /** Takes the next message index and remembers when it was published. */
  nextIndex(nowMs: number): number {
    const index = this.published++;
    if (index >= this.#sentAt.length) this.#grow(index);
    this.#sentAt[index] = nowMs;
    return index;
  }

  /** A RECEIPT for message `index` arrived. */
  onReceipt(index: number, nowMs: number): void {
    this.receipts++;
    this.#record("receipt", this.#sentAt[index]!, nowMs);
  }

  /** A DELIVER of message `index` arrived; returns false when it is a duplicate. */
  onDeliver(index: number, publishedAtMs: number, nowMs: number): boolean {
    this.delivered++;
    if (this.#seen[index]! !== 0) {
      this.duplicates++;
      return false;
    }
    this.#seen[index] = 1;
    this.#record("deliver", publishedAtMs, nowMs);
    return true;
  }

  /** The ACK of message `index` was written to the socket. */
  onAck(publishedAtMs: number, nowMs: number): void {
    this.acked++;
    this.#record("ack", publishedAtMs, nowMs);
  }

  /** Percentiles of one histogram. */
  summary(kind: Kind): LatencySummary {
    const h = this.#hist[kind];
    const ms = (us: number) => Math.round(us) / 1000;
    return {
      count: h.totalCount,
      p50Ms: ms(h.getValueAtPercentile(50)),
      p90Ms: ms(h.getValueAtPercentile(90)),
      p99Ms: ms(h.getValueAtPercentile(99)),
      p999Ms: ms(h.getValueAtPercentile(99.9)),
      maxMs: ms(h.maxValue),
    };
  }

  #record(kind: Kind, publishedAtMs: number, nowMs: number): void {
    if (publishedAtMs < this.measureFromMs || publishedAtMs >= this.measureUntilMs) return;
    this.#hist[kind].recordValue(Math.max(1, Math.round((nowMs - publishedAtMs) * 1000)));
  }

  #grow(index: number): void {
    let size = this.#sentAt.length;
    while (size <= index) size *= 2;
    const sentAt = new Float64Array(size);
    sentAt.set(this.#sentAt);
    this.#sentAt = sentAt;
    const seen = new Uint8Array(size);
    seen.set(this.#seen);
    this.#seen = seen;
  }
}

/**
 * `QueueStats`: what `SafeTaskQueue.stats()` reports, and the running counters behind it.
 *
 * @example
 * ```ts
 * const { pending, active, poisoned, acked, backpressure } = queue.stats();
 * ```
 */
export interface QueueStats {
  /** Ready plus waiting out a requeue delay. */
  readonly pending: number;
  /** Leases in flight. */
  readonly active: number;
  /** Items now in the poison queue. */
  readonly poisoned: number;
  readonly enqueued: number;
  readonly acked: number;
  readonly failed: number;
  readonly requeued: number;
  readonly expired: number;
  /** Items ever moved to the poison queue. */
  readonly poisonedTotal: number;
  /** True between the high and the low watermark crossing. */
  readonly backpressure: boolean;
  readonly capacity: number;
}

/** Monotonic counters of a queue. */
export class QueueCounters {
  enqueued = 0;
  acked = 0;
  failed = 0;
  requeued = 0;
  expired = 0;
  poisonedTotal = 0;

  snapshot(levels: Pick<QueueStats, "pending" | "active" | "poisoned" | "backpressure" | "capacity">): QueueStats {
    return {
      ...levels,
      enqueued: this.enqueued,
      acked: this.acked,
      failed: this.failed,
      requeued: this.requeued,
      expired: this.expired,
      poisonedTotal: this.poisonedTotal,
    };
  }
}

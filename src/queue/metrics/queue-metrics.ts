import type { Cell, HistogramCell, Labels, MetricsRegistry } from "./registry.ts";

/**
 * The contract's metric families (DESIGN.md "Metrics"), bound once to a queue's
 * `queue` and `role` labels so every update is a plain field increment.
 *
 * @example
 * ```ts
 * const m = new QueueMetrics(registry, { queue: "jobs", role: "dispatcher" });
 * m.acked.inc();
 * m.pumpDuration.observe(0.002);
 * ```
 */
export class QueueMetrics {
  readonly enqueued: Cell;
  readonly acked: Cell;
  readonly failed: Cell;
  readonly requeued: Cell;
  readonly expired: Cell;
  readonly poisoned: Cell;
  readonly deliveryAttempts: Cell;
  readonly pending: Cell;
  readonly activeLeases: Cell;
  readonly poisonDepth: Cell;
  readonly heldBytes: Cell;
  readonly pumpDuration: HistogramCell;

  constructor(
    readonly registry: MetricsRegistry,
    labels: Labels,
  ) {
    const c = (name: string, help: string) => registry.counter(name, help).labels(labels);
    const g = (name: string, help: string) => registry.gauge(name, help).labels(labels);
    this.enqueued = c("sluice_enqueued_total", "Messages accepted into the queue");
    this.acked = c("sluice_acked_total", "Deliveries acknowledged");
    this.failed = c("sluice_failed_total", "Deliveries failed by their consumer");
    this.requeued = c("sluice_requeued_total", "Messages put back for another delivery");
    this.expired = c("sluice_expired_total", "Leases that expired without ack or heartbeat");
    this.poisoned = c("sluice_poisoned_total", "Messages moved to the poison queue");
    this.deliveryAttempts = c("sluice_delivery_attempts_total", "Deliveries started (leases handed out)");
    this.pending = g("sluice_pending", "Messages waiting for delivery");
    this.activeLeases = g("sluice_active_leases", "Deliveries in flight");
    this.poisonDepth = g("sluice_poison_depth", "Messages in the poison queue");
    this.heldBytes = g("sluice_held_bytes", "Payload bytes the queue holds in memory (ready, delayed, in flight)");
    this.pumpDuration = registry
      .histogram("sluice_pump_duration_seconds", "Time from lease to ack/fail in a pump handler")
      .labels(labels);
  }
}

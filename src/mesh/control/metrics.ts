/**
 * The control role's own Prometheus series, besides the apply pump's queue series
 * (`sluice_*{queue="control.apply", role="control"}`, `sluice_pump_duration_seconds`).
 *
 * @module
 */
import type { Cell, MetricsRegistry } from "../../queue/metrics/registry.ts";

/**
 * What the watch pump saw, by `event`: `connect`, `update`, `error` (a failed watch), `end` (a
 * stream that ended normally).
 *
 * @example
 * ```ts
 * const event: WatchEvent = "end";
 * ```
 */
export type WatchEvent = "connect" | "update" | "error" | "end";

/**
 * How the apply pump ended each item, by `outcome`: `applied`, `stale` (a version at or below
 * the last applied one: acked as a no-op), `invalid` (poisoned at once), `failed` (an apply
 * attempt failed; retried), `poisoned` (retries exhausted), `rolled_back` (the LKG re-applied).
 *
 * @example
 * ```ts
 * const outcome: ApplyOutcome = "stale";
 * ```
 */
export type ApplyOutcome = "applied" | "stale" | "invalid" | "failed" | "poisoned" | "rolled_back";

/**
 * Series: `sluice_pump_events_total{role="control",pump="watch",event}`,
 * `sluice_pump_outcomes_total{role="control",pump="apply",outcome}`,
 * `sluice_control_watch_backoff_ms` (the wait before the next reconnect, 0 while connected),
 * `sluice_control_applied_version{node}` and `sluice_control_degraded{node}` (1 while this node
 * runs its LKG because the latest version failed to apply).
 *
 * @example
 * ```ts
 * const m = new ControlMetrics(registry, "node-a");
 * m.watch("connect");
 * m.appliedVersion.set(7);
 * ```
 */
export class ControlMetrics {
  readonly appliedVersion: Cell;
  readonly degraded: Cell;
  readonly backoffMs: Cell;
  readonly #registry: MetricsRegistry;

  constructor(registry: MetricsRegistry, node: string) {
    this.#registry = registry;
    this.appliedVersion = registry.gauge("sluice_control_applied_version", "Version of the control document this node has applied").labels({ node });
    this.degraded = registry.gauge("sluice_control_degraded", "1 while this node runs its last-known-good config because a newer version failed to apply").labels({ node });
    this.backoffMs = registry.gauge("sluice_control_watch_backoff_ms", "Wait before the control watch reconnects (0 while connected)").labels({});
  }

  /** Counts one watch event. */
  watch(event: WatchEvent): void {
    this.#registry.counter("sluice_pump_events_total", "Events of the mesh pumps that are not queue work (watch connects, stream ends, …)").labels({ role: "control", pump: "watch", event }).inc();
  }

  /** Counts one apply outcome. */
  apply(outcome: ApplyOutcome): void {
    this.#registry.counter("sluice_pump_outcomes_total", "How the mesh pumps ended their items").labels({ role: "control", pump: "apply", outcome }).inc();
  }
}

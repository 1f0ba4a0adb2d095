/**
 * Leadership events (elected / renewed / lost / observed), their hub, and the leadership metrics.
 *
 * @module
 */
import type { Cell, MetricsRegistry } from "../../queue/metrics/registry.ts";

/**
 * What happened to a scope, as seen by this node:
 * - `elected`: this node acquired the scope's lease, in a new `term`;
 * - `renewed`: this node renewed its lease (same term, later expiry);
 * - `lost`: this node no longer leads (its lease was not renewed before its safety deadline, the
 *   store was unreachable, another holder is current, a downstream saw a higher term, or it
 *   stepped down at shutdown) — `reason` says which;
 * - `observed`: another holder (or another term) leads the scope.
 *
 * @example
 * ```ts
 * const kind: LeadershipEventType = "elected";
 * ```
 */
export type LeadershipEventType = "elected" | "renewed" | "lost" | "observed";

/**
 * One leadership event. `holder`, `term`, `expiresAtMs` describe the lease it is about (for
 * `lost`: the lease this node had); `at` is the coordinator's clock.
 *
 * @example
 * ```ts
 * coordinator.subscribe((e: LeadershipEvent) => console.log(e.type, e.scope, e.term, e.reason ?? ""));
 * ```
 */
export interface LeadershipEvent {
  readonly type: LeadershipEventType;
  readonly scope: string;
  readonly holder: string;
  readonly term: number;
  readonly expiresAtMs: number;
  readonly at: number;
  readonly reason?: string;
}

/**
 * A subscriber; called synchronously, in order, for every event (none is dropped or merged).
 *
 * @example
 * ```ts
 * const listener: LeadershipListener = (e) => { if (e.type === "lost") stopBridge(e.scope); };
 * ```
 */
export type LeadershipListener = (event: LeadershipEvent) => void;

/**
 * Delivers leadership events to every subscriber synchronously, in the order they happen: no
 * buffer, so nothing is lost to a slow watcher (OmniRelay's hub drops the oldest of 256). A
 * listener must not block; one that throws is isolated (the others still get the event).
 *
 * @example
 * ```ts
 * const hub = new LeadershipEvents();
 * const off = hub.subscribe((e) => log.push(e));
 * hub.emit({ type: "elected", scope: "bridge/jobs", holder: "a", term: 1, expiresAtMs: 10_000, at: 0 });
 * off();
 * ```
 */
export class LeadershipEvents {
  #listeners: LeadershipListener[] = [];

  /** Adds a listener; returns the function that removes it. */
  subscribe(listener: LeadershipListener): () => void {
    this.#listeners = [...this.#listeners, listener];
    return () => {
      this.#listeners = this.#listeners.filter((l) => l !== listener);
    };
  }

  emit(event: LeadershipEvent): void {
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch {
        // A broken observer must not stop leadership, nor the other observers.
      }
    }
  }
}

/**
 * The leadership series in a registry, per scope:
 * `sluice_leadership_term{scope}` (the term of the lease this node knows of: its own or one it
 * observed), `sluice_leadership_leader{scope}` (1 while this node leads, else 0) and
 * `sluice_leadership_events_total{scope,event}`, and `sluice_pump_rejected_total{role,pump}`. The
 * evaluation pump's own series are the queue series of `leadership.evaluate` with
 * `role="leadership"` (enqueued, acked, failed, poisoned, `sluice_pump_duration_seconds`, …).
 *
 * @example
 * ```ts
 * const metrics = new LeadershipMetrics(registry);
 * metrics.record({ type: "elected", scope: "bridge/jobs", holder: "a", term: 3, expiresAtMs: 0, at: 0 }, true);
 * ```
 */
export class LeadershipMetrics {
  readonly #registry: MetricsRegistry;
  readonly #cells = new Map<string, { term: Cell; leader: Cell }>();
  /** `sluice_pump_rejected_total{role="leadership",pump="evaluate"}`: evaluations the full queue refused. */
  readonly rejected: Cell;

  constructor(registry: MetricsRegistry) {
    this.#registry = registry;
    this.rejected = registry.counter("sluice_pump_rejected_total", "Pump items refused because the pump's queue was full").labels({ role: "leadership", pump: "evaluate" });
  }

  /** Counts `event` and sets the scope's gauges (`leading`: whether this node leads after it). */
  record(event: LeadershipEvent, leading: boolean): void {
    const cells = this.#scope(event.scope);
    cells.term.set(event.term);
    cells.leader.set(leading ? 1 : 0);
    this.#registry.counter("sluice_leadership_events_total", "Leadership events seen by this node (elected, renewed, lost, observed)").labels({ scope: event.scope, event: event.type }).inc();
  }

  #scope(scope: string): { term: Cell; leader: Cell } {
    let cells = this.#cells.get(scope);
    if (cells === undefined) {
      cells = {
        term: this.#registry.gauge("sluice_leadership_term", "Term of the leadership lease this node knows of, per scope").labels({ scope }),
        leader: this.#registry.gauge("sluice_leadership_leader", "1 while this node leads the scope, else 0").labels({ scope }),
      };
      this.#cells.set(scope, cells);
    }
    return cells;
  }
}

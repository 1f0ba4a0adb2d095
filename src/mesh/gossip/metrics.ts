/**
 * Gossip's own metrics, beside the pumps' queue metrics (`sluice_*{queue="gossip.outbound" |
 * "gossip.inbound", role="gossip"}`, including `sluice_pump_duration_seconds`).
 *
 * @module
 */
import type { Cell, MetricsRegistry } from "../../queue/metrics/registry.ts";
import type { LocalHealth } from "./local-health.ts";
import { MEMBER_STATUSES } from "./member.ts";
import type { Membership } from "./membership.ts";

/**
 * Gauges `sluice_mesh_members{status}` (this node included) and `sluice_mesh_local_health`
 * (the Lifeguard score), set at render time; counters `sluice_mesh_gossip_rounds_total`,
 * `sluice_mesh_suspect_hints_total`, `sluice_pump_superseded_total{role,pump}` (stale retries
 * dropped for a newer round) and `sluice_pump_rejected_total{role,pump}` (a full pump queue
 * refused an item: inbound → 429; outbound → that target skipped this round).
 *
 * @example
 * ```ts
 * const metrics = new GossipMetrics(registry, membership, health);
 * metrics.superseded.inc();
 * registry.render(); // … sluice_mesh_members{status="alive"} 5 …
 * metrics.dispose();
 * ```
 */
export class GossipMetrics {
  readonly rounds: Cell;
  readonly hints: Cell;
  readonly superseded: Cell;
  readonly rejectedInbound: Cell;
  readonly rejectedOutbound: Cell;
  readonly #dispose: () => void;

  constructor(
    readonly registry: MetricsRegistry,
    membership: Membership,
    health: LocalHealth,
  ) {
    const pump = (name: string) => ({ role: "gossip", pump: name });
    this.rounds = registry.counter("sluice_mesh_gossip_rounds_total", "Gossip rounds started").labels({});
    this.hints = registry.counter("sluice_mesh_suspect_hints_total", "Gossip exchanges that failed for good (suspicion hints)").labels({});
    const superseded = registry.counter("sluice_pump_superseded_total", "Pump items dropped because a newer one replaced them");
    this.superseded = superseded.labels(pump("gossip.outbound"));
    const rejected = registry.counter("sluice_pump_rejected_total", "Pump items refused because the pump's queue was full");
    this.rejectedInbound = rejected.labels(pump("gossip.inbound"));
    this.rejectedOutbound = rejected.labels(pump("gossip.outbound"));
    const members = registry.gauge("sluice_mesh_members", "Cluster members by status, as this node sees them (itself included)");
    const cells = MEMBER_STATUSES.map((status) => [status, members.labels({ status })] as const);
    const score = registry.gauge("sluice_mesh_local_health", "Lifeguard local health score (0 healthy; timers are stretched by 1 + score)").labels({});
    this.#dispose = registry.addCollector(() => {
      const counts = membership.counts();
      for (const [status, cell] of cells) cell.set(counts[status]);
      score.set(health.score);
    });
  }

  /** Stops refreshing the gauges (the service stopped). */
  dispose(): void {
    this.#dispose();
  }
}

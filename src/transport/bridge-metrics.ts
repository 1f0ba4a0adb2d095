/**
 * `BridgeMetrics`: a bridge's series in the server's `MetricsRegistry`, labelled `queue` and
 * `role="bridge"`.
 *
 * @module
 */
import type { Cell, MetricsRegistry } from "../queue/metrics/registry.ts";
import type { Result } from "../result/result.ts";
import type { CircuitState } from "./circuit-breaker.ts";

/**
 * A downstream path of a bridge: the WebSocket (`socket`) or the Relay RPC service (`rpc`).
 *
 * @example
 * ```ts
 * const path: BridgePath = "socket";
 * ```
 */
export type BridgePath = "socket" | "rpc";

/**
 * How one send ended: `ok` (confirmed), `refused` (the downstream said no to this message),
 * `failed` (no answer: down, timed out, connection lost).
 *
 * @example
 * ```ts
 * metrics.sent("rpc", "failed");
 * ```
 */
export type SendOutcome = "ok" | "refused" | "failed";

const STATES: readonly CircuitState[] = ["closed", "open", "half-open"];

/**
 * The bridge's metric families (all with `queue` and `role="bridge"`):
 * - `sluice_bridge_sends_total{path, outcome}`: every socket send and every RPC call (each retry
 *   is a call), by `outcome` `ok` / `refused` / `failed`;
 * - `sluice_bridge_delivered_total{path}`: deliveries taken downstream, by the path that took them;
 * - `sluice_bridge_fallbacks_total`: socket sends that failed and went to the RPC path;
 * - `sluice_bridge_deferred_total`: deliveries put back in the queue without counting an
 *   attempt because every downstream path was down;
 * - `sluice_bridge_circuit_state{state}`: 1 for the current state (`closed`, `open`,
 *   `half_open`), 0 for the others;
 * - `sluice_bridge_circuit_opened_total`: outages (closed → open), and
 *   `sluice_bridge_circuit_probes_total`: probes sent while the circuit was half-open.
 *
 * @example
 * ```ts
 * const metrics = new BridgeMetrics(broker.metrics, "jobs");
 * metrics.sent("socket", "ok");
 * metrics.circuit("open", "closed");
 * ```
 */
export class BridgeMetrics {
  readonly #sends: Record<BridgePath, Record<SendOutcome, Cell>>;
  readonly #delivered: Record<BridgePath, Cell>;
  readonly fallbacks: Cell;
  readonly deferred: Cell;
  readonly opened: Cell;
  readonly probes: Cell;
  readonly fenced: Cell;
  readonly #state: Record<CircuitState, Cell>;

  constructor(registry: MetricsRegistry, queue: string) {
    const labels = { queue, role: "bridge" };
    const sends = registry.counter("sluice_bridge_sends_total", "Bridge sends (socket sends and RPC calls) by path and outcome (ok, refused, failed)");
    const delivered = registry.counter("sluice_bridge_delivered_total", "Bridge deliveries taken by the downstream, by path (socket or rpc)");
    const byOutcome = (path: BridgePath) => ({
      ok: sends.labels({ ...labels, path, outcome: "ok" }),
      refused: sends.labels({ ...labels, path, outcome: "refused" }),
      failed: sends.labels({ ...labels, path, outcome: "failed" }),
    });
    this.#sends = { socket: byOutcome("socket"), rpc: byOutcome("rpc") };
    this.#delivered = { socket: delivered.labels({ ...labels, path: "socket" }), rpc: delivered.labels({ ...labels, path: "rpc" }) };
    this.fallbacks = registry.counter("sluice_bridge_fallbacks_total", "Bridge socket sends that failed or timed out and went to the RPC fallback").labels(labels);
    this.deferred = registry
      .counter("sluice_bridge_deferred_total", "Bridge deliveries put back without counting an attempt because every downstream path was down")
      .labels(labels);
    const state = registry.gauge("sluice_bridge_circuit_state", "Bridge circuit breaker state: 1 for the current one (closed, open, half_open)");
    this.#state = Object.fromEntries(STATES.map((s) => [s, state.labels({ ...labels, state: s.replace("-", "_") })])) as Record<CircuitState, Cell>;
    this.#state.closed.set(1);
    this.opened = registry.counter("sluice_bridge_circuit_opened_total", "Bridge outages: the circuit went from closed to open").labels(labels);
    this.probes = registry.counter("sluice_bridge_circuit_probes_total", "Bridge probes sent while the circuit was half-open").labels(labels);
    this.fenced = registry
      .counter("sluice_bridge_fenced_total", "Bridge deliveries put back uncounted because this node no longer leads the queue's bridge (stepped down, or a downstream saw a higher term)")
      .labels(labels);
  }

  /** One send on `path` ended with `outcome` (or a Result: ok, or `failed`). */
  sent(path: BridgePath, outcome: SendOutcome | Result<unknown>): void {
    const key = typeof outcome === "string" ? outcome : outcome.ok ? "ok" : "failed";
    this.#sends[path][key].inc();
  }

  /** A delivery was taken downstream by `path`. */
  delivered(path: BridgePath): void {
    this.#delivered[path].inc();
  }

  /** The circuit went from `from` to `to`. */
  circuit(to: CircuitState, from: CircuitState): void {
    for (const s of STATES) this.#state[s].set(s === to ? 1 : 0);
    if (to === "open" && from === "closed") this.opened.inc();
  }

  /** The value of a sends counter (for stats and tests). */
  sends(path: BridgePath, outcome: SendOutcome): number {
    return this.#sends[path][outcome].value;
  }
}

/**
 * Server-side queue bridges: starting and stopping one `bridge()` per configured queue.
 *
 * @module
 */
import type { RelayQueue } from "../queue/relay-queue.ts";
import type { MetricsRegistry } from "../queue/metrics/registry.ts";
import { type Bridge, bridge, type BridgeFence } from "../transport/bridge.ts";
import type { DownstreamSocketFactory } from "../transport/downstream.ts";
import { redactSecrets } from "../result/redact.ts";
import type { SluiceConfig } from "./config.ts";

/**
 * Options of `startQueueBridges`.
 *
 * @example
 * ```ts
 * startQueueBridges(broker.queues, config, { log: (line) => console.log(line) });
 * ```
 */
export interface StartBridgesOptions {
  /** The bridges' log lines (rate-limited: see `BridgeLog`). */
  readonly log?: (line: string) => void;
  /** Where the `sluice_bridge_*` series go. Default: each queue's registry (the broker's). */
  readonly metrics?: MetricsRegistry;
  /** How downstream sockets are made (tests); it gets the upgrade's headers as its second argument. */
  readonly socketFactory?: DownstreamSocketFactory;
}

/**
 * Starts one `bridge()` per queue whose config has a `bridge` section (issue 6) —
 * the server side of the socket bridge. The broker starts them at boot and stops them at the
 * start of a graceful shutdown, before the drain, so their in-flight leases are back in the
 * queue (not counted as attempts) before the queues are drained and closed.
 *
 * Log lines: one per bridge at start; then the bridge's own (`BridgeLog`): one per outage start
 * and end (the circuit opening and closing), at most one per 30 s per kind of trouble while it
 * lasts, each with counts. None of them shows a secret: URLs are printed with their userinfo and
 * token-like query parameters masked (`redactSecrets`), and the bridge's `token` is masked
 * wherever it would appear. Metrics: `sluice_bridge_*` with `queue` and `role="bridge"`
 * (`BridgeMetrics`), in the broker's registry.
 *
 * @example
 * ```ts
 * const bridges = startQueueBridges(broker.queues, config, { log: console.log });
 * await stopBridges(bridges);
 * ```
 */
export function startQueueBridges(
  queues: ReadonlyMap<string, RelayQueue<Uint8Array>>,
  config: SluiceConfig,
  options: StartBridgesOptions = {},
): Map<string, Bridge> {
  const bridges = new Map<string, Bridge>();
  for (const [name, queue] of queues) {
    const started = startQueueBridge(queue, config, options);
    if (started !== undefined) bridges.set(name, started);
  }
  return bridges;
}

/**
 * Starts the bridge of one queue as its config section says (undefined when it has none), with
 * its start line logged; `fence` makes it a leader-only bridge (leader-bridges.ts).
 *
 * @example
 * ```ts
 * const b = startQueueBridge(broker.queue("jobs")!, config, { log: console.log }, coordinator.fence("bridge/jobs"));
 * ```
 */
export function startQueueBridge(queue: RelayQueue<Uint8Array>, config: SluiceConfig, options: StartBridgesOptions = {}, fence?: BridgeFence): Bridge | undefined {
  const name = queue.name;
  const settings = config.queues[name]?.bridge;
  if (settings === undefined) return undefined;
  const print = options.log ?? (() => {});
  const log = (line: string) => print(redactSecrets(line, [settings.token]));
  const started = bridge(queue, {
    wsUrl: settings.wsUrl,
    rpcUrl: settings.rpcUrl,
    rpcMode: settings.rpcMode,
    sendTimeoutMs: settings.sendTimeoutMs,
    pingIntervalMs: settings.pingIntervalMs,
    concurrency: settings.concurrency,
    token: settings.token,
    socketFactory: options.socketFactory,
    metrics: options.metrics,
    fence,
    log,
  });
  const lead = fence === undefined ? "" : `, as leader of ${fence.scope} in term ${fence.term}`;
  log(`sluice: bridge ${name} → ${[settings.wsUrl && `socket ${settings.wsUrl}`, settings.rpcUrl && `rpc ${settings.rpcUrl}`].filter(Boolean).join(", fallback ")} (concurrency ${settings.concurrency}${lead})`);
  return started;
}

/**
 * Stops every bridge and waits for their pumps to end.
 *
 * @example
 * ```ts
 * await stopBridges(bridges);
 * ```
 */
export async function stopBridges(bridges: ReadonlyMap<string, Bridge>): Promise<void> {
  const stopping = [...bridges.values()].map((b) => b.stop());
  for (const stopped of stopping) await stopped;
}

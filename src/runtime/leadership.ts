/**
 * Starts leadership for a booted server (lifecycle.ts): the lease store this node can use, the
 * `LeadershipCoordinator` (scopes `bridge/<queue>` for every bridged queue) and the leader-only
 * bridges. The only place that opens the NATS connection of the NATS KV lease store.
 *
 * @module
 */
import { Kvm } from "@nats-io/kv";
import { LeadershipCoordinator } from "../mesh/leadership/coordinator.ts";
import type { LeaseStore } from "../mesh/leadership/lease-store.ts";
import { MemoryLeaseStore } from "../mesh/leadership/memory-lease-store.ts";
import { LEADERSHIP_BUCKET, NatsKvLeaseStore } from "../mesh/leadership/nats-kv-lease-store.ts";
import { SqlLeaseStore } from "../mesh/leadership/sql-lease-store.ts";
import { deadline, delay } from "../result/delay.ts";
import { redactSecrets } from "../result/redact.ts";
import { err, ok, type Result } from "../result/result.ts";
import type { Broker } from "../server/broker.ts";
import { natsUrlOf, type SluiceConfig, storageOf } from "../server/config.ts";
import { LeaderBridges } from "../server/leader-bridges.ts";
import type { SqlStore } from "../store/sql-store.ts";
import { connectNats, type NatsConnection } from "./nats.ts";
import { nodeIdOf } from "./node-id.ts";

export { nodeIdOf } from "./node-id.ts";

/**
 * Leadership as started: the coordinator, the leader-only bridges, which store holds the leases,
 * and `close` (the NATS connection, after the broker shut down; the broker's shutdown already
 * stopped the bridges and released the leases).
 *
 * @example
 * ```ts
 * const started = await startLeadership(config, broker, store, console.log);
 * if (started.ok && started.value) console.log(started.value.storeKind); // "nats-kv"
 * ```
 */
export interface LeadershipRuntime {
  readonly coordinator: LeadershipCoordinator;
  readonly bridges: LeaderBridges;
  readonly storeKind: "nats-kv" | "sqlite" | "memory";
  close(): Promise<void>;
}


/**
 * Starts leadership when any queue has a bridge (none: ok(undefined), and nothing runs). The
 * lease store: NATS KV (bucket `sluice_leadership`) when the server is clustered (`natsUrl`, or a
 * bridged queue's own), else the SQLite store's database when there is one, else memory. Terms
 * take the wall clock as their floor (`nextTerm`), so they keep rising across a lost store. The
 * broker gets it attached: `/v1/cluster/leaders`, and at shutdown (before the drain) the bridges
 * stop and the leases are released so another node leads at once.
 *
 * @example
 * ```ts
 * const started = await startLeadership(config, broker, store, console.log);
 * if (!started.ok) throw new Error(started.error.message);
 * ```
 */
export async function startLeadership(
  config: SluiceConfig,
  broker: Broker,
  store: SqlStore | undefined,
  log: (line: string) => void,
): Promise<Result<LeadershipRuntime | undefined>> {
  const bridged = Object.keys(config.queues).filter((name) => config.queues[name]!.bridge !== undefined);
  if (bridged.length === 0) return ok(undefined);
  const nodeId = nodeIdOf(config);
  const termFloor = () => Date.now();
  const natsUrl = config.natsUrl ?? bridged.map((name) => (storageOf(config, name) === "jetstream" ? natsUrlOf(config, name) : undefined)).find((u) => u !== undefined);
  let leases: LeaseStore;
  let storeKind: LeadershipRuntime["storeKind"];
  let nc: NatsConnection | undefined;
  if (natsUrl !== undefined) {
    const opened = await openKv(natsUrl, nodeId, log);
    if (!opened.ok) return opened;
    nc = opened.value.nc;
    leases = new NatsKvLeaseStore(opened.value.kv, { termFloor });
    storeKind = "nats-kv";
  } else if (store !== undefined) {
    try {
      leases = new SqlLeaseStore(store.driver, { termFloor });
    } catch (thrown) {
      return err("unavailable", `sluice: leadership: cannot set up leases in ${store.path}: ${thrown instanceof Error ? thrown.message : String(thrown)}`);
    }
    storeKind = "sqlite";
  } else {
    leases = new MemoryLeaseStore({ termFloor });
    storeKind = "memory";
  }
  const mesh = config.mesh;
  const coordinator = LeadershipCoordinator.create({ nodeId, store: leases, ...mesh?.leadership, evaluate: config.pumps?.leadership?.evaluate, metrics: broker.metrics, log });
  const bridges = new LeaderBridges(broker.queues, config, coordinator, { log });
  broker.attachLeadership(coordinator, async () => {
    await bridges.stop();
    await coordinator.stop();
  });
  const { ttlMs, renewMarginMs, evaluationIntervalMs } = coordinator.timers;
  log(`sluice: leadership: node ${nodeId}, leases in ${storeKind}, scopes ${coordinator.scopes.join(", ")} (ttl ${ttlMs} ms, margin ${renewMarginMs} ms, every ${evaluationIntervalMs} ms)`);
  coordinator.start();
  // The first evaluations (bounded): a node that leads starts its bridges before it listens.
  await deadline(coordinator.idle(), 2 * evaluationIntervalMs);
  return ok({
    coordinator,
    bridges,
    storeKind,
    close: async () => {
      await coordinator.stop();
      if (nc !== undefined && !nc.isClosed()) await nc.close().catch(() => {});
    },
  });
}

// The leadership bucket on its own connection, retried for up to 10 s at start-up (a node and its
// nats-server may start together), like the JetStream queues' connection.
async function openKv(url: string, nodeId: string, log: (line: string) => void): Promise<Result<{ nc: NatsConnection; kv: Awaited<ReturnType<Kvm["create"]>> }>> {
  const display = redactSecrets(url);
  const until = Date.now() + 10_000;
  let waitMs = 250;
  for (;;) {
    const connected = await connectNats(url, { name: `sluice-leadership ${nodeId}`, timeoutMs: 2000, log });
    if (connected.ok) {
      try {
        return ok({ nc: connected.value, kv: await new Kvm(connected.value).create(LEADERSHIP_BUCKET, { history: 1 }) });
      } catch (thrown) {
        await connected.value.close().catch(() => {});
        return err("unavailable", `sluice: leadership: cannot open KV bucket ${LEADERSHIP_BUCKET} at ${display}: ${redactSecrets(thrown instanceof Error ? thrown.message : String(thrown))} (is nats-server running with JetStream, -js?)`);
      }
    }
    if (connected.error.code !== "unavailable" || Date.now() + waitMs >= until) return err("unavailable", `sluice: leadership: ${connected.error.message}`);
    await delay(waitMs);
    waitMs = Math.min(2000, waitMs * 2);
  }
}

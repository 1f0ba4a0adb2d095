/**
 * Starting this node's gossip from a runtime entry (bun.ts, deno.ts) without loading the mesh
 * code it may never use: with seed peers (`mesh.peers` / `SLUICE_PEERS`) gossip.ts is loaded and
 * started at once; without, the node only answers peers that find it, so it is loaded and
 * started when the first `POST /v1/mesh/gossip` arrives (`Broker.gossipOnDemand`). Until then
 * `GET /v1/cluster/members` lists this node alone, as it would anyway.
 *
 * @example
 * ```ts
 * await startMesh(config, broker, server.port, console.log);
 * ```
 */
import type { Broker } from "../server/broker.ts";
import type { SluiceConfig } from "../server/config.ts";

/**
 * Starts gossip now (seeds configured) or on demand (none).
 *
 * @example
 * ```ts
 * await startMesh(config, broker, 8787, console.log);
 * ```
 */
export async function startMesh(config: SluiceConfig, broker: Broker, port: number, log: (line: string) => void): Promise<void> {
  const start = async () => {
    (await import("./gossip.ts")).startGossip(config, broker, port, log);
  };
  if ((config.mesh?.peers ?? []).length > 0) await start();
  else broker.gossipOnDemand(start);
}

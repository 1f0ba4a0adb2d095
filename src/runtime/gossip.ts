/**
 * Starts the gossip role for a listening server (bun.ts, deno.ts): this node's identity
 * (`SLUICE_NODE_ID`, `SLUICE_ADVERTISE_URL`, `SLUICE_PEERS`), the `GossipService` on the system
 * clock with the `mesh.gossip.*` timers and `pumps.gossip.*` settings, its sender (fetch with the
 * first bearer token, bounded by the exchange timeout and the pump's signal), and the broker
 * wiring: `POST /v1/mesh/gossip`, `GET /v1/cluster/members`, `left` at shutdown and GOAWAY peers.
 *
 * @module
 */
import { hostname } from "node:os";
import { encodeGossipEnvelope, decodeGossipEnvelope } from "../mesh/gossip/wire.ts";
import { GossipService } from "../mesh/gossip/service.ts";
import type { SendEnvelope } from "../mesh/gossip/config.ts";
import type { QueueDepths } from "../mesh/gossip/member.ts";
import { err } from "../result/result.ts";
import type { Broker } from "../server/broker.ts";
import type { SluiceConfig } from "../server/config.ts";
import { listenUrl } from "./lifecycle.ts";

/**
 * This node's gossip identity once its port is known: id (`mesh.nodeId` / `SLUICE_NODE_ID`, else
 * `<hostname>:<port>`), advertised URL (`mesh.advertiseUrl` / `SLUICE_ADVERTISE_URL`, else the
 * listening URL, with a wildcard host replaced by the hostname) and seeds (`mesh.peers` /
 * `SLUICE_PEERS`, this node's own URL left out).
 *
 * @example
 * ```ts
 * meshIdentity(config, 8787); // { nodeId: "web-3:8787", url: "http://127.0.0.1:8787", seeds: ["http://10.0.0.2:8787"] }
 * ```
 */
export function meshIdentity(config: SluiceConfig, port: number): { nodeId: string; url: string; seeds: string[] } {
  const wildcard = config.host === "0.0.0.0" || config.host === "::" || config.host === "";
  const url = config.mesh?.advertiseUrl ?? listenUrl(wildcard ? hostname() : config.host, port);
  const nodeId = config.mesh?.nodeId ?? `${hostname()}:${port}`;
  const seeds = (config.mesh?.peers ?? []).filter((peer) => peer !== url);
  return { nodeId, url, seeds };
}

/**
 * The outbound pump's sender: POSTs the envelope to `<url>/v1/mesh/gossip` as
 * `application/x-protobuf` with `Authorization: Bearer <token>` (when a token is given); non-2xx,
 * a transport error, the timeout or an undecodable answer is a failed Result (the pump retries).
 *
 * @example
 * ```ts
 * const send = fetchSender(config.authTokens[0], 500);
 * const reply = await send("http://10.0.0.2:8787", envelope, signal);
 * ```
 */
export function fetchSender(token: string | undefined, timeoutMs: number, fetcher: typeof fetch = fetch): SendEnvelope {
  const headers: Record<string, string> = { "content-type": "application/x-protobuf", accept: "application/x-protobuf" };
  if (token !== undefined && token !== "") headers.authorization = `Bearer ${token}`;
  return async (url, envelope, signal) => {
    const bounded = AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]);
    try {
      const res = await fetcher(`${url.replace(/\/+$/, "")}/v1/mesh/gossip`, { method: "POST", headers, body: encodeGossipEnvelope(envelope).slice().buffer, signal: bounded });
      const body = new Uint8Array(await res.arrayBuffer());
      if (!res.ok) return err(res.status === 429 ? "queue.full" : "unavailable", `gossip: ${url} answered HTTP ${res.status}`);
      return decodeGossipEnvelope(body);
    } catch (thrown) {
      if (signal.aborted) return err("canceled", `gossip: exchange with ${url} canceled`);
      if (bounded.aborted) return err("timeout", `gossip: no answer from ${url} within ${timeoutMs} ms`);
      return err("unavailable", `gossip: cannot reach ${url}: ${thrown instanceof Error ? thrown.message : String(thrown)}`);
    }
  };
}

/**
 * Creates, attaches to the broker and starts this node's gossip (after the server listens on
 * `port`). A node with no seeds sends nothing until a peer finds it. The broker's shutdown
 * announces `left` first (one bounded push round) and stops the service after the drain.
 *
 * @example
 * ```ts
 * const gossip = startGossip(config, broker, server.port, console.log);
 * // gossip.members() — what GET /v1/cluster/members answers
 * ```
 */
export function startGossip(config: SluiceConfig, broker: Broker, port: number, log: (line: string) => void): GossipService {
  const { nodeId, url, seeds } = meshIdentity(config, port);
  const timers = config.mesh?.gossip ?? {};
  const intervalMs = timers.intervalMs ?? 1000;
  const timeoutMs = Math.max(1, Math.floor(intervalMs / 2));
  const pumps = config.pumps?.gossip ?? {};
  const queueDepths = (): QueueDepths => Object.fromEntries([...broker.queues].map(([name, queue]) => [name, queue.stats().pending]));
  const gossip = GossipService.create({
    nodeId,
    url,
    seeds,
    ...timers,
    timeoutMs,
    send: fetchSender(config.authTokens[0], timeoutMs),
    outbound: pumps.outbound,
    inbound: pumps.inbound,
    queueDepths,
    metrics: broker.metrics,
    onChange: (c) => log(`sluice: gossip: ${c.id} ${c.from ?? "new"} → ${c.to} (incarnation ${c.incarnation}, ${c.cause})`),
  });
  broker.attachGossip(gossip);
  gossip.start();
  const t = gossip.timers;
  log(
    `sluice: gossip: node ${nodeId} at ${url}, ${seeds.length === 0 ? "no seeds" : `seeds ${seeds.join(", ")}`} (every ${t.intervalMs} ms, fan-out ${t.fanout}, suspect after ${t.suspectAfterMs} ms, dead after ${t.deadAfterMs} ms)`,
  );
  return gossip;
}

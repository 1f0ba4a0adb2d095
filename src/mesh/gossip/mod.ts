/**
 * Gossip membership (issue #16): SWIM-style membership with incarnation numbers, Lifeguard-style
 * local health, push-pull exchange on the `gossip.outbound` / `gossip.inbound` pumps, and an
 * in-process cluster simulation. Runtime-neutral; the server mounts `GossipService`.
 *
 * @example
 * ```ts
 * import { GossipService, encodeGoAway } from "./src/mesh/gossip/mod.ts";
 * const gossip = GossipService.create({ nodeId: "n1", url: "http://10.0.0.1:8787", seeds, send });
 * gossip.start();
 * ```
 */
export * from "./member.ts";
export * from "./envelope.ts";
export * from "./membership.ts";
export * from "./local-health.ts";
export * from "./config.ts";
export * from "./exchange.ts";
export * from "./outbound.ts";
export * from "./inbound.ts";
export * from "./metrics.ts";
export * from "./wire.ts";
export * from "./service.ts";
export * from "./simulation.ts";
export * from "./simulation-scenario.ts";
export * from "./sim-random.ts";
export * from "./self-record.ts";

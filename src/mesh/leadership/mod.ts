/**
 * Leadership, a mesh role (DESIGN.md "Mesh roles", Leadership): leases per scope with strictly
 * increasing fencing terms over a `LeaseStore` (memory, SQLite, NATS KV), kept by the
 * `LeadershipCoordinator` pump, and the downstream's `FenceTerms`. Runtime-neutral.
 *
 * @example
 * ```ts
 * import { LeadershipCoordinator, MemoryLeaseStore } from "./src/mesh/leadership/mod.ts";
 * const coordinator = LeadershipCoordinator.create({ nodeId: "a", store: new MemoryLeaseStore(), scopes: ["bridge/jobs"] });
 * ```
 *
 * @module
 */
export * from "./lease-store.ts";
export * from "./memory-lease-store.ts";
export * from "./sql-lease-store.ts";
export * from "./nats-kv-lease-store.ts";
export * from "./config.ts";
export * from "./events.ts";
export * from "./coordinator.ts";
export * from "./fence-terms.ts";
export * from "./sql-fence-terms.ts";

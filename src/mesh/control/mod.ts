/**
 * Control, a mesh role (DESIGN.md "Mesh roles", Control): the cluster's configuration as one
 * versioned document in a `ControlSource` (NATS KV when clustered, a file on one node), watched by
 * `watchControl` and applied in order by the `ControlApplier` pump, with a last-known-good copy
 * (`LkgStore`) applied before the first watch. Runtime-neutral: file and NATS access are injected.
 *
 * @example
 * ```ts
 * import { ControlAgent, LkgStore, MemoryControlSource, MemoryLkgFiles } from "./src/mesh/control/mod.ts";
 * const agent = ControlAgent.create({ source: new MemoryControlSource(), lkg: new LkgStore(new MemoryLkgFiles()), validate, apply, initial, nodeId: "a" });
 * await agent.start();
 * ```
 *
 * @module
 */
export * from "./source.ts";
export * from "./lkg.ts";
export * from "./metrics.ts";
export * from "./watch.ts";
export * from "./apply.ts";
export * from "./agent.ts";
export * from "./file-source.ts";
export * from "./kv-source.ts";

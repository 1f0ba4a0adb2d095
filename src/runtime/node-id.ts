/**
 * This node's id, as leadership and the control role name it (a module of its own so that the
 * control role, which every node runs, does not load leadership and its NATS client to get it).
 *
 * @module
 */
import { hostname } from "node:os";
import process from "node:process";
import type { SluiceConfig } from "../server/config.ts";

/**
 * This node's id: `mesh.nodeId` / `SLUICE_NODE_ID`, else `<hostname>:<port>` (with port 0 — a port
 * the OS picks — `<hostname>:pid-<pid>`, so nodes on one host differ).
 *
 * @example
 * ```ts
 * nodeIdOf(config); // "web-3:8787"
 * ```
 */
export function nodeIdOf(config: SluiceConfig): string {
  return config.mesh?.nodeId ?? `${hostname()}:${config.port === 0 ? `pid-${process.pid}` : config.port}`;
}

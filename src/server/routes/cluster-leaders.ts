/**
 * `GET /v1/cluster/leaders`: the leadership scopes this node evaluates and who leads each.
 *
 * @module
 */
import type { Hono } from "hono";
import type { ScopeLeader } from "../../mesh/leadership/coordinator.ts";

/**
 * What the broker shows of this node's leadership: every scope with its leader.
 *
 * @example
 * ```ts
 * const view: LeadersView = coordinator; // LeadershipCoordinator has `leaders()`
 * ```
 */
export interface LeadersView {
  leaders(): ScopeLeader[];
}

/**
 * Registers `GET /v1/cluster/leaders` → `{"scopes":[{"scope","leader","term","expiresAtMs"}]}`
 * (DESIGN.md "Mesh roles", Leadership): per scope (`bridge/<queue>` for every bridged queue),
 * the node that leads it as this node knows it (null when nobody holds an unexpired lease it
 * knows of), the lease's term and its expiry (ms since the epoch; null when unknown). Answered
 * from the coordinator's last evaluations (at most `evaluationIntervalMs` old), without a store
 * call; `{"scopes":[]}` when leadership is not running (no bridged queue). Behind the app's
 * bearer auth like every `/v1/` route.
 *
 * @example
 * ```ts
 * registerClusterLeadersRoute(app, broker);
 * // GET /v1/cluster/leaders → {"scopes":[{"scope":"bridge/jobs","leader":"node-a","term":7,"expiresAtMs":1795000010000}]}
 * ```
 */
export function registerClusterLeadersRoute(app: Hono, broker: { readonly leadership: LeadersView | undefined }): void {
  app.get("/v1/cluster/leaders", (c) => c.json({ scopes: broker.leadership?.leaders() ?? [] }));
}

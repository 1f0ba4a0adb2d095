/**
 * The gossip routes: `POST /v1/mesh/gossip` (push-pull exchange between nodes) and
 * `GET /v1/cluster/members` (this node's view of the mesh), behind the app's bearer auth.
 *
 * @module
 */
import type { Hono } from "hono";
import type { ClusterMembers } from "../../mesh/gossip/service.ts";
import type { QueueDepths } from "../../mesh/gossip/member.ts";
import { sluiceError } from "../../result/errors.ts";
import type { Result } from "../../result/result.ts";
import { errorResponse } from "../http-errors.ts";
import { readBodyLimited } from "./body.ts";

/** The largest gossip envelope accepted (32 members with their queue depths fit easily). */
const MAX_GOSSIP_BODY = 1 << 20;

/**
 * What the broker holds of this node's gossip (`GossipService` has all of it): the exchange, the
 * listing, the live peers for GOAWAY, and the departure at shutdown.
 *
 * @example
 * ```ts
 * const view: GossipView = GossipService.create({ nodeId, url, send });
 * broker.attachGossip(view);
 * ```
 */
export interface GossipView {
  receiveBytes(body: Uint8Array): Result<Uint8Array>;
  members(): ClusterMembers;
  peerUrls(): string[];
  leave(options?: { deadlineMs?: number }): Promise<unknown>;
  stop(options?: { deadlineMs?: number }): Promise<unknown>;
}

/**
 * Registers `POST /v1/mesh/gossip` — a protobuf `sluice.v1.GossipEnvelope` in, this node's
 * envelope out (`application/x-protobuf`); 400 for a bad envelope, 429 when the inbound pump is
 * full, 503 when gossip is not running (no mesh, or stopped; one waiting on demand starts now) — and `GET /v1/cluster/members` →
 * `{"self":id,"members":[{"id","url","status","incarnation","lastSeenAtMs","queues":{"<name>":<pending>}}]}`
 * (without gossip: this node alone, from `fallbackSelf`).
 *
 * @example
 * ```ts
 * registerGossipRoutes(app, broker, () => ({ id: "n1", queues: { jobs: 3 } }));
 * // GET /v1/cluster/members → {"self":"n1","members":[{"id":"n1","url":"","status":"alive",…}]}
 * ```
 */
export function registerGossipRoutes(app: Hono, broker: { readonly gossip: GossipView | undefined; wakeGossip?(): Promise<GossipView | undefined> }, fallbackSelf: () => { id: string; queues: QueueDepths }): void {
  app.post("/v1/mesh/gossip", async (c) => {
    // A node without seeds starts gossip when the first peer calls (Broker.gossipOnDemand).
    const gossip = broker.gossip ?? (await broker.wakeGossip?.());
    if (gossip === undefined) return errorResponse(c, sluiceError("unavailable", "gossip is not running on this node"));
    const body = await readBodyLimited(c.req.raw, MAX_GOSSIP_BODY);
    if (!body.ok) return errorResponse(c, body.error);
    const answered = gossip.receiveBytes(body.value);
    if (!answered.ok) return errorResponse(c, answered.error);
    return c.body(answered.value.slice().buffer, 200, { "content-type": "application/x-protobuf" });
  });
  app.get("/v1/cluster/members", (c) => {
    if (broker.gossip !== undefined) return c.json(broker.gossip.members());
    const self = fallbackSelf();
    return c.json({ self: self.id, members: [{ id: self.id, url: "", status: "alive", incarnation: 0, lastSeenAtMs: Date.now(), queues: self.queues }] });
  });
}

/**
 * `GossipEnvelope`, one side of a push-pull exchange, and its validation (what a route checks
 * before it answers).
 *
 * @module
 */
import { sluiceError } from "../../result/errors.ts";
import { err, ok, type Result } from "../../result/result.ts";
import { MEMBER_STATUSES, type MemberRecord } from "./member.ts";

/**
 * One side of a push-pull exchange: who sends it and a bounded selection of its members (itself
 * first). The in-process form of `sluice.v1.GossipEnvelope` (`wire.ts` converts).
 *
 * @example
 * ```ts
 * const envelope: GossipEnvelope = { fromId: "n1", fromUrl: "http://n1:8787", round: 3, members: [self] };
 * ```
 */
export interface GossipEnvelope {
  readonly fromId: string;
  readonly fromUrl: string;
  /** The sender's gossip round (informational). */
  readonly round?: number;
  readonly members: readonly MemberRecord[];
}

/**
 * Most members one envelope may carry; a peer sending more is refused (`validation`).
 *
 * @example
 * ```ts
 * if (members.length > MAX_ENVELOPE_MEMBERS) refuse();
 * ```
 */
export const MAX_ENVELOPE_MEMBERS = 1024;

/**
 * Checks an envelope from a peer: non-empty sender id and url, at most `MAX_ENVELOPE_MEMBERS`
 * members, each with an id, a url, a known status and a safe non-negative incarnation, and queue
 * depths that are safe non-negative integers. Fails with `validation` (an HTTP 400), naming the
 * first problem.
 *
 * @example
 * ```ts
 * const checked = validateEnvelope(envelope);
 * if (!checked.ok) return checked; // 400
 * ```
 */
export function validateEnvelope(envelope: GossipEnvelope): Result<GossipEnvelope> {
  if (typeof envelope.fromId !== "string" || envelope.fromId.length === 0) return invalid("fromId must be a non-empty string");
  if (typeof envelope.fromUrl !== "string" || envelope.fromUrl.length === 0) return invalid("fromUrl must be a non-empty string");
  if (!Array.isArray(envelope.members)) return invalid("members must be an array");
  if (envelope.members.length > MAX_ENVELOPE_MEMBERS) return invalid(`at most ${MAX_ENVELOPE_MEMBERS} members per envelope`);
  for (const [i, m] of envelope.members.entries()) {
    if (typeof m.id !== "string" || m.id.length === 0) return invalid(`members[${i}].id must be a non-empty string`);
    if (typeof m.url !== "string" || m.url.length === 0) return invalid(`members[${i}].url must be a non-empty string`);
    if (!MEMBER_STATUSES.includes(m.status)) return invalid(`members[${i}].status is not a member status`);
    if (!isCount(m.incarnation)) return invalid(`members[${i}].incarnation must be a safe non-negative integer`);
    for (const [queue, depth] of Object.entries(m.queues ?? {})) {
      if (!isCount(depth)) return invalid(`members[${i}].queues[${JSON.stringify(queue)}] must be a safe non-negative integer`);
    }
  }
  return ok(envelope);
}

function isCount(n: unknown): boolean {
  return typeof n === "number" && Number.isSafeInteger(n) && n >= 0;
}

function invalid(message: string): Result<never> {
  return err(sluiceError("validation", `gossip envelope: ${message}`));
}

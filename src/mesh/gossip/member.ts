/**
 * A member record and the total order that makes merging membership a join (idempotent,
 * commutative, associative): per member id, the greater record wins.
 *
 * The order is (incarnation, status rank, url, queue depths), status rank alive < suspect < dead <
 * left. Only the member itself raises its incarnation (start-up, refutation, a change of its own
 * data, leave); other nodes may only move it up the status ranks at the incarnation they know,
 * so a stale `alive` (lower or equal incarnation) can never undo `suspect`, `dead` or `left`.
 * `left` outranks `dead` at the same incarnation: it is the member's own word.
 *
 * @module
 */

/**
 * A member's state: `alive` and `suspect` are live (gossip targets), `dead` and `left` are
 * tombstones kept for a while so stale gossip cannot bring the member back.
 *
 * @example
 * ```ts
 * const status: MemberStatus = "suspect";
 * ```
 */
export type MemberStatus = "alive" | "suspect" | "dead" | "left";

/**
 * Every status, in rank order.
 *
 * @example
 * ```ts
 * for (const status of MEMBER_STATUSES) gauge.labels({ status }).set(0);
 * ```
 */
export const MEMBER_STATUSES: readonly MemberStatus[] = ["alive", "suspect", "dead", "left"];

/**
 * Pending depth per queue name, as a member reports it.
 *
 * @example
 * ```ts
 * const depths: QueueDepths = { jobs: 12, emails: 0 };
 * ```
 */
export type QueueDepths = Readonly<Record<string, number>>;

/**
 * What a node believes about one member; immutable, shared between tables and envelopes.
 *
 * @example
 * ```ts
 * const r: MemberRecord = memberRecord({ id: "n1", url: "http://n1:8787", status: "alive", incarnation: 7 });
 * ```
 */
export interface MemberRecord {
  readonly id: string;
  readonly url: string;
  readonly status: MemberStatus;
  /** Raised only by the member itself; a safe integer (the wire carries uint64). */
  readonly incarnation: number;
  readonly queues: QueueDepths;
}

const RANK: Readonly<Record<MemberStatus, number>> = { alive: 0, suspect: 1, dead: 2, left: 3 };
const NO_QUEUES: QueueDepths = Object.freeze({});

/**
 * The precedence of a status at equal incarnation: alive 0 < suspect 1 < dead 2 < left 3.
 *
 * @example
 * ```ts
 * statusRank("suspect") > statusRank("alive"); // true
 * ```
 */
export function statusRank(status: MemberStatus): number {
  return RANK[status];
}

/**
 * True for `alive` and `suspect`: members that are gossiped with and listed as peers.
 *
 * @example
 * ```ts
 * isLive("suspect"); // true
 * isLive("left"); // false
 * ```
 */
export function isLive(status: MemberStatus): boolean {
  return status === "alive" || status === "suspect";
}

/**
 * Builds a frozen record (queue depths copied and frozen; an empty map is shared).
 *
 * @example
 * ```ts
 * const r = memberRecord({ id: "n1", url: "http://n1:8787", status: "alive", incarnation: 1, queues: { jobs: 3 } });
 * ```
 */
export function memberRecord(fields: {
  id: string;
  url: string;
  status: MemberStatus;
  incarnation: number;
  queues?: QueueDepths;
}): MemberRecord {
  const queues = fields.queues === undefined || Object.keys(fields.queues).length === 0 ? NO_QUEUES : Object.freeze({ ...fields.queues });
  return Object.freeze({ id: fields.id, url: fields.url, status: fields.status, incarnation: fields.incarnation, queues });
}

/**
 * The same record with another status and/or incarnation (a new frozen object).
 *
 * @example
 * ```ts
 * const suspected = withStatus(record, "suspect");
 * const refuted = withStatus(record, "alive", record.incarnation + 1);
 * ```
 */
export function withStatus(record: MemberRecord, status: MemberStatus, incarnation = record.incarnation): MemberRecord {
  return Object.freeze({ id: record.id, url: record.url, status, incarnation, queues: record.queues });
}

/**
 * The total order of two records of the same member: negative when `a` is older, 0 when equal,
 * positive when `a` supersedes `b`. Ties on (incarnation, status) — which correct nodes never
 * produce with different data — are broken by url and then queue depths, so the order is total
 * and merge stays order-independent whatever a peer sends.
 *
 * @example
 * ```ts
 * compareRecords(withStatus(r, "suspect"), r) > 0; // suspicion beats alive at the same incarnation
 * compareRecords(withStatus(r, "alive", r.incarnation + 1), withStatus(r, "dead")) > 0; // refutation
 * ```
 */
export function compareRecords(a: MemberRecord, b: MemberRecord): number {
  if (a === b) return 0;
  if (a.incarnation !== b.incarnation) return a.incarnation < b.incarnation ? -1 : 1;
  const rank = RANK[a.status] - RANK[b.status];
  if (rank !== 0) return rank;
  if (a.url !== b.url) return a.url < b.url ? -1 : 1;
  if (a.queues === b.queues) return 0;
  const ka = queuesKey(a.queues);
  const kb = queuesKey(b.queues);
  return ka === kb ? 0 : ka < kb ? -1 : 1;
}

/**
 * True when two depth maps hold the same entries.
 *
 * @example
 * ```ts
 * sameQueues({ a: 1 }, { a: 1 }); // true
 * ```
 */
export function sameQueues(a: QueueDepths, b: QueueDepths): boolean {
  return a === b || queuesKey(a) === queuesKey(b);
}

function queuesKey(queues: QueueDepths): string {
  return JSON.stringify(Object.keys(queues).sort().map((k) => [k, queues[k]]));
}

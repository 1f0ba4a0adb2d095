/**
 * The option, change and listing types of `Membership`.
 *
 * @module
 */
import { type Clock, systemClock } from "../../result/clock.ts";
import { requireInteger, requireNumber } from "../../result/options.ts";
import type { MemberRecord, MemberStatus, QueueDepths } from "./member.ts";

/**
 * Options of `new Membership`; timers in ms on `clock`.
 *
 * @example
 * ```ts
 * const options: MembershipOptions = { id: "n1", url: "http://n1:8787", clock, suspectAfterMs: 5000 };
 * ```
 */
export interface MembershipOptions {
  id: string;
  url: string;
  /** Starting incarnation. Default `max(1, floor(clock.now()))`: wall ms, above any earlier life's. */
  incarnation?: number;
  queues?: QueueDepths;
  clock?: Clock;
  /** Hinted and unheard this long → suspect. Default 5000. */
  suspectAfterMs?: number;
  /** Suspect and unheard this long → dead. Default 15000. */
  deadAfterMs?: number;
  /** Dead/left this long → forgotten. Default 4 × (suspectAfterMs + deadAfterMs). */
  forgetAfterMs?: number;
  /** Members per envelope, this node included. Default 32. */
  maxEnvelopeMembers?: number;
  /** A rumor rides in `retransmitMult · ⌈log10(n + 1)⌉` envelopes. Default 4. */
  retransmitMult?: number;
  /** Called on every status change of a member (this node included). */
  onChange?: (change: MemberChange) => void;
}

/**
 * One status change as the table saw it; `cause` says whether gossip, the sweep, or this node
 * itself (refute, leave) made it.
 *
 * @example
 * ```ts
 * new Membership({ id, url, onChange: (c) => log(`${c.id}: ${c.from} → ${c.to} (${c.cause})`) });
 * ```
 */
export interface MemberChange {
  readonly id: string;
  readonly from: MemberStatus | undefined;
  readonly to: MemberStatus;
  readonly incarnation: number;
  readonly cause: "gossip" | "sweep" | "self";
  readonly at: number;
}

/**
 * One row of a members listing (`GET /v1/cluster/members`).
 *
 * @example
 * ```ts
 * const row: MemberView = membership.list()[0]; // this node
 * ```
 */
export interface MemberView {
  readonly id: string;
  readonly url: string;
  readonly status: MemberStatus;
  readonly incarnation: number;
  readonly lastSeenAtMs: number;
  readonly queues: QueueDepths;
}

/**
 * The listing row of a record with this node's last-seen time.
 *
 * @example
 * ```ts
 * memberView(record, clock.now()); // { id, url, status, incarnation, lastSeenAtMs, queues }
 * ```
 */
export function memberView(record: MemberRecord, lastSeenAtMs: number): MemberView {
  return { id: record.id, url: record.url, status: record.status, incarnation: record.incarnation, lastSeenAtMs, queues: record.queues };
}

/**
 * `MembershipOptions` with defaults applied and checked (a bad value throws, naming it).
 *
 * @example
 * ```ts
 * resolveMembershipOptions({ id: "n1", url }).deadAfterMs; // 15000
 * ```
 */
export function resolveMembershipOptions(options: MembershipOptions) {
  const owner = "Membership";
  if (typeof options.id !== "string" || options.id.length === 0) throw new TypeError(`${owner}: id must be a non-empty string`);
  if (typeof options.url !== "string" || options.url.length === 0) throw new TypeError(`${owner}: url must be a non-empty string`);
  const clock = options.clock ?? systemClock;
  const suspectAfterMs = requireNumber(owner, "suspectAfterMs", options.suspectAfterMs ?? 5000, 1);
  const deadAfterMs = requireNumber(owner, "deadAfterMs", options.deadAfterMs ?? 15_000, 1);
  return {
    clock,
    suspectAfterMs,
    deadAfterMs,
    forgetAfterMs: requireNumber(owner, "forgetAfterMs", options.forgetAfterMs ?? 4 * (suspectAfterMs + deadAfterMs), 1),
    maxEnvelopeMembers: requireInteger(owner, "maxEnvelopeMembers", options.maxEnvelopeMembers ?? 32, 4),
    retransmitMult: requireNumber(owner, "retransmitMult", options.retransmitMult ?? 4, 1),
    incarnation: requireInteger(owner, "incarnation", options.incarnation ?? Math.max(1, Math.floor(clock.now())), 0),
  };
}

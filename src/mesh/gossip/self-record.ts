/**
 * This node's own record: what it says of itself, and how it outbids what others say of it.
 *
 * @module
 */
import { compareRecords, type MemberRecord, memberRecord, type QueueDepths, sameQueues, withStatus } from "./member.ts";

/**
 * The record a node gossips about itself. Two inputs: its own word (`base`: start-up, queue
 * changes, leave — each a new incarnation) and the greatest record about it that others sent
 * (`seen`, a join, so arrival order does not matter). `current` is `base` unless `seen` beats it;
 * then it is `base`'s word at `seen`'s incarnation when that already outranks `seen` (an echo of
 * its own record, or a `left` node hearing `dead`), else at `seen`'s incarnation + 1 — the SWIM
 * refutation, which every other node then prefers.
 *
 * @example
 * ```ts
 * const me = new SelfRecord(memberRecord({ id: "n1", url, status: "alive", incarnation: 10 }));
 * me.merge(withStatus(me.current, "suspect")); // true: now alive at 11
 * ```
 */
export class SelfRecord {
  #base: MemberRecord;
  #seen: MemberRecord | undefined;
  #current: MemberRecord;

  constructor(base: MemberRecord) {
    this.#base = base;
    this.#current = base;
  }

  /** The record to gossip. */
  get current(): MemberRecord {
    return this.#current;
  }

  /** Takes a record about this node from a peer; true when `current` changed (a refutation). */
  merge(incoming: MemberRecord): boolean {
    if (this.#seen !== undefined && compareRecords(incoming, this.#seen) <= 0) return false;
    this.#seen = incoming;
    return this.#set(this.#base);
  }

  /** New queue depths in a new incarnation; false when unchanged. */
  updateQueues(queues: QueueDepths): boolean {
    const current = this.#current;
    if (sameQueues(current.queues, queues)) return false;
    return this.#set(memberRecord({ ...current, incarnation: current.incarnation + 1, queues }));
  }

  /** `left` at a raised incarnation; false when already left. */
  leave(): boolean {
    const current = this.#current;
    return current.status !== "left" && this.#set(withStatus(current, "left", current.incarnation + 1));
  }

  #set(base: MemberRecord): boolean {
    this.#base = base;
    const seen = this.#seen;
    let next = base;
    if (seen !== undefined && compareRecords(seen, base) > 0) {
      const echo = withStatus(base, base.status, seen.incarnation);
      next = compareRecords(seen, echo) <= 0 ? echo : withStatus(base, base.status, seen.incarnation + 1);
    }
    if (compareRecords(next, this.#current) === 0) return false;
    this.#current = next;
    return true;
  }
}

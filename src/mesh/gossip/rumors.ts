/**
 * Rumors: recently changed members ride in envelopes first, each for a bounded number of sends
 * (SWIM's piggybacking, with memberlist's budget of `retransmitMult · ⌈log10(n + 1)⌉`).
 *
 * @module
 */
import type { MemberEntry } from "./member-index.ts";
import type { MemberRecord } from "./member.ts";

/**
 * Rumor priority of a change of membership: a join, a suspicion, a death, a leave, a refutation.
 *
 * @example
 * ```ts
 * rumors.spread(entry, MEMBERSHIP_CHANGE);
 * ```
 */
export const MEMBERSHIP_CHANGE = 2;

/**
 * Rumor priority of a change of a member's data only (a new incarnation carrying new queue depths).
 *
 * @example
 * ```ts
 * rumors.spread(entry, DATA_CHANGE);
 * ```
 */
export const DATA_CHANGE = 1;

/**
 * The entries whose latest change is still being spread. Envelopes take membership changes
 * before data changes and, within a priority, the least-sent first; a rumor retires once it has
 * ridden in `budget` envelopes. The set is bounded (`limit`): past it, the weakest quarter (lowest
 * priority, most sent) retires early.
 *
 * @example
 * ```ts
 * const rumors = new Rumors(128);
 * rumors.spread(entry, MEMBERSHIP_CHANGE);
 * rumors.take(members, 22, stamp, 16); // appends up to 22 records
 * ```
 */
export class Rumors {
  readonly #live = new Set<MemberEntry>();
  readonly #scratch: MemberEntry[] = [];

  constructor(private readonly limit: number) {}

  /** Rumors being spread now. */
  get size(): number {
    return this.#live.size;
  }

  /** Starts (or restarts) spreading `entry`'s current record; a higher priority is kept. */
  spread(entry: MemberEntry, priority: number): void {
    entry.rumor = this.#live.has(entry) ? Math.max(entry.rumor, priority) : priority;
    entry.rumorSent = 0;
    this.#live.add(entry);
    if (this.#live.size > this.limit) this.#evict();
  }

  /** Stops spreading `entry` (it was forgotten). */
  drop(entry: MemberEntry): void {
    if (this.#live.delete(entry)) entry.rumor = 0;
  }

  /**
   * Appends up to `slots` rumored records not yet in this envelope (`entry.stamp !== stamp`),
   * stamps them, counts the send, and retires rumors that reached `budget` sends.
   */
  take(out: MemberRecord[], slots: number, stamp: number, budget: number): void {
    if (slots <= 0 || this.#live.size === 0) return;
    const picked = this.#scratch;
    picked.length = 0;
    for (const entry of this.#live) if (entry.stamp !== stamp) picked.push(entry);
    if (picked.length > slots) picked.sort((a, b) => b.rumor - a.rumor || a.rumorSent - b.rumorSent);
    const n = Math.min(slots, picked.length);
    for (let i = 0; i < n; i++) {
      const entry = picked[i]!;
      entry.stamp = stamp;
      out.push(entry.record);
      if (++entry.rumorSent >= budget) this.drop(entry);
    }
    picked.length = 0;
  }

  /** Past the limit, retires the weakest quarter at once (amortised O(log n) per rumor). */
  #evict(): void {
    const all = [...this.#live].sort((a, b) => b.rumor - a.rumor || a.rumorSent - b.rumorSent);
    for (let i = Math.floor((this.limit * 3) / 4); i < all.length; i++) this.drop(all[i]!);
  }
}

/**
 * Which members an envelope carries: bounded, fair, news first.
 *
 * @module
 */
import type { MemberIndex } from "./member-index.ts";
import type { MemberRecord } from "./member.ts";
import type { Rumors } from "./rumors.ts";

/**
 * Fills envelopes of at most `max` members, in this order:
 * 1. the sender itself (always);
 * 2. the target's own record when the sender holds it `suspect`/`dead`/`left` (Lifeguard's
 *    "buddy system": the target learns of the suspicion at once and can refute it);
 * 3. rumors — recent changes, membership changes before data changes, least-sent first — in at
 *    most `max − 2 − max/4` slots, so a storm of news never starves the rotation;
 * 4. a window rotating over the whole table from where the last envelope stopped, so every
 *    member (tombstones included) is carried in turn — not always the first 32.
 * No member appears twice (entries are stamped per envelope rather than collected in a Set).
 *
 * @example
 * ```ts
 * const selector = new EnvelopeSelector(32);
 * const members = selector.select(self, index, rumors, "n7", 16);
 * ```
 */
export class EnvelopeSelector {
  #stamp = 0;
  #cursor = 0;

  constructor(readonly max: number) {}

  /** The members for an envelope to `targetId` (undefined: a seed not known by id yet). */
  select(self: MemberRecord, index: MemberIndex, rumors: Rumors, targetId: string | undefined, rumorBudget: number): MemberRecord[] {
    const max = this.max;
    const stamp = ++this.#stamp;
    const members: MemberRecord[] = [self];
    const target = targetId === undefined ? undefined : index.get(targetId);
    if (target !== undefined && target.record.status !== "alive") {
      target.stamp = stamp;
      members.push(target.record);
    }
    rumors.take(members, max - 2 - (max >> 2), stamp, rumorBudget);
    const values = index.values();
    const n = values.length;
    let cursor = this.#cursor;
    for (let scanned = 0; members.length < max && scanned < n; scanned++) {
      if (cursor >= n) cursor = 0;
      const entry = values[cursor++]!;
      if (entry.stamp === stamp) continue;
      entry.stamp = stamp;
      members.push(entry.record);
    }
    this.#cursor = cursor;
    return members;
  }
}

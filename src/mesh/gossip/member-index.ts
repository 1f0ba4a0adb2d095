/**
 * The membership table's storage: one mutable `MemberEntry` per known peer (its record plus what
 * this node observed locally), in a map for lookup and an array for fair rotation and sampling.
 *
 * @module
 */
import type { MemberRecord } from "./member.ts";

/**
 * A peer as this node holds it: the gossiped record plus local observations, which are never
 * gossiped (they are on this node's clock).
 *
 * @example
 * ```ts
 * const entry: MemberEntry = index.get("n2")!;
 * const quietFor = clock.now() - entry.lastSeenAtMs;
 * ```
 */
export interface MemberEntry {
  record: MemberRecord;
  /** Last evidence of life on this node's clock: direct contact, or a newer incarnation of it. */
  lastSeenAtMs: number;
  /** When this node's entry took its current status. */
  statusSinceMs: number;
  /** Set when an exchange with it failed for good (a suspicion hint); cleared by any sign of life. */
  unreachableSinceMs: number | undefined;
  /** Position in the index's array (swap-remove). */
  index: number;
  /** Last envelope build that included it (no duplicates without a Set per build). */
  stamp: number;
  /** In the table's sweep set / hinted set (saves Set operations when nothing changed). */
  timed: boolean;
  hinted: boolean;
  /** Rumor priority: 0 none, 1 an update of its data, 2 a change of membership (join, status). */
  rumor: number;
  /** Envelopes this rumor has ridden in so far. */
  rumorSent: number;
}

/**
 * Map plus dense array of entries: O(1) lookup, insert, swap-remove, and random or rotating
 * access by position.
 *
 * @example
 * ```ts
 * const index = new MemberIndex();
 * index.add(newEntry(record, clock.now()));
 * index.at(Math.floor(Math.random() * index.size));
 * ```
 */
export class MemberIndex {
  readonly #byId = new Map<string, MemberEntry>();
  readonly #list: MemberEntry[] = [];

  /** Number of entries. */
  get size(): number {
    return this.#list.length;
  }

  /** The entry of `id`, if known. */
  get(id: string): MemberEntry | undefined {
    return this.#byId.get(id);
  }

  /** The entry at position `i` (0 ≤ i < size). */
  at(i: number): MemberEntry {
    return this.#list[i]!;
  }

  /** Adds an entry (its id must be new); returns it. */
  add(entry: MemberEntry): MemberEntry {
    entry.index = this.#list.length;
    this.#list.push(entry);
    this.#byId.set(entry.record.id, entry);
    return entry;
  }

  /** Removes an entry; the last entry takes its position. */
  remove(entry: MemberEntry): void {
    const last = this.#list.pop()!;
    if (last !== entry) {
      this.#list[entry.index] = last;
      last.index = entry.index;
    }
    this.#byId.delete(entry.record.id);
  }

  /** Every entry, in storage order. */
  values(): readonly MemberEntry[] {
    return this.#list;
  }
}

/**
 * A fresh entry for a record first heard of at `now`.
 *
 * @example
 * ```ts
 * index.add(newEntry(record, clock.now()));
 * ```
 */
export function newEntry(record: MemberRecord, now: number): MemberEntry {
  return { record, lastSeenAtMs: now, statusSinceMs: now, unreachableSinceMs: undefined, timed: false, hinted: false, index: -1, stamp: 0, rumor: 0, rumorSent: 0 };
}

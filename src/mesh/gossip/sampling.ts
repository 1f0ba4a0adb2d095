/**
 * Random choice of gossip targets among live peers.
 *
 * @module
 */
import type { MemberEntry, MemberIndex } from "./member-index.ts";
import { isLive, type MemberRecord } from "./member.ts";

const NONE: ReadonlySet<MemberEntry> = new Set();

/**
 * Up to `k` distinct peers: first up to `k − 1` (at least 1) from `first` (in its order), then
 * chosen uniformly at random among those `alive` or `suspect` (suspects
 * too: an exchange with one is how it gets the chance to refute). Samples by position and falls
 * back to a full scan only when live peers are scarce, so a round costs O(k) in the usual case.
 *
 * @example
 * ```ts
 * const targets = pickLive(index, 3, Math.random); // e.g. [n7, n2, n31]
 * ```
 */
export function pickLive(index: MemberIndex, k: number, random: () => number, first: ReadonlySet<MemberEntry> = NONE): MemberRecord[] {
  const n = index.size;
  const picked: MemberRecord[] = [];
  if (k <= 0 || n === 0) return picked;
  if (first.size > 0) {
    const retry = Math.max(1, k - 1);
    for (const entry of first) {
      if (picked.length >= retry) break;
      if (isLive(entry.record.status)) picked.push(entry.record);
    }
  }
  for (let tries = 0; tries < 4 * k && picked.length < k; tries++) {
    const record = index.at(Math.floor(random() * n)).record;
    if (isLive(record.status) && !picked.includes(record)) picked.push(record);
  }
  if (picked.length === k) return picked;
  const rest: MemberRecord[] = [];
  for (const entry of index.values()) if (isLive(entry.record.status) && !picked.includes(entry.record)) rest.push(entry.record);
  while (picked.length < k && rest.length > 0) {
    const i = Math.floor(random() * rest.length);
    picked.push(rest[i]!);
    rest[i] = rest[rest.length - 1]!;
    rest.pop();
  }
  return picked;
}

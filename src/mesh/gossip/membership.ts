/**
 * The membership table: SWIM rules with incarnation numbers, a suspicion sweep and tombstones.
 *
 * - **Merge** keeps, per member, the greatest record in the total order of `member.ts`
 *   (incarnation, then alive < suspect < dead < left): idempotent and independent of arrival
 *   order. A lower or equal incarnation never overrides `suspect`, `dead` or `left`.
 * - **This node** refutes what others say of it by outbidding it (`self-record.ts`). It starts
 *   at incarnation `max(1, clock.now())` (wall ms) unless given one and raises it at most once
 *   per round plus once per refutation, so a restart comes back above its earlier life.
 * - **Sweep** (each round; timers × the local-health multiplier, `local-health.ts`): `alive` →
 *   `suspect` once an exchange with it failed for good (a hint) and nothing was heard from it for
 *   `suspectAfterMs` since — meanwhile it is probed again first each round, so one unlucky
 *   exchange on a lossy network is no suspicion; `suspect` → `dead` after `deadAfterMs` suspect
 *   and unheard; `dead`/`left` forgotten after `forgetAfterMs` (the tombstone window), their
 *   last incarnation remembered longer (4,096 ids) so stale gossip cannot re-add them. "Heard
 *   from": direct contact, or a newer incarnation of it. Why a failed exchange is required: in a
 *   cluster larger than an envelope a node hears from most members only now and then, so a plain
 *   "quiet for 5 s" timer would suspect nearly everyone; as in SWIM the probe (the exchange)
 *   detects, and the timers bound how long a suspicion takes and may stand.
 * - **Envelopes**: at most `maxEnvelopeMembers`, chosen by `EnvelopeSelector` (`selection.ts`).
 *
 * @module
 */
import type { Clock } from "../../result/clock.ts";
import type { GossipEnvelope } from "./envelope.ts";
import { type MemberEntry, MemberIndex, newEntry } from "./member-index.ts";
import { compareRecords, type MemberRecord, memberRecord, type MemberStatus, type QueueDepths, withStatus } from "./member.ts";
import { DATA_CHANGE, MEMBERSHIP_CHANGE, Rumors } from "./rumors.ts";
import { pickLive } from "./sampling.ts";
import { EnvelopeSelector } from "./selection.ts";
import { SelfRecord } from "./self-record.ts";
import { type MemberChange, type MembershipOptions, memberView, type MemberView, resolveMembershipOptions } from "./membership-types.ts";

export type { MemberChange, MembershipOptions, MemberView };

const FORGOTTEN_KEPT = 4096;

/**
 * A node's view of the cluster (see the module comment for the rules).
 *
 * @example
 * ```ts
 * const table = new Membership({ id: "n1", url: "http://n1:8787", clock });
 * table.receive(envelopeFromPeer);
 * table.sweep();
 * const reply = table.envelope("n2");
 * ```
 */
export class Membership {
  readonly clock: Clock;
  readonly suspectAfterMs: number;
  readonly deadAfterMs: number;
  readonly forgetAfterMs: number;
  readonly maxEnvelopeMembers: number;
  readonly #retransmitMult: number;
  readonly #onChange: ((change: MemberChange) => void) | undefined;
  readonly #index = new MemberIndex();
  readonly #rumors: Rumors;
  readonly #selector: EnvelopeSelector;
  /** Entries a sweep may move: alive with a hint, suspect, dead, left. */
  readonly #timed = new Set<MemberEntry>();
  /** Alive entries with a hint: probed again first, so one unlucky exchange is not a suspicion. */
  readonly #hinted = new Set<MemberEntry>();
  readonly #forgotten = new Map<string, number>();
  readonly #me: SelfRecord;
  #refutations = 0;

  constructor(options: MembershipOptions) {
    const resolved = resolveMembershipOptions(options);
    this.clock = resolved.clock;
    this.suspectAfterMs = resolved.suspectAfterMs;
    this.deadAfterMs = resolved.deadAfterMs;
    this.forgetAfterMs = resolved.forgetAfterMs;
    this.maxEnvelopeMembers = resolved.maxEnvelopeMembers;
    this.#retransmitMult = resolved.retransmitMult;
    this.#onChange = options.onChange;
    this.#rumors = new Rumors(4 * this.maxEnvelopeMembers);
    this.#selector = new EnvelopeSelector(this.maxEnvelopeMembers);
    this.#me = new SelfRecord(memberRecord({ id: options.id, url: options.url, status: "alive", incarnation: resolved.incarnation, queues: options.queues }));
  }

  /** This node's own record. */
  get self(): MemberRecord {
    return this.#me.current;
  }

  /** Peers held (any status), this node not included. */
  get size(): number {
    return this.#index.size;
  }

  /** How many times this node refuted a record about itself. */
  get refutations(): number {
    return this.#refutations;
  }

  /** The record held for `id` (this node's own included), if any. */
  record(id: string): MemberRecord | undefined {
    return id === this.self.id ? this.self : this.#index.get(id)?.record;
  }

  /** Every member, this node first, then by id; `lastSeenAtMs` on this node's clock. */
  list(): MemberView[] {
    const rows = this.#index.values().map((e) => memberView(e.record, e.lastSeenAtMs));
    rows.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return [memberView(this.self, this.clock.now()), ...rows];
  }

  /** Members per status, this node included. */
  counts(): Record<MemberStatus, number> {
    const counts = { alive: 0, suspect: 0, dead: 0, left: 0 };
    counts[this.self.status]++;
    for (const entry of this.#index.values()) counts[entry.record.status]++;
    return counts;
  }

  /** Urls of the peers held alive (for a draining node's GOAWAY). */
  liveUrls(): string[] {
    return this.#index.values().filter((e) => e.record.status === "alive").map((e) => e.record.url);
  }

  /**
   * Up to `k` distinct peers to gossip with: first up to `k − 1` (at least 1) of those whose last
   * exchange failed (probed again before the sweep may suspect them), then random live ones.
   */
  pickTargets(k: number, random: () => number = Math.random): MemberRecord[] {
    return pickLive(this.#index, k, random, this.#hinted);
  }

  /**
   * Loads records known from elsewhere (a saved member list, a test's bootstrap) by the merge
   * rules, without spreading them as news or reporting changes.
   */
  restore(records: Iterable<MemberRecord>): void {
    const now = this.clock.now();
    for (const record of records) {
      if (record.id === this.self.id || this.#index.get(record.id) !== undefined) this.merge(record, now);
      else if (!this.#isForgotten(record)) this.#retime(this.#add(record, now));
    }
  }

  /** Merges one record; true when it changed the table. */
  merge(incoming: MemberRecord, now: number = this.clock.now()): boolean {
    const entry = this.#index.get(incoming.id);
    if (entry === undefined) {
      if (incoming.id === this.self.id) return this.#mergeSelf(incoming, now);
      if (this.#isForgotten(incoming)) return false;
      const added = this.#add(incoming, now);
      this.#rumors.spread(added, MEMBERSHIP_CHANGE);
      this.#retime(added);
      this.#notify(incoming, undefined, "gossip", now);
      return true;
    }
    const held = entry.record;
    if (held === incoming || compareRecords(incoming, held) <= 0) return false;
    entry.record = incoming;
    if (incoming.status === "alive" && incoming.incarnation > held.incarnation) {
      entry.lastSeenAtMs = now;
      entry.unreachableSinceMs = undefined;
    }
    const changed = incoming.status !== held.status;
    if (changed) {
      entry.statusSinceMs = now;
      this.#notify(incoming, held.status, "gossip", now);
    }
    this.#rumors.spread(entry, changed ? MEMBERSHIP_CHANGE : DATA_CHANGE);
    this.#retime(entry);
    return true;
  }

  /** Merges every member of an envelope and counts its sender as heard from; the number of changes. */
  receive(envelope: GossipEnvelope): number {
    const now = this.clock.now();
    let changed = 0;
    for (const record of envelope.members) if (this.merge(record, now)) changed++;
    this.heard(envelope.fromId, now);
    return changed;
  }

  /** Direct contact with `id`: it is alive now; clears its suspicion hint and postpones any verdict. */
  heard(id: string, now: number = this.clock.now()): void {
    const entry = this.#index.get(id);
    if (entry === undefined) return;
    entry.lastSeenAtMs = now;
    if (entry.unreachableSinceMs !== undefined) {
      entry.unreachableSinceMs = undefined;
      this.#retime(entry);
    }
  }

  /** True while `id` is alive here with a suspicion hint (its exchanges failed, not yet suspected). */
  isHinted(id: string): boolean {
    return this.#index.get(id)?.hinted ?? false;
  }

  /** A suspicion hint: an exchange with `id` failed for good. Never a verdict by itself. */
  unreachable(id: string): void {
    const entry = this.#index.get(id);
    if (entry !== undefined && entry.unreachableSinceMs === undefined) {
      entry.unreachableSinceMs = this.clock.now();
      this.#retime(entry);
    }
  }

  /**
   * Applies the timers, each × `multiplier` (the local-health factor): hinted for
   * `suspectAfterMs` → suspect; suspect and unheard for `deadAfterMs` → dead; dead/left for
   * `forgetAfterMs` → forgotten. Returns how many entries moved.
   */
  sweep(multiplier = 1): number {
    const now = this.clock.now();
    let moved = 0;
    for (const entry of this.#timed) {
      const status = entry.record.status;
      if (status === "alive") {
        if (entry.unreachableSinceMs === undefined || now - entry.unreachableSinceMs < this.suspectAfterMs * multiplier) continue;
        this.#transition(entry, "suspect", now);
      } else if (status === "suspect") {
        if (now - Math.max(entry.statusSinceMs, entry.lastSeenAtMs) < this.deadAfterMs * multiplier) continue;
        this.#transition(entry, "dead", now);
      } else {
        if (now - entry.statusSinceMs < this.forgetAfterMs) continue;
        this.#forget(entry);
      }
      moved++;
    }
    return moved;
  }

  /** A new incarnation with these queue depths, when they differ from the ones this node gossips. */
  updateQueues(queues: QueueDepths): boolean {
    return this.#me.updateQueues(queues);
  }

  /** Marks this node `left` at a raised incarnation (graceful shutdown); no-op when already left. */
  leave(): void {
    const before = this.self;
    if (this.#me.leave()) this.#notify(this.self, before.status, "self", this.clock.now());
  }

  /** The envelope for `targetId` (or for a seed whose id is unknown yet); see `EnvelopeSelector`. */
  envelope(targetId?: string, round?: number): GossipEnvelope {
    const budget = this.#retransmitMult * Math.ceil(Math.log10(this.#index.size + 2));
    const members = this.#selector.select(this.self, this.#index, this.#rumors, targetId, budget);
    const { id, url } = this.self;
    return round === undefined ? { fromId: id, fromUrl: url, members } : { fromId: id, fromUrl: url, round, members };
  }

  #mergeSelf(incoming: MemberRecord, now: number): boolean {
    const before = this.self;
    if (!this.#me.merge(incoming)) return false;
    this.#refutations++;
    this.#notify(this.self, before.status, "self", now);
    return true;
  }

  #isForgotten(record: MemberRecord): boolean {
    return record.incarnation <= (this.#forgotten.get(record.id) ?? -1);
  }

  #add = (record: MemberRecord, now: number): MemberEntry => this.#index.add(newEntry(record, now));

  #transition(entry: MemberEntry, status: MemberStatus, now: number): void {
    const from = entry.record.status;
    entry.record = withStatus(entry.record, status);
    entry.statusSinceMs = now;
    this.#rumors.spread(entry, MEMBERSHIP_CHANGE);
    this.#retime(entry);
    this.#notify(entry.record, from, "sweep", now);
  }

  #forget(entry: MemberEntry): void {
    this.#timed.delete(entry);
    this.#hinted.delete(entry);
    this.#rumors.drop(entry);
    this.#index.remove(entry);
    this.#forgotten.delete(entry.record.id); // re-insert: the memo drops the oldest first
    this.#forgotten.set(entry.record.id, entry.record.incarnation);
    if (this.#forgotten.size > FORGOTTEN_KEPT) this.#forgotten.delete(this.#forgotten.keys().next().value!);
  }

  /** Keeps `#timed` and `#hinted` in step with the entry's status and hint. */
  #retime(entry: MemberEntry): void {
    const alive = entry.record.status === "alive";
    const hinted = alive && entry.unreachableSinceMs !== undefined;
    if (hinted) this.#hinted.add(entry);
    else if (entry.hinted) this.#hinted.delete(entry);
    if (hinted || !alive) this.#timed.add(entry);
    else if (entry.timed) this.#timed.delete(entry);
    entry.hinted = hinted;
    entry.timed = hinted || !alive;
  }

  #notify(record: MemberRecord, from: MemberStatus | undefined, cause: MemberChange["cause"], at: number): void {
    if (this.#onChange !== undefined && record.status !== from) {
      this.#onChange({ id: record.id, from, to: record.status, incarnation: record.incarnation, cause, at });
    }
  }
}

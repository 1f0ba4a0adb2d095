import type { Clock } from "../result/clock.ts";
import type { LeaseTable } from "../wasm/lease-table.ts";
import type { QueueItem } from "./item.ts";
import type { Lease } from "./lease.ts";

/**
 * The leases a queue has handed out and not yet seen end (internal).
 *
 * Bookkeeping (slots, fencing tokens, deadlines, expiry order) lives in a `LeaseTable` — WASM by
 * default — and this class keeps only what must stay in JS: the item and `Lease` object of each
 * slot. It also owns the sweeper timer, which runs only while leases are in flight — at the
 * earliest deadline, and never sooner than `sweepMs` after the previous sweep, so an idle lease
 * costs one timer per lease period rather than one per `sweepMs` (a Durable Object's single alarm
 * can then follow it) — and reports expiries to the queue through `onExpire`.
 *
 * @example
 * ```ts
 * const inFlight = new InFlight<Job>(table, clock, 1000, (item, lease) => requeueOrPoison(item, lease), onIdle);
 * const token = inFlight.acquire(attempt, deadline);
 * inFlight.attach(item, { token, ...fields });
 * const item = inFlight.live(lease); // undefined once acked, failed, expired or superseded
 * ```
 */
export class InFlight<T> {
  readonly #items: Array<QueueItem<T> | undefined> = [];
  readonly #leases: Array<Lease<T> | undefined> = [];
  readonly #expiredTokens = new Float64Array(256);
  readonly #expiredItems: Array<QueueItem<T> | undefined> = new Array(256);
  readonly #expiredLeases: Array<Lease<T> | undefined> = new Array(256);
  #sweepTimer: unknown;
  #stopped = false;
  /** Mirrors `table.size` on the JS side: reading it costs no boundary crossing. */
  #count = 0;

  constructor(
    private readonly table: LeaseTable,
    private readonly clock: Clock,
    private readonly sweepMs: number,
    private readonly onExpire: (item: QueueItem<T>, lease: Lease<T>) => void,
    private readonly onIdle: () => void,
  ) {}

  /** Leases in flight. */
  get size(): number {
    return this.#count;
  }

  /** Opens a delivery slot and returns its fencing token; `attach` the lease built for it next. */
  acquire(attempt: number, deadline: number): number {
    const token = this.table.acquire(attempt, deadline);
    this.#count++;
    if (this.#sweepTimer === undefined && !this.#stopped) this.#scheduleSweep();
    return token;
  }

  /**
   * Takes over a delivery the table already holds under `lease.token` (a lease that outlived the
   * previous queue object: see `QueueCreateOptions.resumeLease`).
   */
  adopt(item: QueueItem<T>, lease: Lease<T>): void {
    this.#count++;
    this.attach(item, lease);
    if (this.#sweepTimer === undefined && !this.#stopped) this.#scheduleSweep();
  }

  /** Binds the item and its lease to the slot of `lease.token`. */
  attach(item: QueueItem<T>, lease: Lease<T>): void {
    const slot = this.table.slotOf(lease.token);
    this.#items[slot] = item;
    this.#leases[slot] = lease;
  }

  /** The item behind `lease` if it is still the live delivery; expires it first if its deadline passed. */
  live(lease: Lease<T>, now: number = this.clock.now()): QueueItem<T> | undefined {
    const token = lease.token;
    // One crossing answers both questions: -1 means the token is stale.
    const deadline = this.table.deadlineOf(token);
    if (deadline < 0) return undefined;
    const slot = this.table.slotOf(token);
    if (this.#leases[slot] !== lease) return undefined; // a token of another queue's table
    if (deadline <= now) {
      this.table.release(token);
      this.#expireSlot(slot);
      return undefined;
    }
    return this.#items[slot];
  }

  /** The live lease with this token, if any. */
  byToken(token: number): Lease<T> | undefined {
    // The slot holds a lease exactly while the table holds its token (cleared on every release
    // and expiry): no crossing into the table needed, and a reused slot has another token.
    const lease = this.#leases[this.table.slotOf(token)];
    return lease !== undefined && lease.token === token ? lease : undefined;
  }

  /**
   * Ack: `live` then `end` with one table call (`take`). The item if `lease` was the live delivery
   * (now ended); undefined if not, after expiring it if its deadline passed — as `live` does.
   */
  take(lease: Lease<T>, now: number): QueueItem<T> | undefined {
    const token = lease.token;
    const slot = this.table.slotOf(token);
    // Checked first, in JS: a token of another queue's table must not end a lease here.
    if (this.#leases[slot] !== lease) return undefined;
    const deadline = this.table.take(token);
    if (deadline < 0) return undefined;
    if (deadline <= now) {
      this.#expireSlot(slot);
      return undefined;
    }
    const item = this.#items[slot];
    this.#clear(slot);
    return item;
  }

  /** Ends a live lease (ack, fail, poison). */
  end(lease: Lease<T>): void {
    this.table.release(lease.token);
    this.#clear(this.table.slotOf(lease.token));
  }

  /** Moves a live lease's deadline. */
  extend(lease: Lease<T>, deadline: number): void {
    this.table.extend(lease.token, deadline);
  }

  /** Every live lease (a snapshot, safe to end leases while iterating). */
  leases(): Lease<T>[] {
    return this.#leases.filter((lease): lease is Lease<T> => lease !== undefined);
  }

  /** Stops sweeping (the queue closed); live leases can still be ended. */
  stop(): void {
    this.#stopped = true;
    this.clock.clearTimeout(this.#sweepTimer);
    this.#sweepTimer = undefined;
  }

  #scheduleSweep(): void {
    const wait = Math.max(this.sweepMs, this.table.nextDeadline() - this.clock.now());
    this.#sweepTimer = this.clock.setTimeout(() => this.#sweep(), wait);
  }

  #sweep(): void {
    this.#sweepTimer = undefined;
    const now = this.clock.now();
    const out = this.#expiredTokens;
    const items = this.#expiredItems;
    const leases = this.#expiredLeases;
    for (let n = out.length; n === out.length; ) {
      n = this.table.expireUpTo(now, out);
      // Detach the whole batch before reporting any of it: reporting requeues an item, which can
      // serve a waiting consumer at once, and that new lease may take a slot of this very batch.
      for (let i = 0; i < n; i++) {
        const slot = this.table.slotOf(out[i]!);
        items[i] = this.#items[slot]!;
        leases[i] = this.#leases[slot]!;
        this.#items[slot] = undefined;
        this.#leases[slot] = undefined;
      }
      this.#count -= n;
      for (let i = 0; i < n; i++) {
        const item = items[i]!;
        const lease = leases[i]!;
        items[i] = undefined;
        leases[i] = undefined;
        this.onExpire(item, lease);
      }
      if (n > 0 && this.#count === 0) this.onIdle();
    }
    if (this.#count > 0 && !this.#stopped) this.#scheduleSweep();
  }

  #expireSlot(slot: number): void {
    const item = this.#items[slot]!;
    const lease = this.#leases[slot]!;
    this.#clear(slot);
    this.onExpire(item, lease);
  }

  #clear(slot: number): void {
    this.#items[slot] = undefined;
    this.#leases[slot] = undefined;
    if (--this.#count === 0) this.onIdle();
  }
}

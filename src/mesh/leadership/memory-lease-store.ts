/**
 * `MemoryLeaseStore`: leadership leases in one process's memory (tests with a virtual clock; a
 * single node without a durable store).
 *
 * @module
 */
import { type Clock, systemClock } from "../../result/clock.ts";
import { ok } from "../../result/result.ts";
import { checkLeaseArgs, checkScope, type LeaderLease, type LeaseLookup, type LeaseResult, type LeaseStore, nextTerm, noFloor, refused } from "./lease-store.ts";

/**
 * Options of `MemoryLeaseStore`.
 *
 * @example
 * ```ts
 * new MemoryLeaseStore({ clock: new VirtualClock(), termFloor: () => Date.now() });
 * ```
 */
export interface MemoryLeaseStoreOptions {
  /** Judges expiry and dates `expiresAtMs`. Default `systemClock`. */
  readonly clock?: Clock;
  /**
   * A new term is at least this (see `LeaseStoreOptions.termFloor`). Default none: terms 1, 2, 3 …
   * A server passes the wall clock, so terms keep increasing across its restarts, whose memory
   * this store does not survive.
   */
  readonly termFloor?: () => number;
}

interface Slot {
  /** The highest term ever handed out for the scope (kept after release). */
  term: number;
  /** The current lease; undefined when released. */
  lease: LeaderLease | undefined;
}

/**
 * The reference `LeaseStore`: a map per scope, every operation atomic (JS runs one at a time),
 * terms per scope 1, 2, 3 … (or per `termFloor`), never reused while the process lives. Expiry is judged
 * on the injected clock, so with a `VirtualClock` every timing case runs without sleeping.
 *
 * @example
 * ```ts
 * const clock = new VirtualClock();
 * const store = new MemoryLeaseStore({ clock });
 * (await store.tryAcquire("bridge/jobs", "a", 10_000)).ok; // true, term 1
 * (await store.tryAcquire("bridge/jobs", "b", 10_000)).ok; // false: held
 * await clock.advance(10_000);
 * (await store.tryAcquire("bridge/jobs", "b", 10_000)).ok; // true, term 2
 * ```
 */
export class MemoryLeaseStore implements LeaseStore {
  readonly #clock: Clock;
  readonly #termFloor: () => number;
  readonly #slots = new Map<string, Slot>();

  constructor(options: MemoryLeaseStoreOptions = {}) {
    this.#clock = options.clock ?? systemClock;
    this.#termFloor = options.termFloor ?? noFloor;
  }

  get(scope: string): Promise<LeaseLookup> {
    checkScope(scope);
    return Promise.resolve(ok(this.#slots.get(scope)?.lease));
  }

  tryAcquire(scope: string, holder: string, ttlMs: number): Promise<LeaseResult> {
    checkLeaseArgs(scope, holder, ttlMs);
    const now = this.#clock.now();
    const slot = this.#slot(scope);
    const current = slot.lease;
    if (current !== undefined && current.holder !== holder && current.expiresAtMs > now) {
      return Promise.resolve(refused("held", `${scope} is held by ${current.holder} (term ${current.term}) until ${current.expiresAtMs}`, current));
    }
    slot.term = nextTerm(slot.term, this.#termFloor);
    slot.lease = { scope, holder, term: slot.term, expiresAtMs: now + ttlMs };
    return Promise.resolve(ok(slot.lease));
  }

  tryRenew(scope: string, holder: string, term: number, ttlMs: number): Promise<LeaseResult> {
    checkLeaseArgs(scope, holder, ttlMs, term);
    const now = this.#clock.now();
    const slot = this.#slot(scope);
    const current = slot.lease;
    if (current === undefined || current.holder !== holder || current.term !== term) {
      return Promise.resolve(refused("not_leader", `${holder} does not hold ${scope} in term ${term}`, current));
    }
    if (current.expiresAtMs <= now) return Promise.resolve(refused("expired", `${holder}'s lease of ${scope} (term ${term}) expired at ${current.expiresAtMs}`, current));
    slot.lease = { ...current, expiresAtMs: now + ttlMs };
    return Promise.resolve(ok(slot.lease));
  }

  release(scope: string, holder: string, term: number): Promise<LeaseResult> {
    checkLeaseArgs(scope, holder, undefined, term);
    const slot = this.#slot(scope);
    const current = slot.lease;
    if (current === undefined || current.holder !== holder || current.term !== term) {
      return Promise.resolve(refused("not_leader", `${holder} does not hold ${scope} in term ${term}`, current));
    }
    slot.lease = undefined;
    return Promise.resolve(ok(current));
  }

  #slot(scope: string): Slot {
    let slot = this.#slots.get(scope);
    if (slot === undefined) {
      slot = { term: 0, lease: undefined };
      this.#slots.set(scope, slot);
    }
    return slot;
  }
}

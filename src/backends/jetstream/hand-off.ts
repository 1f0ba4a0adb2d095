/**
 * Where pulled messages meet waiting consumers on one node: consumers park here, the pull
 * demand is what they wait for, and a message whose taker gave up meanwhile is held briefly
 * for the next one.
 *
 * @module
 */
import { ok, type Result } from "../../result/result.ts";
import { Fifo } from "../../queue/fifo.ts";
import type { Lease } from "../../queue/lease.ts";
import { type WaiterHandle, Waiters } from "../../queue/waiters.ts";
import type { Delivery } from "./deliveries.ts";

/**
 * Consumers waiting for a lease and deliveries waiting for a consumer.
 *
 * @example
 * ```ts
 * const handOff = new HandOff();
 * handOff.park((leased) => use(leased), signal);
 * handOff.offer(delivery, start); // served to the parked consumer
 * ```
 */
export class HandOff {
  readonly #ready = new Fifo<Delivery>();
  readonly #takers = new Waiters<Lease<Uint8Array>>();
  /** Pulled messages still being prepared (their attempt record is read): demand already met. */
  #arriving = 0;
  /** What the waiting consumers could take at once (their credit), summed. */
  #wanted = 0;

  /** Messages to pull: what waiting consumers could take, less what is held or on its way. */
  get demand(): number {
    return this.#wanted - this.#ready.length - this.#arriving;
  }

  /**
   * Parks a consumer until a delivery is offered, its signal aborts, or `stop`. `want`: how
   * many it could take now; the rest of a pull it triggers waits here for its next `take`.
   */
  park(onLease: (leased: Result<Lease<Uint8Array>>) => void, signal?: AbortSignal, want = 1): WaiterHandle | undefined {
    const wants = Math.max(1, Math.floor(want));
    this.#wanted += wants;
    return this.#takers.park((leased) => {
      this.#wanted -= wants;
      onLease(leased);
    }, signal);
  }

  /** A held delivery still within its deadline at `now`, started by `start`; else undefined. */
  take(now: number, start: (delivery: Delivery) => Lease<Uint8Array>): Lease<Uint8Array> | undefined {
    for (let delivery = this.#ready.shift(); delivery !== undefined; delivery = this.#ready.shift()) {
      if (now <= delivery.deadline) return start(delivery);
    }
    return undefined;
  }

  /** Runs `prepare` counted as arriving demand (so no second pull is opened for it meanwhile). */
  async arriving<T>(prepare: () => Promise<T>): Promise<T> {
    this.#arriving++;
    try {
      return await prepare();
    } finally {
      this.#arriving--;
    }
  }

  /** Serves the first waiting consumer with `start(delivery)`, or holds the delivery. */
  offer(delivery: Delivery, start: (delivery: Delivery) => Lease<Uint8Array>): void {
    if (this.#takers.size > 0) this.#takers.serve(ok(start(delivery)));
    else this.#ready.push(delivery); // its taker gave up meanwhile: the next one gets it
  }

  /** Removes and returns the held deliveries that arrived more than `maxAgeMs` before `now`. */
  stale(now: number, maxAgeMs: number): Delivery[] {
    const stale: Delivery[] = [];
    for (let i = this.#ready.length; i > 0; i--) {
      const delivery = this.#ready.shift()!;
      if (now - delivery.lease.leasedAt < maxAgeMs) this.#ready.push(delivery);
      else stale.push(delivery);
    }
    return stale;
  }

  /** Ends every wait with `closed`; returns the held deliveries (to hand back). */
  stop(closed: Result<never>): Delivery[] {
    this.#takers.failAll(closed);
    const held: Delivery[] = [];
    for (let delivery = this.#ready.shift(); delivery !== undefined; delivery = this.#ready.shift()) held.push(delivery);
    return held;
  }
}

import { type SluiceError, sluiceError } from "../result/errors.ts";
import type { Lease } from "../queue/lease.ts";
import type { RelayQueue } from "../queue/relay-queue.ts";
import { tokenSlot } from "../wasm/lease-table.ts";
import { SmallIntMap } from "./small-int-map.ts";

/**
 * The leases one consumer connection holds, so that a disconnect fails each of them back with
 * requeue at once (they are redelivered now rather than after `leaseMs`) and an ACK can only
 * end a lease this connection was given.
 *
 * Acking a lease drops it here, so a later disconnect can never fail back an acked delivery. A
 * disconnect holding one lease counts as a stall of that message (a message that crashes its
 * consumer every time must still end in the poison queue); holding several, as none: they become
 * suspects, redelivered one at a time, so the next crash names the culprit.
 *
 * Per delivery this costs one `SmallIntMap` entry keyed by the token's slot — a small integer
 * (a token itself outgrows 31 bits) — and no closure, scope or hash-table churn per lease
 * (bench/HISTORY.md, issue 7). A slot is held by one live lease at a time,
 * so a newer lease in the same slot simply replaces an older, already-ended one.
 *
 * @example
 * ```ts
 * const ledger = new LeaseLedger(queue);
 * ledger.hold(lease);
 * ledger.settle(lease.token);                       // after a successful ack
 * await ledger.releaseAll(sluiceError("unavailable", "consumer disconnected"));
 * ```
 */
export class LeaseLedger<T> {
  readonly #queue: RelayQueue<T>;
  readonly #held = new SmallIntMap<Lease<T>>();

  constructor(queue: RelayQueue<T>) {
    this.#queue = queue;
  }

  /** Leases held (some may have expired on the queue's side meanwhile). */
  get size(): number {
    return this.#held.size;
  }

  /** The leases held (a snapshot). */
  leases(): Lease<T>[] {
    return [...this.#held.values()];
  }

  /** Records a delivered lease. */
  hold(lease: Lease<T>): void {
    this.#held.set(tokenSlot(lease.token), lease);
  }

  /** The held lease with this token, if this connection holds it. */
  get(token: number): Lease<T> | undefined {
    const lease = this.#held.get(tokenSlot(token));
    return lease !== undefined && lease.token === token ? lease : undefined;
  }

  /** The lease ended (acked, nacked, found inactive): drop it. */
  settle(token: number): void {
    const slot = tokenSlot(token);
    if (this.#held.get(slot)?.token === token) this.#held.delete(slot);
  }

  /** A stuck consumer's live leases go back at once, each charged a stall (it expired in its hands). */
  releaseStuck(reason: SluiceError): number {
    let released = 0;
    for (const lease of this.#held.values()) {
      this.#held.delete(tokenSlot(lease.token));
      if (this.#queue.fail(lease, reason, { requeue: true, delayMs: 0, stall: true }).ok) released++;
    }
    return released;
  }

  /**
   * Drops entries whose lease ended on the queue's side (expired, drained) without word from the
   * consumer, so a consumer that keeps granting credit but never acks cannot grow the ledger past
   * the leases it really holds. Returns how many were dropped.
   */
  prune(): number {
    // Runs on every CREDIT: a scan in place, no snapshot of up to `credit` leases each time.
    return this.#held.deleteWhere(this.#ended);
  }

  readonly #ended = (lease: Lease<T>): boolean => this.#queue.leaseByToken(lease.token) !== lease;

  /**
   * Fails every held lease back with requeue, at once (delay 0, whatever the queue's requeue
   * delay: the consumer is gone, not the message's retry). Returns how many were still live.
   */
  async releaseAll(reason: SluiceError = sluiceError("unavailable", "consumer went away")): Promise<number> {
    // Leases that expired or were drained meanwhile are not this consumer's any more.
    const live = [...this.#held.values()].filter((lease) => this.#queue.leaseByToken(lease.token) === lease);
    this.#held.clear();
    // Crash attribution: a consumer that dies holding one lease charges that message a stall
    // (`maxStalls`). One that dies holding several cannot say which killed it, so none is
    // charged: each goes back as a suspect, to be redelivered alone (see `ReadyLine`).
    const options = live.length === 1 ? { requeue: true, delayMs: 0, stall: true } : { requeue: true, delayMs: 0, suspect: true };
    let released = 0;
    for (const lease of live) if (this.#queue.fail(lease, reason, options).ok) released++;
    return released;
  }
}

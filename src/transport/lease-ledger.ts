import { CompensationScope } from "../result/compensation.ts";
import { type SluiceError, sluiceError } from "../result/errors.ts";
import type { Lease } from "../queue/lease.ts";
import type { SafeTaskQueue } from "../queue/safe-task-queue.ts";

/**
 * The leases one consumer connection holds, each with its own
 * `CompensationScope` whose undo fails the lease back with requeue.
 *
 * Per lease, not per connection: acking a lease drops its scope, so a later disconnect can never
 * fail back an acked delivery; on disconnect every scope still held runs at once, so the
 * consumer's leases are redelivered now rather than after `leaseMs`. The disconnect counts as an
 * attempt: a message that crashes its consumer every time must still end in the poison queue.
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
  readonly #queue: SafeTaskQueue<T>;
  readonly #held = new Map<number, { lease: Lease<T>; scope: CompensationScope }>();

  constructor(queue: SafeTaskQueue<T>) {
    this.#queue = queue;
  }

  /** Leases held (some may have expired on the queue's side meanwhile). */
  get size(): number {
    return this.#held.size;
  }

  /** Records a delivered lease and registers its fail-back. */
  hold(lease: Lease<T>): void {
    const scope = new CompensationScope();
    // At once (delayMs 0), whatever the queue's requeue delay: the consumer is gone, not the message's retry.
    scope.register((reason) =>
      this.#queue.fail(lease, reason ?? sluiceError("unavailable", "consumer went away"), { requeue: true, delayMs: 0 }),
    );
    this.#held.set(lease.token, { lease, scope });
  }

  /** The held lease with this token, if this connection holds it. */
  get(token: number): Lease<T> | undefined {
    return this.#held.get(token)?.lease;
  }

  /** The lease ended (acked, nacked, found inactive): drop it and its fail-back. */
  settle(token: number): void {
    const entry = this.#held.get(token);
    if (entry === undefined) return;
    entry.scope.clear();
    this.#held.delete(token);
  }

  /**
   * Drops entries whose lease ended on the queue's side (expired, drained) without word from the
   * consumer, so a consumer that keeps granting credit but never acks cannot grow the ledger past
   * the leases it really holds. Returns how many were dropped.
   */
  prune(): number {
    let dropped = 0;
    for (const [token, entry] of this.#held) {
      if (this.#queue.leaseByToken(token) === entry.lease) continue;
      entry.scope.clear();
      this.#held.delete(token);
      dropped++;
    }
    return dropped;
  }

  /** Fails every held lease back (requeue), each through its own scope. Returns how many were still live. */
  async releaseAll(reason: SluiceError): Promise<number> {
    const entries = [...this.#held.values()];
    this.#held.clear();
    let released = 0;
    for (const { scope } of entries) {
      // A lease that expired or was drained meanwhile reports lease.inactive: nothing to undo.
      if ((await scope.compensate(reason)).ok) released++;
    }
    return released;
  }
}

import type { SluiceError } from "../result/errors.ts";

/**
 * One delivery of a queued item to one consumer.
 *
 * The `token` is a fencing token unique per delivery: once the item is acked, failed, expired or
 * redelivered, operations with this lease return `lease.inactive` and change nothing.
 *
 * @example
 * ```ts
 * const leased = await queue.lease({ signal });
 * if (leased.ok) {
 *   const lease = leased.value;
 *   console.log(lease.sequenceId, lease.attempt, lease.isPoisoned);
 * }
 * ```
 */
export interface Lease<T> {
  readonly payload: T;
  /** 1 on the first delivery. */
  readonly attempt: number;
  readonly sequenceId: number;
  /** Fencing token of this delivery. */
  readonly token: number;
  /** When this delivery started (clock ms). */
  readonly leasedAt: number;
  /** When the item was first enqueued (clock ms). */
  readonly enqueuedAt: number;
  /** Why the previous delivery ended, if there was one. */
  readonly lastError: SluiceError | undefined;
  /** True when this is the last allowed attempt: failing it poisons the item. */
  readonly isPoisoned: boolean;
  /**
   * True when the previous consumer vanished holding this and other leases: deliver it alone
   * (the consumer should hold nothing else while it runs), so a crash it causes names it.
   */
  readonly suspect: boolean;
  /** Name of the queue this lease belongs to. */
  readonly queue: string;
}

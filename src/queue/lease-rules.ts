/**
 * Rules every `RelayQueue` backend applies the same way: the `lease.inactive` answer, the
 * requeue delay of a failed attempt, the shape of a lease, and the options a live reconfigure
 * may change.
 *
 * @module
 */
import { type SluiceError, sluiceError } from "../result/errors.ts";
import { err, ok, type Result } from "../result/result.ts";
import type { FailOptions } from "./queue-api.ts";
import { RetryPolicy } from "../result/retry-policy.ts";
import type { Lease } from "./lease.ts";
import { type ResolvedQueueOptions, resolveQueueOptions, type SafeTaskQueueOptions } from "./options.ts";

/**
 * The answer to an ack, fail or heartbeat on a lease that is no longer live.
 *
 * @example
 * ```ts
 * if (item === undefined) return inactiveLease(lease);
 * ```
 */
export function inactiveLease(lease: Pick<Lease<unknown>, "token" | "sequenceId">): Result<never> {
  return err("lease.inactive", `lease ${lease.token} of item ${lease.sequenceId} is no longer active`, {
    metadata: { token: lease.token, sequenceId: lease.sequenceId },
  });
}

/**
 * How long a failed attempt waits before its redelivery: fixed ms, or the queue's `RetryPolicy`.
 *
 * @example
 * ```ts
 * requeueDelayFor(queue.options, lease.attempt); // 0 by default
 * ```
 */
export function requeueDelayFor(options: Pick<ResolvedQueueOptions, "requeueDelayMs" | "random">, attempt: number): number {
  const delay = options.requeueDelayMs;
  return delay instanceof RetryPolicy ? delay.delayAfter(attempt, options.random) : delay;
}

/**
 * Resolves the options of a live reconfigure: what `options` sets (the rest takes its
 * defaults, as in `create`), keeping what cannot change live — name, role, clock, random,
 * poison queue name, sweep interval, backpressure callback. `validation` names a bad option.
 *
 * @example
 * ```ts
 * const next = liveOptions(queue.options, { capacity: 100 });
 * ```
 */
export function liveOptions(current: ResolvedQueueOptions, options: SafeTaskQueueOptions): Result<ResolvedQueueOptions> {
  const o = current;
  try {
    return ok(resolveQueueOptions({ ...options, name: o.name, role: o.role, clock: o.clock, random: o.random, poisonQueueName: o.poisonQueueName, sweepMs: o.sweepMs, onBackpressure: o.onBackpressure }));
  } catch (thrown) {
    return err("validation", thrown instanceof Error ? thrown.message : String(thrown));
  }
}

/**
 * A lease of delivery `attempt` of an item, under `token`, started at `leasedAt`.
 *
 * @example
 * ```ts
 * const lease = leaseOf(item, { attempt: 1, token, leasedAt: now, suspect: false }, queue.options);
 * ```
 */
export function leaseOf<T>(
  item: LeasedItem<T>,
  delivery: { readonly attempt: number; readonly token: number; readonly leasedAt: number; readonly suspect: boolean },
  options: Pick<ResolvedQueueOptions, "maxRetries" | "name">,
): Lease<T> {
  return leaseAt(item, delivery.attempt, delivery.token, delivery.leasedAt, delivery.suspect, options);
}

/** What a lease copies from its item. */
type LeasedItem<T> = { readonly payload: T; readonly sequenceId: number; readonly enqueuedAt: number; readonly lastError: Lease<T>["lastError"]; readonly failures: number };

/**
 * `leaseOf` with the delivery's fields as arguments: the form the per-message lease path uses
 * (no delivery object to allocate where the engine does not inline the call).
 *
 * @example
 * ```ts
 * const lease = leaseAt(item, 1, token, now, false, queue.options);
 * ```
 */
export function leaseAt<T>(item: LeasedItem<T>, attempt: number, token: number, leasedAt: number, suspect: boolean, options: Pick<ResolvedQueueOptions, "maxRetries" | "name">): Lease<T> {
  return {
    payload: item.payload,
    attempt,
    sequenceId: item.sequenceId,
    token,
    leasedAt,
    enqueuedAt: item.enqueuedAt,
    lastError: item.lastError,
    isPoisoned: item.failures + 1 >= options.maxRetries,
    suspect,
    queue: options.name,
  };
}

/**
 * What `drain` does with the leases still running at its deadline: each goes back through
 * `fail`, not counted against any budget, redelivered at once. Returns how many went back.
 *
 * @example
 * ```ts
 * const requeuedInFlight = putBackDrained(inFlight.leases(), (l, e, o) => queue.fail(l, e, o));
 * ```
 */
export function putBackDrained<L>(leases: Iterable<L>, fail: (lease: L, error: SluiceError, options: FailOptions) => Result<void>): number {
  let putBack = 0;
  for (const lease of leases) if (fail(lease, sluiceError("unavailable", "queue drained"), { countAttempt: false, delayMs: 0 }).ok) putBack++;
  return putBack;
}

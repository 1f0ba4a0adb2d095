/**
 * The option and report types of `SafeTaskQueue`'s methods.
 *
 * @module
 */
import type { MetricsRegistry } from "./metrics/registry.ts";
import type { QueueJournal } from "./journal.ts";
import type { MemoryBudget } from "./memory-budget.ts";
import type { SafeTaskQueueOptions } from "./options.ts";

/**
 * Options of `fail`.
 *
 * @example
 * ```ts
 * queue.fail(lease, error, { requeue: true, countAttempt: false, delayMs: 0 });
 * ```
 */
export interface FailOptions {
  /** Put the item back (default) or poison it at once. */
  requeue?: boolean;
  /** False when the delivery ended through no fault of the item (cancel, shutdown): it uses up neither budget. */
  countAttempt?: boolean;
  /** True when the delivery stalled (its consumer vanished) rather than failed: it counts toward `maxStalls`, not `maxRetries`. */
  stall?: boolean;
  /**
   * The consumer vanished holding this and other leases: charge nothing, and redeliver it alone
   * to a consumer holding nothing else (`ReadyLine`), so a crash there names the culprit.
   */
  suspect?: boolean;
  /** Overrides the queue's requeue delay for this redelivery. */
  delayMs?: number;
}

/**
 * What `drain` reports once in-flight work has finished or been put back.
 *
 * @example
 * ```ts
 * const drained = await queue.drain({ deadlineMs: 5000 });
 * if (drained.ok) console.log(drained.value.requeuedInFlight);
 * ```
 */
export interface DrainReport {
  pending: number;
  /** In-flight leases still running at the deadline, put back with their attempt not counted. */
  requeuedInFlight: number;
  poisoned: number;
}

/**
 * Everything `SafeTaskQueue.create` takes: the queue options plus what it is wired to.
 *
 * @example
 * ```ts
 * SafeTaskQueue.create<Uint8Array>({ name: "jobs", journal: store.journal("jobs", bytesCodec), memoryBudget, metrics });
 * ```
 */
export interface QueueCreateOptions<T> extends SafeTaskQueueOptions {
  /** Where its metrics go (default: a registry of its own). */
  metrics?: MetricsRegistry;
  /** A durable store to journal to (`src/store/`); without one the queue lives in memory. */
  journal?: QueueJournal<T>;
  /** The server-wide budget its in-memory payload bytes count against, besides its own `maxBytes`. */
  memoryBudget?: MemoryBudget;
  /** Bytes a payload counts for `maxBytes` (memory queues; a journal sizes what it stores). Default `defaultSizeOf`. */
  sizeOf?: (payload: T) => number;
  /**
   * Deliveries that outlived the queue object (a Durable Object rebuilt after hibernation, its
   * consumers still connected): asked at start-up about each item the journal holds as leased.
   * Return the token and deadline of its live delivery — a token `leaseTable` already holds — to
   * keep it in flight, ackable by that token and expiring at that deadline; undefined recovers
   * it as a crash (a stall, redelivered). Journaled queues only.
   */
  resumeLease?: (sequenceId: number) => ResumedLease | undefined;
}

/**
 * A delivery a queue takes over at start-up (see `QueueCreateOptions.resumeLease`).
 *
 * @example
 * ```ts
 * const resumed: ResumedLease = { token: 16777217, deadline: Date.now() + 20_000 };
 * ```
 */
export interface ResumedLease {
  readonly token: number;
  readonly deadline: number;
}

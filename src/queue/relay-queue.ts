/**
 * `RelayQueue`: the one queue interface that routes, transports, pumps and the bridge depend on
 * (DESIGN.md "One queue interface, several backends"). `SafeTaskQueue` (memory or SQLite)
 * implements it; so does `JetStreamQueue` (`src/backends/jetstream/`).
 *
 * @module
 */
import type { SluiceError } from "../result/errors.ts";
import type { Result } from "../result/result.ts";
import type { QueueEvents } from "./events.ts";
import type { Lease } from "./lease.ts";
import type { QueueMetrics } from "./metrics/queue-metrics.ts";
import type { ResolvedQueueOptions, SafeTaskQueueOptions } from "./options.ts";
import type { PoisonEntry } from "./poison-queue.ts";
import type { DrainReport, FailOptions } from "./queue-api.ts";
import type { QueueStats } from "./stats.ts";
import type { WaiterHandle } from "./waiters.ts";

/**
 * What an accepted publish reports: its sequence id, and whether it was a repeat of an
 * idempotency key already held (then nothing was added).
 *
 * @example
 * ```ts
 * const added: Result<Enqueued> = await queue.enqueue(bytes, { key: "order-17" });
 * ```
 */
export interface Enqueued {
  readonly sequenceId: number;
  readonly duplicate: boolean;
}

/**
 * A queue's poison (dead-letter) queue as the routes see it. A backend on an outside engine
 * answers asynchronously; the in-process one synchronously — callers `await` either.
 *
 * @example
 * ```ts
 * const entries = await queue.poison.list();
 * await queue.poison.replay(entries.map((e) => e.sequenceId));
 * ```
 */
export interface PoisonView<T> {
  readonly name: string;
  /** Entries held now (an outside engine's figure may lag by a moment). */
  readonly size: number;
  /** Every entry, oldest poisoned first. */
  list(): PoisonEntry<T>[] | Promise<PoisonEntry<T>[]>;
  /** Puts entries (all, or those with these sequence ids) back into the queue; how many. */
  replay(ids?: readonly number[]): number | Promise<number>;
  /** Drops entries (all, or those with these sequence ids) for good; how many. */
  purge(ids?: readonly number[]): number | Promise<number>;
}

/**
 * The public surface of a lease-based queue. Semantics: DESIGN.md "SafeTaskQueue semantics";
 * every backend passes the same conformance suite (test/conformance/).
 *
 * Publishing has a synchronous admission step and an asynchronous "stored" step: `tryEnqueue`
 * says at once whether the queue takes the message (`queue.full`, `queue.closed`,
 * `unavailable`), and `whenStored` answers once it is durable — a receipt is a promise.
 *
 * @example
 * ```ts
 * function publish(queue: RelayQueue<Uint8Array>, bytes: Uint8Array, reply: (r: Result<Enqueued>) => void) {
 *   queue.whenStored(queue.tryEnqueue(bytes), reply);
 * }
 * ```
 */
export interface RelayQueue<T> {
  readonly name: string;
  readonly options: ResolvedQueueOptions;
  readonly metrics: QueueMetrics;
  readonly events: QueueEvents;
  readonly poison: PoisonView<T>;
  /** True once `close()` ran. */
  readonly closed: boolean;
  /** True when messages outlive the process (a store or an outside engine). */
  readonly stored: boolean;
  /**
   * True while something this queue recorded (a lease, a publish) is not yet durable: a
   * transport that must not act before it is (DELIVER of a stored lease) waits on `afterCommit`.
   */
  readonly commitPending: boolean;

  /** Adds a message, waiting for room when full (unless `fullMode: "reject"`); answers once stored. */
  enqueue(payload: T, options?: { signal?: AbortSignal; key?: string }): Promise<Result<Enqueued>>;
  /** Admission without waiting; pass the result to `whenStored` for the producer's answer. */
  tryEnqueue(payload: T, key?: string): Result<Enqueued>;
  /** True when `added` is the `queue.full` that `enqueue()` waits out (`fullMode: "wait"`). */
  waitsForRoom(added: Result<unknown>): boolean;
  /** Calls `answer` with the final outcome of a `tryEnqueue` once it is stored; answers keep call order. */
  whenStored(added: Result<Enqueued>, answer: (result: Result<Enqueued>) => void): void;
  /** Runs `done` once everything recorded so far is durable (at once when nothing is pending). */
  afterCommit(done: (committed: Result<void>) => void): void;

  /** Takes the next item, waiting while empty; `canceled` on abort, `queue.closed` after close/drain. */
  lease(options?: { signal?: AbortSignal }): Promise<Result<Lease<T>>>;
  /**
   * Callback form of `lease()`; `free` false when the caller holds other leases (no suspects
   * then); `want`: how many leases the caller could take right now (a consumer's credit) — a
   * backend that pulls from elsewhere (JetStream) fetches that many, the others ignore it.
   */
  leaseWith(onLease: (leased: Result<Lease<T>>) => void, signal?: AbortSignal, free?: boolean, want?: number): WaiterHandle | undefined;
  /** A consumer parked busy now holds nothing: it waits again as free. */
  nowFree(handle: WaiterHandle, onLease: (leased: Result<Lease<T>>) => void, signal?: AbortSignal): WaiterHandle | undefined;
  /** The next ready item without waiting, or `undefined`. */
  tryLease(now?: number, free?: boolean): Lease<T> | undefined;
  /** The live lease with this fencing token (consumers ack by token over the wire). */
  leaseByToken(token: number): Lease<T> | undefined;
  ack(lease: Lease<T>, now?: number): Result<void>;
  fail(lease: Lease<T>, error: SluiceError, options?: FailOptions): Result<void>;
  heartbeat(lease: Lease<T>): Result<void>;
  moveToPoison(lease: Lease<T>, error: SluiceError): Result<void>;
  stats(): QueueStats;
  drain(options: { deadlineMs: number; signal?: AbortSignal }): Promise<Result<DrainReport>>;
  close(): void;
  /**
   * Changes the queue's options live, keeping its items and leases (the control plane's changed
   * queue); a backend without it is replaced instead. See `SafeTaskQueue.reconfigure`.
   */
  reconfigure?(options: SafeTaskQueueOptions): Result<void> | Promise<Result<void>>;
  /** Refuses publishes with `reason` (`queue.closed`) while delivering on; undefined reopens. See `SafeTaskQueue.seal`. */
  seal?(reason: string | undefined): void;
}

/**
 * `PendingQueue`: stands in for a JetStream queue of the last-known-good configuration while a
 * node that restarted without NATS waits for it (src/runtime/control.ts swaps in the real queue).
 *
 * @module
 */
import { canceledError, type SluiceError } from "../result/errors.ts";
import { err, ok, type Result } from "../result/result.ts";
import { QueueEvents } from "../queue/events.ts";
import type { Lease } from "../queue/lease.ts";
import { QueueMetrics } from "../queue/metrics/queue-metrics.ts";
import type { MetricsRegistry } from "../queue/metrics/registry.ts";
import { type ResolvedQueueOptions, resolveQueueOptions, type SafeTaskQueueOptions } from "../queue/options.ts";
import type { DrainReport } from "../queue/queue-api.ts";
import type { Enqueued, PoisonView, RelayQueue } from "../queue/relay-queue.ts";
import type { QueueStats } from "../queue/stats.ts";
import { type WaiterHandle, Waiters } from "../queue/waiters.ts";

/**
 * A queue that is configured but cannot be served yet: publishes answer `unavailable` (503,
 * "waits for NATS"), consumers wait (and get `queue.closed` when it is replaced, then reconnect
 * to the real one), stats are zeros, the poison queue is empty. Listed, so `GET /v1/queues`
 * shows every queue of the configuration.
 *
 * @example
 * ```ts
 * const placeholder = new PendingQueue(queueOptionsFor("jobs", q), metrics, "NATS at nats://10.0.0.5:4222 is unreachable");
 * broker.setQueue("jobs", placeholder); // later: broker.setQueue("jobs", real); placeholder.close();
 * ```
 */
export class PendingQueue implements RelayQueue<Uint8Array> {
  options: ResolvedQueueOptions;
  readonly name: string;
  readonly metrics: QueueMetrics;
  readonly events = new QueueEvents();
  readonly stored = true;
  readonly commitPending = false;
  readonly poison: PoisonView<Uint8Array>;
  readonly #why: string;
  readonly #takers = new Waiters<Lease<Uint8Array>>();
  #closed = false;

  constructor(options: SafeTaskQueueOptions, metrics: MetricsRegistry, why: string) {
    this.options = resolveQueueOptions(options);
    this.name = this.options.name;
    this.metrics = new QueueMetrics(metrics, { queue: this.name, role: this.options.role });
    this.#why = why;
    this.poison = { name: this.options.poisonQueueName, size: 0, list: () => [], replay: () => 0, purge: () => 0 };
  }

  get closed(): boolean {
    return this.#closed;
  }

  enqueue(): Promise<Result<Enqueued>> {
    return Promise.resolve(this.tryEnqueue());
  }

  tryEnqueue(): Result<Enqueued> {
    if (this.#closed) return err("queue.closed", `queue '${this.name}' is closed`);
    return err("unavailable", `queue '${this.name}' cannot store messages yet: ${this.#why}`);
  }

  waitsForRoom(): boolean {
    return false;
  }

  whenStored(added: Result<Enqueued>, answer: (result: Result<Enqueued>) => void): void {
    answer(added);
  }

  afterCommit(done: (committed: Result<void>) => void): void {
    done(ok());
  }

  lease(options: { signal?: AbortSignal } = {}): Promise<Result<Lease<Uint8Array>>> {
    return new Promise((resolve) => this.leaseWith(resolve, options.signal));
  }

  leaseWith(onLease: (leased: Result<Lease<Uint8Array>>) => void, signal?: AbortSignal): WaiterHandle | undefined {
    if (signal?.aborted) return void onLease(err(canceledError(signal)));
    if (this.#closed) return void onLease(err("queue.closed", `queue '${this.name}' is closed`));
    return this.#takers.park(onLease, signal);
  }

  nowFree(handle: WaiterHandle): WaiterHandle | undefined {
    return handle;
  }

  tryLease(): Lease<Uint8Array> | undefined {
    return undefined;
  }

  leaseByToken(): Lease<Uint8Array> | undefined {
    return undefined;
  }

  ack(lease: Lease<Uint8Array>): Result<void> {
    return this.#inactive(lease);
  }

  fail(lease: Lease<Uint8Array>, _error: SluiceError): Result<void> {
    return this.#inactive(lease);
  }

  heartbeat(lease: Lease<Uint8Array>): Result<void> {
    return this.#inactive(lease);
  }

  moveToPoison(lease: Lease<Uint8Array>): Result<void> {
    return this.#inactive(lease);
  }

  stats(): QueueStats {
    return {
      pending: 0, active: 0, poisoned: 0, enqueued: 0, acked: 0, failed: 0, requeued: 0, expired: 0, poisonedTotal: 0,
      backpressure: false, capacity: this.options.capacity, held: 0, stored: 0,
    };
  }

  drain(): Promise<Result<DrainReport>> {
    return Promise.resolve(ok({ pending: 0, requeuedInFlight: 0, poisoned: 0 }));
  }

  close(): void {
    this.#closed = true;
    this.#takers.failAll(err("queue.closed", `queue '${this.name}' is closed`));
  }

  reconfigure(options: SafeTaskQueueOptions): Result<void> {
    this.options = resolveQueueOptions({ ...options, name: this.name, role: this.options.role });
    return ok();
  }

  seal(): void {}

  #inactive(lease: Lease<Uint8Array>): Result<never> {
    return err("lease.inactive", `lease ${lease.token} is not a lease of queue '${this.name}'`);
  }
}

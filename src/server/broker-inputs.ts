/**
 * What the runtime hands the `Broker` besides the configuration when some queues are opened
 * outside it (storage "jetstream", src/runtime/jetstream-queues.ts): the options each queue gets
 * — the same whatever its backend — and the outside dependencies `/readyz` waits for.
 *
 * @module
 */
import type { SafeTaskQueueOptions } from "../queue/options.ts";
import type { QueueConfig } from "./config.ts";

/**
 * Something outside the process a node needs to serve (a NATS connection): while any is down,
 * `/readyz` answers 503 naming it, so load balancers route elsewhere.
 *
 * @example
 * ```ts
 * const nats: Dependency = { name: "nats nats://127.0.0.1:4222", up: () => connected };
 * new Broker({ config, dependencies: [nats] });
 * ```
 */
export interface Dependency {
  /** Shown in `/readyz` while down (no secrets: mask URLs). */
  readonly name: string;
  /** Whether it is reachable now (called per `/readyz`: cheap, no I/O). */
  up(): boolean;
}

/**
 * The options the broker gives the queue of a configured queue, whatever its backend: the
 * `SafeTaskQueue` it creates, or a `JetStreamQueue` the runtime opens (src/runtime/jetstream-queues.ts).
 *
 * @example
 * ```ts
 * const options = queueOptionsFor("jobs", config.queues.jobs); // { name: "jobs", role: "dispatcher", capacity: 1024, … }
 * ```
 */
export function queueOptionsFor(name: string, q: QueueConfig): SafeTaskQueueOptions {
  return {
    name,
    // The metric label says what drains it: the server's own bridge, or consumers.
    role: q.bridge === undefined ? "dispatcher" : "bridge",
    capacity: q.capacity,
    fullMode: q.fullMode,
    leaseMs: q.leaseMs,
    heartbeatMs: q.heartbeatMs,
    sweepMs: q.sweepMs,
    maxRetries: q.maxRetries,
    maxStalls: q.maxStalls,
    maxBytes: q.maxBytes,
    requeueDelayMs: q.requeueDelayMs,
  };
}

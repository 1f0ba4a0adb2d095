/**
 * The queue layer: `SafeTaskQueue`, leases, the poison queue, the channel adapter, `pump`,
 * backpressure, events and metrics. Runtime-neutral.
 *
 * @example
 * ```ts
 * import { pump, SafeTaskQueue } from "./src/queue/mod.ts";
 * ```
 */
export * from "./safe-task-queue.ts";
export * from "./queue-api.ts";
export * from "./lease.ts";
export * from "./options.ts";
export * from "./poison-queue.ts";
export * from "./channel-adapter.ts";
export * from "./pump.ts";
export * from "./backpressure.ts";
export * from "./events.ts";
export * from "./stats.ts";
export * from "./metrics/registry.ts";
export * from "./metrics/queue-metrics.ts";
export type { AttemptRecord } from "./item.ts";
export * from "./memory-budget.ts";

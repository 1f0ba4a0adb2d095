/**
 * Sluice, the library: Result pipeline helpers, `SafeTaskQueue` and its pumps, the wire protocol,
 * the WASM hot path selectors, the SQL store (with `openSqlite`, the runtime's SQLite driver:
 * `bun:sqlite` on Bun, `node:sqlite` on Deno and Node 22.5+), the bridge, leadership with fencing
 * terms (`LeadershipCoordinator`, the lease stores, `FenceTerms`), the Hono app factory
 * and the client SDK. Re-exports only; the runtime entry points (Bun, Deno, workerd) live in
 * `src/runtime/` and are not part of the library.
 *
 * @example
 * ```ts
 * import { ok, pump, SafeTaskQueue } from "sluice";
 * const queue = SafeTaskQueue.create<string>({ name: "jobs" });
 * await queue.enqueue("hello");
 * pump(queue, async (lease) => (console.log(lease.payload), ok()), { concurrency: 4 });
 * ```
 */
export * from "./result/mod.ts";
export * from "./queue/mod.ts";
export * from "./protocol/frame-layout.ts";
export * from "./protocol/frames.ts";
export {
  argToErrorCode,
  decodeErrorPayload,
  decodeNackPayload,
  decodeQueueStatsPayload,
  decodeReceiptPayload,
  encodeErrorPayload,
  encodeNackPayload,
  encodeQueueStatsPayload,
  encodeReceiptPayload,
  errorCodeToArg,
  type NackPayload,
  type QueueStatsPayload,
  type ReceiptPayload,
} from "./protocol/messages.ts";
export { createFrameCodec, createLeaseTable, provideWasmModule, wasmMode } from "./wasm/mod.ts";
export type { FrameCodec, LeaseTable } from "./wasm/mod.ts";
export * from "./store/mod.ts";
export { openSqlite } from "./runtime/sqlite.ts";
export { bridge, type Bridge, type BridgeFence, type BridgeOptions, type BridgeStats } from "./transport/bridge.ts";
export { decodeFencePayload, encodeFencePayload, FENCE_REFUSAL_CODE, fenceFrame, type FencePayload, isFenceRefusal } from "./protocol/fence.ts";
export {
  FenceTerms,
  type FenceTermStore,
  type LeaderFence,
  type LeaderLease,
  LEADERSHIP_BUCKET,
  LEADERSHIP_DEFAULTS,
  LEADERSHIP_PUMP_DEFAULTS,
  LeadershipCoordinator,
  type LeadershipEvent,
  type LeadershipEventType,
  type LeadershipListener,
  type LeadershipOptions,
  type LeadershipPumpSettings,
  type LeadershipTimers,
  type LeaseLookup,
  type LeaseRefusalReason,
  type LeaseResult,
  type LeaseStore,
  MemoryLeaseStore,
  NatsKvLeaseStore,
  resolveLeadershipTimers,
  type ScopeLeader,
  SqlFenceTermStore,
  SqlLeaseStore,
} from "./mesh/leadership/mod.ts";
export { createApp, type AppDeps } from "./server/app.ts";
export { Broker, type BrokerOptions } from "./server/broker.ts";
export { loadConfig, type SluiceConfig } from "./server/config.ts";
export * from "./client/mod.ts";

/**
 * Queue options: every knob of a queue, its default, its validation, and per-role defaults.
 *
 * @module
 */
import { type Clock, systemClock } from "../result/clock.ts";
import { requireInteger, requireNumber } from "../result/options.ts";
import { RetryPolicy } from "../result/retry-policy.ts";
import type { LeaseTable } from "../wasm/lease-table.ts";

/**
 * What `enqueue` does when the queue holds `capacity` items.
 *
 * @example
 * ```ts
 * SafeTaskQueue.create({ capacity: 100, fullMode: "reject" }); // full → `queue.full`
 * ```
 */
export type FullMode = "wait" | "reject";

/**
 * Options of `SafeTaskQueue.create`; every field is optional and has a documented default.
 *
 * @example
 * ```ts
 * const options: SafeTaskQueueOptions = { name: "jobs", capacity: 10_000, leaseMs: 60_000 };
 * ```
 */
export interface SafeTaskQueueOptions {
  /** Queue name, used in errors and metric labels. Default "default". */
  name?: string;
  /** Metric label `role` (gossip, control, dispatcher, bridge, …). Default "dispatcher". */
  role?: string;
  /** Items held at once: pending + waiting out a requeue delay + in flight. Default 1024. */
  capacity?: number;
  /** Full queue: `enqueue` waits for room, or fails with `queue.full`. Default "wait". */
  fullMode?: FullMode;
  /** How long a delivery may run without ack or heartbeat. Default 30000. */
  leaseMs?: number;
  /** How often `pump` heartbeats leases whose handler is still running. Default 5000 (< leaseMs). */
  heartbeatMs?: number;
  /** How often expired leases are swept back into the queue. Default 1000. */
  sweepMs?: number;
  /** Explicit failures (`fail`, NACK) before an item goes to the poison queue. Default 5. */
  maxRetries?: number;
  /** Stalls (lease expiry, consumer disconnect, process crash) before an item goes to the poison queue. Default 3. */
  maxStalls?: number;
  /**
   * Payload bytes held in memory (ready + delayed + in flight). A memory queue past it holds
   * producers back like a full queue; a journaled one keeps the rest in its store. Default 64 MiB.
   */
  maxBytes?: number;
  /** Wait before a failed item is delivered again: fixed ms, or a per-attempt policy. Default 0. */
  requeueDelayMs?: number | RetryPolicy;
  /** Name of the dead-letter queue. Default "<name>.poison". */
  poisonQueueName?: string;
  /** Backpressure turns on at this many held items. Default 80% of capacity. */
  highWatermark?: number;
  /** …and off again at this many. Default 50% of capacity. */
  lowWatermark?: number;
  /** Called when backpressure turns on (true) or off (false). */
  onBackpressure?: (active: boolean) => void;
  /** Time source. Default `systemClock`. */
  clock?: Clock;
  /** Jitter source for a `RetryPolicy` requeue delay. Default `Math.random`. */
  random?: () => number;
  /** Lease bookkeeping. Default: the WASM table (JS reference when WASM is off). */
  leaseTable?: LeaseTable;
}

/**
 * Options with every default applied, so queue internals never re-check for `undefined`.
 *
 * @example
 * ```ts
 * const resolved: ResolvedQueueOptions = resolveQueueOptions({ name: "jobs" });
 * ```
 */
export interface ResolvedQueueOptions {
  readonly name: string;
  readonly role: string;
  readonly capacity: number;
  readonly fullMode: FullMode;
  readonly leaseMs: number;
  readonly heartbeatMs: number;
  readonly sweepMs: number;
  readonly maxRetries: number;
  readonly maxStalls: number;
  readonly maxBytes: number;
  readonly requeueDelayMs: number | RetryPolicy;
  readonly poisonQueueName: string;
  readonly highWatermark: number;
  readonly lowWatermark: number;
  readonly onBackpressure: ((active: boolean) => void) | undefined;
  readonly clock: Clock;
  readonly random: () => number;
}

const OWNER = "SafeTaskQueue";

/**
 * Applies defaults and validates every knob. A bad option throws a `RangeError`/`TypeError`
 * naming it, so a misconfigured queue fails at `SafeTaskQueue.create`, not under load.
 *
 * @example
 * ```ts
 * const options = resolveQueueOptions({ name: "jobs", capacity: 10_000, maxRetries: 3 });
 * options.poisonQueueName; // "jobs.poison"
 * ```
 */
export function resolveQueueOptions(options: SafeTaskQueueOptions = {}): ResolvedQueueOptions {
  const name = options.name ?? "default";
  if (typeof name !== "string" || name.length === 0) throw new TypeError(`${OWNER}: name must be a non-empty string`);
  const role = options.role ?? "dispatcher";
  if (typeof role !== "string" || role.length === 0) throw new TypeError(`${OWNER}: role must be a non-empty string`);
  const capacity = requireInteger(OWNER, "capacity", options.capacity ?? 1024, 1);
  const fullMode = options.fullMode ?? "wait";
  if (fullMode !== "wait" && fullMode !== "reject") {
    throw new RangeError(`${OWNER}: fullMode must be "wait" or "reject" (got ${String(fullMode)})`);
  }
  const leaseMs = requireNumber(OWNER, "leaseMs", options.leaseMs ?? 30_000, 1);
  const heartbeatMs = requireNumber(OWNER, "heartbeatMs", options.heartbeatMs ?? Math.min(5000, leaseMs / 2), 1);
  if (heartbeatMs >= leaseMs) {
    throw new RangeError(`${OWNER}: heartbeatMs must be less than leaseMs (got ${heartbeatMs} >= ${leaseMs})`);
  }
  const sweepMs = requireNumber(OWNER, "sweepMs", options.sweepMs ?? 1000, 1);
  const maxRetries = requireInteger(OWNER, "maxRetries", options.maxRetries ?? 5, 1);
  const maxStalls = requireInteger(OWNER, "maxStalls", options.maxStalls ?? 3, 1);
  const maxBytes = requireInteger(OWNER, "maxBytes", options.maxBytes ?? 64 * 1024 * 1024, 1);
  const requeueDelayMs = options.requeueDelayMs ?? 0;
  if (!(requeueDelayMs instanceof RetryPolicy)) requireNumber(OWNER, "requeueDelayMs", requeueDelayMs, 0);
  const poisonQueueName = options.poisonQueueName ?? `${name}.poison`;
  if (typeof poisonQueueName !== "string" || poisonQueueName.length === 0) {
    throw new TypeError(`${OWNER}: poisonQueueName must be a non-empty string`);
  }
  const highWatermark = requireInteger(OWNER, "highWatermark", options.highWatermark ?? Math.max(1, Math.ceil(capacity * 0.8)), 1);
  const lowWatermark = requireInteger(OWNER, "lowWatermark", options.lowWatermark ?? Math.floor(capacity * 0.5), 0);
  if (highWatermark > capacity) throw new RangeError(`${OWNER}: highWatermark must be <= capacity (got ${highWatermark} > ${capacity})`);
  if (lowWatermark >= highWatermark) {
    throw new RangeError(`${OWNER}: lowWatermark must be < highWatermark (got ${lowWatermark} >= ${highWatermark})`);
  }
  if (options.onBackpressure !== undefined && typeof options.onBackpressure !== "function") {
    throw new TypeError(`${OWNER}: onBackpressure must be a function`);
  }
  return {
    name,
    role,
    capacity,
    fullMode,
    leaseMs,
    heartbeatMs,
    sweepMs,
    maxRetries,
    maxStalls,
    maxBytes,
    requeueDelayMs,
    poisonQueueName,
    highWatermark,
    lowWatermark,
    onBackpressure: options.onBackpressure,
    clock: options.clock ?? systemClock,
    random: options.random ?? Math.random,
  };
}

/**
 * Pump roles with their own concurrency, retries and poison queue.
 *
 * @example
 * ```ts
 * const role: PumpRole = "control";
 * ```
 */
export type PumpRole = "gossip" | "control" | "dispatcher" | "bridge";

/**
 * Per-role settings, all optional; unset fields fall back to `ROLE_DEFAULTS`.
 *
 * @example
 * ```ts
 * const gossip: RoleSettings = { concurrency: 8 };
 * ```
 */
export type RoleSettings = { concurrency?: number; maxRetries?: number; poisonQueueName?: string };

/**
 * Defaults per role: gossip is chatty and cheap to lose-and-retry, control changes must not be
 * dropped, bridges talk to slow downstreams.
 *
 * @example
 * ```ts
 * ROLE_DEFAULTS.control.maxRetries; // 10
 * ```
 */
export const ROLE_DEFAULTS: Readonly<Record<PumpRole, Required<Omit<RoleSettings, "poisonQueueName">>>> = {
  gossip: { concurrency: 4, maxRetries: 3 },
  control: { concurrency: 1, maxRetries: 10 },
  dispatcher: { concurrency: 64, maxRetries: 5 },
  bridge: { concurrency: 16, maxRetries: 5 },
};

/**
 * The one options object that configures every role: resolves queue options and pump
 * concurrency for `role`.
 *
 * @example
 * ```ts
 * const roles = { gossip: { concurrency: 8 }, control: { maxRetries: 20, poisonQueueName: "control-dlq" } };
 * const { queue, concurrency } = roleConfig("control", roles, { name: "control" });
 * const q = SafeTaskQueue.create(queue);
 * pump(q, apply, { concurrency, role: "control" });
 * ```
 */
export function roleConfig(
  role: PumpRole,
  roles: Partial<Record<PumpRole, RoleSettings>> = {},
  base: SafeTaskQueueOptions = {},
): { queue: SafeTaskQueueOptions; concurrency: number } {
  if (!(role in ROLE_DEFAULTS)) throw new RangeError(`roleConfig: unknown role ${JSON.stringify(role)}`);
  const settings = { ...ROLE_DEFAULTS[role], ...roles[role] };
  const concurrency = requireInteger("roleConfig", `${role}.concurrency`, settings.concurrency, 1);
  const maxRetries = requireInteger("roleConfig", `${role}.maxRetries`, settings.maxRetries, 1);
  const name = base.name ?? role;
  return {
    queue: { ...base, name, role, maxRetries, poisonQueueName: settings.poisonQueueName ?? base.poisonQueueName ?? `${name}.poison` },
    concurrency,
  };
}

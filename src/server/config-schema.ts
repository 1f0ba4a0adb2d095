/**
 * The shape, embedded defaults and per-field rules of Sluice's server configuration.
 * `loadConfig` (config.ts) merges defaults ← sluice.config.json ← environment and checks every
 * value against the rules here, so each rule lives in one place and names what it expects.
 *
 * @example
 * ```ts
 * DEFAULT_CONFIG.queues.default.leaseMs;          // 30000
 * checkRule(QUEUE_RULES.leaseMs, -5, "queues.jobs.leaseMs");
 * // "config: queues.jobs.leaseMs must be a positive integer (got -5)"
 * ```
 * The rule kinds and their messages live in config-rules.ts (re-exported here).
 */

import { resolveQueueOptions } from "../queue/options.ts";
import type { Rule } from "./config-rules.ts";
import type { MeshConfig, PumpsConfig } from "./config-mesh.ts";
import { LEADERSHIP_DEFAULTS } from "../mesh/leadership/config.ts";

export { checkRule, type Rule, show } from "./config-rules.ts";

/**
 * Where one queue's leases go when no WebSocket consumer takes them (issue 6): a downstream
 * socket first (`wsUrl`), the Connect/gRPC `Relay` service as fallback (`rpcUrl`).
 *
 * @example
 * ```ts
 * const bridge: BridgeConfig = { wsUrl: "wss://worker.internal/sluice", sendTimeoutMs: 3000, pingIntervalMs: 15000, concurrency: 8 };
 * ```
 */
export interface BridgeConfig {
  /** Downstream WebSocket (ws: or wss:) that receives DELIVER frames. */
  readonly wsUrl?: string;
  /** Downstream Relay RPC base URL (http: or https:), used when the socket is down. */
  readonly rpcUrl?: string;
  /** How long one send may take before it counts as failed (`timeout`). */
  readonly sendTimeoutMs: number;
  /** PING interval on the downstream socket; a missed PONG marks it down. */
  readonly pingIntervalMs: number;
  /** Leases in flight to the downstream at once. */
  readonly concurrency: number;
  /** RPC fallback calls: "send" (unary Send per command, the default) or "execute" (batched server-streaming Execute). */
  readonly rpcMode?: "send" | "execute";
  /** Sent as `Authorization: Bearer <token>` on the socket upgrade and the RPC calls; never logged. */
  readonly token?: string;
}

/**
 * One queue's settings: the `SafeTaskQueue` options of DESIGN.md plus an optional bridge.
 *
 * @example
 * ```ts
 * const q: QueueConfig = { ...DEFAULT_QUEUE_CONFIG, leaseMs: 60000 };
 * ```
 */
export interface QueueConfig {
  readonly capacity: number;
  /** "wait": a full queue holds producers back; "reject": it fails them with `queue.full`. */
  readonly fullMode: "wait" | "reject";
  readonly leaseMs: number;
  readonly heartbeatMs: number;
  readonly sweepMs: number;
  /** Delivery attempts before an item is poisoned. */
  readonly maxRetries: number;
  readonly requeueDelayMs: number;
  /** Stalls (expiry, disconnect, crash) before an item is poisoned. */
  readonly maxStalls: number;
  /** Payload bytes a stored queue keeps in memory; its backlog past that waits in the store. */
  readonly maxBytes: number;
  /** Overrides the server's `storage` for this queue. */
  readonly storage?: Storage;
  /** Overrides the server's `natsUrl` for this queue (storage "jetstream" only). */
  readonly natsUrl?: string;
  readonly bridge?: BridgeConfig;
}

/**
 * Where a queue's items live: `"sqlite"` (the embedded store in `dataDir`, survives kill -9),
 * `"memory"` (lost when the process ends) or `"jetstream"` (a NATS JetStream stream at `natsUrl`,
 * shared by every Sluice node pointed at it).
 *
 * @example
 * ```ts
 * const storage: Storage = "memory";
 * ```
 */
export type Storage = "sqlite" | "memory" | "jetstream";

/**
 * The whole server configuration, as `loadConfig` returns it (frozen).
 *
 * @example
 * ```ts
 * const { port, host, queues } = config;
 * for (const [name, q] of Object.entries(queues)) SafeTaskQueue.create({ name, ...q });
 * ```
 */
export interface SluiceConfig {
  readonly port: number;
  readonly host: string;
  /** Graceful-shutdown budget: how long in-flight leases get to finish. */
  readonly drainMs: number;
  /** Largest accepted frame payload; bigger frames get `frame.too_large`. */
  readonly maxFrameBytes: number;
  /** How long an idempotency key is remembered (0 turns deduplication off). */
  readonly idempotencyWindowMs: number;
  /** Accepted bearer tokens; empty disables authentication. */
  readonly authTokens: readonly string[];
  /** Bytes held in memory for clients across all queues (queued payloads, producer backlogs). */
  readonly memoryBudgetBytes: number;
  /**
   * Default storage of every queue (`queues.<name>.storage` overrides it): "sqlite", or
   * "jetstream" when `natsUrl` is set and `storage` is not (a clustered node).
   */
  readonly storage: Storage;
  /** NATS server(s) of the "jetstream" storage (`SLUICE_NATS_URL`), e.g. "nats://127.0.0.1:4222". */
  readonly natsUrl?: string;
  /** Directory of the SQLite store (`sluice.db`). */
  readonly dataDir: string;
  /** What a stored receipt survives: "process" (kill -9) or "power" (fsync per commit). */
  readonly durability: "process" | "power";
  /** Browser origins allowed cross-origin (CORS), e.g. "https://app.example.com", or "*"; empty: no CORS headers. */
  readonly corsOrigins: readonly string[];
  /** Port of the HTTP/2 listener serving sluice.v1.Relay over gRPC (src/runtime/grpc-listener.ts); unset: none. */
  readonly grpcPort?: number;
  readonly queues: Readonly<Record<string, QueueConfig>>;
  /** Node identity and the mesh roles' timers (config-mesh.ts); `loadConfig` always sets it. */
  readonly mesh?: MeshConfig;
  /** Per role and pump settings, `pumps.<role>.<pump>` (config-mesh.ts); `loadConfig` always sets it. */
  readonly pumps?: PumpsConfig;
}

/**
 * Bridge defaults, applied under any `bridge` section.
 *
 * @example
 * ```ts
 * DEFAULT_BRIDGE_CONFIG.sendTimeoutMs; // 3000
 * ```
 */
export const DEFAULT_BRIDGE_CONFIG: BridgeConfig = Object.freeze({ sendTimeoutMs: 3000, pingIntervalMs: 15000, concurrency: 8 });

/**
 * Queue defaults: exactly the library's (`resolveQueueOptions({})`), shown for reference; a
 * queue's unset keys are resolved by the library from the keys that are set.
 *
 * @example
 * ```ts
 * DEFAULT_QUEUE_CONFIG.maxRetries; // 5
 * ```
 */
export const DEFAULT_QUEUE_CONFIG: QueueConfig = Object.freeze(libraryQueueDefaults());

/**
 * The library's own queue defaults (`resolveQueueOptions`), given the keys a config sets that
 * other defaults derive from (`heartbeatMs` from `leaseMs`, watermarks from `capacity`): the
 * server keeps no second copy of them.
 *
 * @example
 * ```ts
 * libraryQueueDefaults({ leaseMs: 4000 }).heartbeatMs; // 2000
 * ```
 */
export function libraryQueueDefaults(set: { readonly leaseMs?: number; readonly capacity?: number } = {}): QueueConfig {
  const o = resolveQueueOptions(set);
  return {
    capacity: o.capacity,
    fullMode: o.fullMode,
    leaseMs: o.leaseMs,
    heartbeatMs: o.heartbeatMs,
    sweepMs: o.sweepMs,
    maxRetries: o.maxRetries,
    requeueDelayMs: typeof o.requeueDelayMs === "number" ? o.requeueDelayMs : 0,
    maxStalls: o.maxStalls,
    maxBytes: o.maxBytes,
  };
}

/**
 * The configuration used when there is no file and no environment override. The host is
 * 0.0.0.0 because this is a server meant to be reached from other machines and containers;
 * set SLUICE_HOST=127.0.0.1 to keep it local.
 *
 * @example
 * ```ts
 * DEFAULT_CONFIG.port; // 8787
 * ```
 */
export const DEFAULT_CONFIG: SluiceConfig = Object.freeze({
  port: 8787,
  host: "0.0.0.0",
  drainMs: 10_000,
  maxFrameBytes: 1024 * 1024,
  idempotencyWindowMs: 300_000,
  authTokens: Object.freeze([]) as readonly string[],
  memoryBudgetBytes: 256 * 1024 * 1024,
  storage: "sqlite",
  dataDir: "./data",
  durability: "process",
  corsOrigins: Object.freeze([]) as readonly string[],
  queues: Object.freeze({ default: DEFAULT_QUEUE_CONFIG }),
  mesh: Object.freeze({ leadership: LEADERSHIP_DEFAULTS }),
  pumps: Object.freeze({}),
});

const positive: Rule = { kind: "int", min: 1 };
const nonNegative: Rule = { kind: "int", min: 0 };

/**
 * Rules for the top-level (server-wide) keys other than `queues`/`queueDefaults`.
 *
 * @example
 * ```ts
 * SERVER_RULES.port; // { kind: "int", min: 0, max: 65535 }
 * ```
 */
export const SERVER_RULES: Readonly<Record<Exclude<keyof SluiceConfig, "queues" | "mesh" | "pumps">, Rule>> = {
  // 0 asks the OS for a free port (tests, ephemeral workers).
  port: { kind: "int", min: 0, max: 65535 },
  host: { kind: "string" },
  drainMs: nonNegative,
  // The frame header's payloadLength is a u32.
  maxFrameBytes: { kind: "int", min: 1, max: 0xffff_ffff },
  idempotencyWindowMs: nonNegative,
  authTokens: { kind: "tokens" },
  memoryBudgetBytes: positive,
  storage: { kind: "enum", values: ["sqlite", "memory", "jetstream"] },
  natsUrl: { kind: "natsUrl" },
  dataDir: { kind: "string" },
  durability: { kind: "enum", values: ["process", "power"] },
  corsOrigins: { kind: "origins" },
  grpcPort: { kind: "int", min: 0, max: 65535 },
};

/**
 * Rules for one queue's keys (also used for `queueDefaults`, minus `bridge`).
 *
 * @example
 * ```ts
 * QUEUE_RULES.fullMode; // { kind: "enum", values: ["wait", "reject"] }
 * ```
 */
export const QUEUE_RULES: Readonly<Record<Exclude<keyof QueueConfig, "bridge">, Rule>> = {
  capacity: positive,
  fullMode: { kind: "enum", values: ["wait", "reject"] },
  leaseMs: positive,
  heartbeatMs: positive,
  sweepMs: positive,
  maxRetries: positive,
  requeueDelayMs: nonNegative,
  maxStalls: positive,
  maxBytes: positive,
  storage: { kind: "enum", values: ["sqlite", "memory", "jetstream"] },
  natsUrl: { kind: "natsUrl" },
};

/**
 * Rules for a queue's `bridge` section.
 *
 * @example
 * ```ts
 * BRIDGE_RULES.wsUrl; // { kind: "url", protocols: ["ws:", "wss:"] }
 * ```
 */
export const BRIDGE_RULES: Readonly<Record<keyof BridgeConfig, Rule>> = {
  wsUrl: { kind: "url", protocols: ["ws:", "wss:"] },
  rpcUrl: { kind: "url", protocols: ["http:", "https:"] },
  sendTimeoutMs: positive,
  pingIntervalMs: positive,
  concurrency: positive,
  rpcMode: { kind: "enum", values: ["send", "execute"] },
  token: { kind: "string" },
};

/**
 * Queue names: used in URLs, metric labels and `<name>.poison`, so a conservative alphabet.
 *
 * @example
 * ```ts
 * QUEUE_NAME_PATTERN.test("jobs.high-priority"); // true
 * ```
 */
export const QUEUE_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

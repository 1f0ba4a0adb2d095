/**
 * Gossip configuration: the role timers (`mesh.gossip.*`), the two pumps' settings
 * (`pumps.gossip.outbound.*`, `pumps.gossip.inbound.*`), their defaults and validation.
 *
 * @module
 */
import type { Clock } from "../../result/clock.ts";
import { systemClock } from "../../result/clock.ts";
import { requireInteger, requireNumber } from "../../result/options.ts";
import type { Result } from "../../result/result.ts";
import type { MetricsRegistry } from "../../queue/metrics/registry.ts";
import { type RoleSettings, roleConfig } from "../../queue/options.ts";
import type { QueueCreateOptions } from "../../queue/queue-api.ts";
import type { GossipEnvelope } from "./envelope.ts";
import type { LocalHealthOptions } from "./local-health.ts";
import type { QueueDepths } from "./member.ts";
import type { MemberChange } from "./membership.ts";

/**
 * How the outbound pump reaches a peer: POST `envelope` to `url`'s gossip route and return the
 * peer's reply envelope. The server injects `fetch` with the bearer token (any non-2xx, a
 * transport error or an undecodable body is a failed Result); tests inject fakes. It must honour
 * `signal` (the exchange timeout and shutdown abort it).
 *
 * @example
 * ```ts
 * const send: SendEnvelope = async (url, envelope, signal) => {
 *   const res = await fetch(`${url}/v1/mesh/gossip`, { method: "POST", body: encodeGossipEnvelope(envelope), signal, headers });
 *   return res.ok ? decodeGossipEnvelope(new Uint8Array(await res.arrayBuffer())) : err("unavailable", `HTTP ${res.status}`);
 * };
 * ```
 */
export type SendEnvelope = (url: string, envelope: GossipEnvelope, signal: AbortSignal) => Promise<Result<GossipEnvelope>>;

/**
 * Settings of one gossip pump (`pumps.gossip.<pump>.*`); unset fields take `GOSSIP_PUMP_DEFAULTS`.
 *
 * @example
 * ```ts
 * const outbound: GossipPumpSettings = { concurrency: 4, maxRetries: 2, requeueDelayMs: 200 };
 * ```
 */
export interface GossipPumpSettings {
  concurrency?: number;
  capacity?: number;
  maxRetries?: number;
  maxStalls?: number;
  requeueDelayMs?: number;
  leaseMs?: number;
  /** Poison entries kept (the oldest are purged each round). */
  poisonKept?: number;
}

/**
 * Defaults per pump besides `concurrency` and `maxRetries`, which come from the queue layer's
 * `ROLE_DEFAULTS.gossip` (4 and 3) — except that the outbound pump's concurrency is the fan-out.
 * Outbound: retries 100 ms apart, so three attempts fit in a 1 s round. Inbound: a bounded queue
 * that refuses when full (429); merges are cheap and idempotent.
 *
 * @example
 * ```ts
 * GOSSIP_PUMP_DEFAULTS.inbound.capacity; // 256
 * ```
 */
export const GOSSIP_PUMP_DEFAULTS = {
  outbound: { capacity: 64, maxStalls: 3, requeueDelayMs: 100, leaseMs: 4000, poisonKept: 128 },
  inbound: { capacity: 256, maxStalls: 3, requeueDelayMs: 0, leaseMs: 4000, poisonKept: 128 },
} as const;

/**
 * Everything `GossipService.create` takes. Only `nodeId`, `url` and `send` are required.
 *
 * @example
 * ```ts
 * const options: GossipOptions = {
 *   nodeId: "n1", url: "http://10.0.0.1:8787", seeds: ["http://10.0.0.2:8787"], send,
 *   intervalMs: 1000, fanout: 3, outbound: { maxRetries: 3 }, inbound: { capacity: 256 },
 * };
 * ```
 */
export interface GossipOptions {
  /** This node's id (`SLUICE_NODE_ID`). */
  nodeId: string;
  /** Where peers reach this node (`SLUICE_ADVERTISE_URL`). */
  url: string;
  /** Seed peer urls (`SLUICE_PEERS`), contacted while no live peer is known. Default none. */
  seeds?: readonly string[];
  send: SendEnvelope;
  /** Round period (`mesh.gossip.intervalMs`). Default 1000. */
  intervalMs?: number;
  /** Targets per round (`mesh.gossip.fanout`). Default 3. */
  fanout?: number;
  /** `mesh.gossip.suspectAfterMs`. Default 5000. */
  suspectAfterMs?: number;
  /** `mesh.gossip.deadAfterMs`. Default 15000. */
  deadAfterMs?: number;
  /** Tombstone window. Default 4 × (suspectAfterMs + deadAfterMs). */
  forgetAfterMs?: number;
  /** Time limit of one exchange attempt (× local health). Default intervalMs / 2. */
  timeoutMs?: number;
  /** Members per envelope. Default 32. */
  maxEnvelopeMembers?: number;
  /** Rumor retransmission factor. Default 4. */
  retransmitMult?: number;
  outbound?: GossipPumpSettings;
  inbound?: GossipPumpSettings;
  /** Starting incarnation (e.g. persisted + 1). Default the clock's ms. */
  incarnation?: number;
  /** Pending depth per queue, read once per round into this node's record. */
  queueDepths?: () => QueueDepths;
  clock?: Clock;
  random?: () => number;
  /** Where pump and membership metrics go. Default a registry of its own. */
  metrics?: MetricsRegistry;
  localHealth?: LocalHealthOptions;
  onChange?: (change: MemberChange) => void;
}

/**
 * The role timers after defaults and validation.
 *
 * @example
 * ```ts
 * const timers: GossipTimers = resolveGossipTimers({ fanout: 4 }); // { intervalMs: 1000, fanout: 4, … }
 * ```
 */
export interface GossipTimers {
  readonly intervalMs: number;
  readonly fanout: number;
  readonly suspectAfterMs: number;
  readonly deadAfterMs: number;
  readonly timeoutMs: number;
}

/**
 * Applies the defaults of the role timers and checks them (a bad value throws, naming it).
 *
 * @example
 * ```ts
 * resolveGossipTimers({}); // { intervalMs: 1000, fanout: 3, suspectAfterMs: 5000, deadAfterMs: 15000, timeoutMs: 500 }
 * ```
 */
export function resolveGossipTimers(options: Partial<Pick<GossipOptions, keyof GossipTimers>>): GossipTimers {
  const owner = "gossip";
  const intervalMs = requireNumber(owner, "intervalMs", options.intervalMs ?? 1000, 1);
  return {
    intervalMs,
    fanout: requireInteger(owner, "fanout", options.fanout ?? 3, 1),
    suspectAfterMs: requireNumber(owner, "suspectAfterMs", options.suspectAfterMs ?? 5000, 1),
    deadAfterMs: requireNumber(owner, "deadAfterMs", options.deadAfterMs ?? 15_000, 1),
    timeoutMs: requireNumber(owner, "timeoutMs", options.timeoutMs ?? intervalMs / 2, 1),
  };
}

/**
 * The queue options and concurrency of a gossip pump (`role: "gossip"`, queue named
 * `gossip.<pump>`, poison queue `gossip.<pump>.poison`), through the queue layer's `roleConfig`.
 *
 * @example
 * ```ts
 * const { queue, concurrency } = gossipPumpConfig("inbound", { capacity: 64 }, { clock, metrics });
 * SafeTaskQueue.create(queue); // fullMode "reject": a full inbound queue refuses (429)
 * ```
 */
export function gossipPumpConfig<T>(
  pump: "outbound" | "inbound",
  settings: GossipPumpSettings = {},
  wiring: { clock?: Clock; metrics?: MetricsRegistry; fanout?: number } = {},
): { queue: QueueCreateOptions<T>; concurrency: number; poisonKept: number } {
  const set = Object.fromEntries(Object.entries(settings).filter(([, v]) => v !== undefined)) as GossipPumpSettings;
  const merged = { ...GOSSIP_PUMP_DEFAULTS[pump], ...set };
  const role: RoleSettings = {};
  const concurrency = set.concurrency ?? (pump === "outbound" ? wiring.fanout : undefined);
  if (concurrency !== undefined) role.concurrency = concurrency;
  if (set.maxRetries !== undefined) role.maxRetries = set.maxRetries;
  const config = roleConfig("gossip", { gossip: role }, {
    name: `gossip.${pump}`,
    capacity: merged.capacity,
    fullMode: "reject",
    maxStalls: merged.maxStalls,
    requeueDelayMs: merged.requeueDelayMs,
    leaseMs: merged.leaseMs,
    clock: wiring.clock ?? systemClock,
  });
  return {
    queue: { ...config.queue, metrics: wiring.metrics },
    concurrency: config.concurrency,
    poisonKept: requireInteger("gossip", `${pump}.poisonKept`, merged.poisonKept, 0),
  };
}

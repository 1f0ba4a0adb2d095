/**
 * The types of `LeadershipCoordinator`: its options, the fence it hands to what a leader runs,
 * and the per-scope view of `GET /v1/cluster/leaders`.
 *
 * @module
 */
import type { Clock } from "../../result/clock.ts";
import type { MetricsRegistry } from "../../queue/metrics/registry.ts";
import type { LeadershipPumpSettings, LeadershipTimers } from "./config.ts";
import type { LeaseStore } from "./lease-store.ts";

/**
 * Options of `LeadershipCoordinator.create`; `nodeId` and `store` are required.
 *
 * @example
 * ```ts
 * const options: LeadershipOptions = { nodeId: "node-a", store, scopes: ["bridge/jobs"], ttlMs: 10_000, evaluate: { maxRetries: 3 } };
 * ```
 */
export interface LeadershipOptions extends Partial<LeadershipTimers> {
  /** This node's id: the `holder` of the leases it takes (`SLUICE_NODE_ID`). */
  readonly nodeId: string;
  readonly store: LeaseStore;
  /** Scopes to evaluate from the start (more with `addScope`). */
  readonly scopes?: readonly string[];
  /** The `leadership.evaluate` pump (`pumps.leadership.evaluate.*`). */
  readonly evaluate?: LeadershipPumpSettings;
  /** Longest wait for one store call; past it the call counts as `unavailable`. Default `evaluationIntervalMs`. */
  readonly storeTimeoutMs?: number;
  readonly clock?: Clock;
  /** Where the pump's and the leadership series go. Default a registry of its own. */
  readonly metrics?: MetricsRegistry;
  /** One line per election and per loss. */
  readonly log?: (line: string) => void;
}

/**
 * The term a leader acts under, handed to whatever it leads (a bridge): `isCurrent()` is false
 * from the moment this node may no longer act in `term` (its own deadline passed, it stepped
 * down, or it was fenced), and `fenced()` reports that a downstream refused `term` because it saw
 * a higher one — the coordinator steps down at once.
 *
 * @example
 * ```ts
 * const fence = coordinator.fence("bridge/jobs")!;
 * if (fence.isCurrent()) await send(payload, fence.term);
 * ```
 */
export interface LeaderFence {
  readonly scope: string;
  readonly term: number;
  isCurrent(): boolean;
  fenced(reason: string): void;
}

/**
 * One scope as `GET /v1/cluster/leaders` shows it: who leads (this node's knowledge; null when
 * nobody holds an unexpired lease it knows of), in which term, until when.
 *
 * @example
 * ```ts
 * const row: ScopeLeader = { scope: "bridge/jobs", leader: "node-a", term: 7, expiresAtMs: 1795000010000 };
 * ```
 */
export interface ScopeLeader {
  readonly scope: string;
  readonly leader: string | null;
  readonly term: number | null;
  readonly expiresAtMs: number | null;
}

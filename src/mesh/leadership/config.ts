/**
 * Leadership configuration: the role timers (`mesh.leadership.*`), the evaluation pump's settings
 * (`pumps.leadership.evaluate.*`), their defaults and validation.
 *
 * @module
 */
import { type Clock, systemClock } from "../../result/clock.ts";
import { requireInteger, requireNumber } from "../../result/options.ts";
import type { MetricsRegistry } from "../../queue/metrics/registry.ts";
import type { QueueCreateOptions } from "../../queue/queue-api.ts";

/**
 * The role timers, all in ms (`mesh.leadership.*`).
 *
 * @example
 * ```ts
 * const timers: LeadershipTimers = { ttlMs: 10_000, renewMarginMs: 3_000, evaluationIntervalMs: 1_000 };
 * ```
 */
export interface LeadershipTimers {
  /** How long an acquired or renewed lease lasts in the store. */
  readonly ttlMs: number;
  /**
   * The safety margin: a leader acts only until (start of its last successful acquire/renew
   * call) + ttlMs − renewMarginMs, on its own clock, so it stops before anyone else may take over.
   */
  readonly renewMarginMs: number;
  /** How often each scope is evaluated (acquire, renew, observe). */
  readonly evaluationIntervalMs: number;
}

/**
 * Defaults of `mesh.leadership.*`: a 10 s lease, 3 s margin, one evaluation per second — a leader
 * that cannot renew for 7 s stops; another node leads at most ~11 s after a leader dies.
 *
 * @example
 * ```ts
 * LEADERSHIP_DEFAULTS.ttlMs; // 10000
 * ```
 */
export const LEADERSHIP_DEFAULTS: LeadershipTimers = Object.freeze({ ttlMs: 10_000, renewMarginMs: 3_000, evaluationIntervalMs: 1_000 });

/**
 * Applies the defaults and checks the timers (a bad value throws, naming it): margin < ttl, and
 * an evaluation interval shorter than what the margin leaves (else a leader could not renew
 * before its own deadline).
 *
 * @example
 * ```ts
 * resolveLeadershipTimers({ ttlMs: 4000, renewMarginMs: 1000, evaluationIntervalMs: 500 });
 * resolveLeadershipTimers({ ttlMs: 3000, renewMarginMs: 3000 }); // throws RangeError
 * ```
 */
export function resolveLeadershipTimers(timers: Partial<LeadershipTimers> = {}): LeadershipTimers {
  const owner = "leadership";
  const ttlMs = requireNumber(owner, "ttlMs", timers.ttlMs ?? LEADERSHIP_DEFAULTS.ttlMs, 1);
  const renewMarginMs = requireNumber(owner, "renewMarginMs", timers.renewMarginMs ?? LEADERSHIP_DEFAULTS.renewMarginMs, 0);
  const evaluationIntervalMs = requireNumber(owner, "evaluationIntervalMs", timers.evaluationIntervalMs ?? LEADERSHIP_DEFAULTS.evaluationIntervalMs, 1);
  if (renewMarginMs >= ttlMs) throw new RangeError(`leadership: renewMarginMs must be less than ttlMs (got ${renewMarginMs} >= ${ttlMs})`);
  if (evaluationIntervalMs >= ttlMs - renewMarginMs) {
    throw new RangeError(`leadership: evaluationIntervalMs must be less than ttlMs - renewMarginMs (got ${evaluationIntervalMs} >= ${ttlMs - renewMarginMs})`);
  }
  return Object.freeze({ ttlMs, renewMarginMs, evaluationIntervalMs });
}

/**
 * Settings of the `leadership.evaluate` pump (`pumps.leadership.evaluate.*`); unset fields take
 * `LEADERSHIP_PUMP_DEFAULTS`.
 *
 * @example
 * ```ts
 * const evaluate: LeadershipPumpSettings = { concurrency: 2, maxRetries: 3, requeueDelayMs: 250 };
 * ```
 */
export interface LeadershipPumpSettings {
  /** Scopes evaluated at once (one evaluation per scope at a time, whatever this is). */
  readonly concurrency?: number;
  /** Evaluations waiting at once (at most one per scope). */
  readonly capacity?: number;
  /** Attempts of one evaluation whose store call failed (`unavailable`) before it is poisoned. */
  readonly maxRetries?: number;
  readonly maxStalls?: number;
  /** Wait before an evaluation whose store call failed is tried again. */
  readonly requeueDelayMs?: number;
  /** How long one evaluation may run without a heartbeat. */
  readonly leaseMs?: number;
  /** Poisoned evaluations kept for inspection (older ones are purged). */
  readonly poisonKept?: number;
}

/**
 * Defaults of `pumps.leadership.evaluate.*`: 4 scopes at once, a failed store call retried 3 times
 * 250 ms apart (well inside the default 7 s a leader may go without renewing), poison kept 64.
 *
 * @example
 * ```ts
 * LEADERSHIP_PUMP_DEFAULTS.requeueDelayMs; // 250
 * ```
 */
export const LEADERSHIP_PUMP_DEFAULTS = Object.freeze({ concurrency: 4, capacity: 1024, maxRetries: 3, maxStalls: 3, requeueDelayMs: 250, leaseMs: 10_000, poisonKept: 64 });

/**
 * The queue options and concurrency of the `leadership.evaluate` pump: role "leadership", queue
 * `leadership.evaluate`, poison queue `leadership.evaluate.poison`, `fullMode: "reject"` (the
 * ticker skips a scope it cannot enqueue; single-flight keeps at most one item per scope anyway).
 *
 * @example
 * ```ts
 * const { queue, concurrency } = leadershipPumpConfig({ maxRetries: 5 }, { clock, metrics });
 * const q = SafeTaskQueue.create<EvaluationItem>(queue);
 * ```
 */
export function leadershipPumpConfig<T>(
  settings: LeadershipPumpSettings = {},
  wiring: { clock?: Clock; metrics?: MetricsRegistry } = {},
): { queue: QueueCreateOptions<T>; concurrency: number; poisonKept: number } {
  const merged = { ...LEADERSHIP_PUMP_DEFAULTS, ...settings };
  const owner = "pumps.leadership.evaluate";
  return {
    queue: {
      name: "leadership.evaluate",
      role: "leadership",
      capacity: requireInteger(owner, "capacity", merged.capacity, 1),
      fullMode: "reject",
      maxRetries: requireInteger(owner, "maxRetries", merged.maxRetries, 1),
      maxStalls: requireInteger(owner, "maxStalls", merged.maxStalls, 1),
      requeueDelayMs: requireNumber(owner, "requeueDelayMs", merged.requeueDelayMs, 0),
      leaseMs: requireNumber(owner, "leaseMs", merged.leaseMs, 2),
      clock: wiring.clock ?? systemClock,
      metrics: wiring.metrics,
    },
    concurrency: requireInteger(owner, "concurrency", merged.concurrency, 1),
    poisonKept: requireInteger(owner, "poisonKept", merged.poisonKept, 0),
  };
}

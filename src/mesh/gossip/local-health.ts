/**
 * Local health awareness, after Lifeguard (Dadgar et al., "Lifeguard: Local Health Awareness for
 * More Accurate Failure Detection", 2018; HashiCorp memberlist's `awareness`).
 *
 * The idea: a node that is itself slow — its event loop stalls, its rounds start late, its own
 * exchanges time out, others keep suspecting it — cannot tell a slow peer from its own slowness,
 * and would otherwise spread false suspicions. So it keeps a health score and stretches its own
 * failure-detection timers by `1 + score`: the exchange timeout and the suspicion timers of its
 * sweep (alive → suspect, suspect → dead). Healthy nodes keep score 0 and full speed.
 *
 * Score events (bounded to [0, maxMultiplier − 1]):
 * - a round that starts late by half an interval or more: +1 per interval late (missed rounds);
 * - an exchange that failed for good (the suspicion hint): +1;
 * - having to refute a suspicion of itself: +1 (others find it slow);
 * - an exchange that succeeded: −1.
 * This is the core of Lifeguard's LHA-Probe applied to Sluice's timers; LHA-Suspicion (a suspicion
 * timeout that shrinks with independent confirmations) is not implemented.
 *
 * @module
 */
import { requireInteger } from "../../result/options.ts";

/**
 * Options of `new LocalHealth`.
 *
 * @example
 * ```ts
 * const health = new LocalHealth({ maxMultiplier: 8 });
 * ```
 */
export interface LocalHealthOptions {
  /** Largest factor timers are stretched by. Default 8 (memberlist's). */
  maxMultiplier?: number;
  /** False pins the multiplier at 1 (for comparisons). Default true. */
  enabled?: boolean;
}

/**
 * A node's own health score and the factor its failure-detection timers are stretched by.
 *
 * @example
 * ```ts
 * const health = new LocalHealth();
 * health.roundStarted(2500, 1000); // two rounds missed → score 2
 * membership.sweep(health.multiplier); // timers × 3
 * health.exchangeSucceeded(); // score 1
 * ```
 */
export class LocalHealth {
  readonly maxMultiplier: number;
  readonly enabled: boolean;
  #score = 0;

  constructor(options: LocalHealthOptions = {}) {
    this.maxMultiplier = requireInteger("LocalHealth", "maxMultiplier", options.maxMultiplier ?? 8, 1);
    this.enabled = options.enabled ?? true;
  }

  /** 0 when healthy, up to `maxMultiplier − 1`. */
  get score(): number {
    return this.#score;
  }

  /** The factor for this node's own timers: `1 + score` (1 when disabled). */
  get multiplier(): number {
    return this.enabled ? 1 + this.#score : 1;
  }

  /** A round began `lateByMs` after it was due. */
  roundStarted(lateByMs: number, intervalMs: number): void {
    if (lateByMs >= intervalMs / 2) this.#add(Math.max(1, Math.round(lateByMs / intervalMs)));
  }

  /** An exchange failed for good (after its retries). */
  exchangeFailed(): void {
    this.#add(1);
  }

  /** This node had to refute a record about itself. */
  refuted(): void {
    this.#add(1);
  }

  /** An exchange succeeded. */
  exchangeSucceeded(): void {
    this.#add(-1);
  }

  #add(delta: number): void {
    this.#score = Math.min(this.maxMultiplier - 1, Math.max(0, this.#score + delta));
  }
}

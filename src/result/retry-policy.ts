/**
 * `RetryPolicy`: attempts and backoff, with its option types.
 *
 * @module
 */
import { requireBound, requireInRange, requireInteger, requireNumber } from "./options.ts";

/**
 * A source of uniform numbers in [0, 1); injectable so jittered waits are exact in tests.
 *
 * @example
 * ```ts
 * const fixedRandom: RandomSource = () => 0.5;
 * ```
 */
export type RandomSource = () => number;

/**
 * Options of `RetryPolicy.exponential`.
 *
 * @example
 * ```ts
 * RetryPolicy.exponential({ attempts: 5, initialMs: 100, factor: 2, maxMs: 5000, jitter: 0.2 });
 * ```
 */
export interface ExponentialOptions {
  attempts: number;
  initialMs: number;
  factor?: number;
  maxMs?: number;
  jitter?: number;
}

/**
 * Options of `RetryPolicy.fixed`.
 *
 * @example
 * ```ts
 * RetryPolicy.fixed({ attempts: 3, delayMs: 500 });
 * ```
 */
export interface FixedOptions {
  attempts: number;
  delayMs: number;
}

/**
 * How many attempts, and how long to wait before each retry.
 *
 * `exponential` waits `initialMs * factor^(n-1)` after the n-th failed attempt, capped at `maxMs`.
 * With `jitter` j in [0, 1] the wait is scaled by `1 - j * random()`: it spreads retries out
 * without ever exceeding the un-jittered wait (so `maxMs` stays a hard cap). `random` is
 * injectable so tests are exact.
 *
 * @example
 * ```ts
 * const policy = RetryPolicy.exponential({ attempts: 4, initialMs: 100, factor: 2, maxMs: 300 });
 * [1, 2, 3].map((n) => policy.delayAfter(n)); // [100, 200, 300]
 * ```
 */
export class RetryPolicy {
  private constructor(
    /** Total attempts, the first one included (>= 1). */
    readonly attempts: number,
    private readonly initialMs: number,
    private readonly factor: number,
    private readonly maxMs: number,
    private readonly jitter: number,
  ) {}

  /** Exponential backoff. Defaults: factor 2, no cap, no jitter. */
  static exponential(options: ExponentialOptions): RetryPolicy {
    const owner = "RetryPolicy.exponential";
    return new RetryPolicy(
      requireInteger(owner, "attempts", options.attempts, 1),
      requireNumber(owner, "initialMs", options.initialMs, 0),
      requireNumber(owner, "factor", options.factor ?? 2, 1),
      requireBound(owner, "maxMs", options.maxMs ?? Infinity, 0),
      requireInRange(owner, "jitter", options.jitter ?? 0, 0, 1),
    );
  }

  /** The same wait before every retry. */
  static fixed(options: FixedOptions): RetryPolicy {
    const owner = "RetryPolicy.fixed";
    const delayMs = requireNumber(owner, "delayMs", options.delayMs, 0);
    return new RetryPolicy(requireInteger(owner, "attempts", options.attempts, 1), delayMs, 1, delayMs, 0);
  }

  /** Milliseconds to wait after failed attempt number `attempt` (1-based) before the next one. */
  delayAfter(attempt: number, random: RandomSource = Math.random): number {
    const base = Math.min(this.maxMs, this.initialMs * this.factor ** Math.max(0, attempt - 1));
    return this.jitter === 0 ? base : base * (1 - this.jitter * random());
  }
}

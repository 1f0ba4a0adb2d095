/**
 * `CircuitBreaker`: closed → open → half-open, for a bridge whose every downstream path is down.
 *
 * @module
 */
import { type Clock, systemClock, type TimerHandle } from "../result/clock.ts";
import { canceledError } from "../result/errors.ts";
import { requireInteger } from "../result/options.ts";
import { err, ok, type Result } from "../result/result.ts";
import { type RandomSource, RetryPolicy } from "../result/retry-policy.ts";

/**
 * Where a circuit stands: `closed` (sends go), `open` (none go until the backoff elapsed),
 * `half-open` (one probe goes; its outcome closes or reopens the circuit).
 *
 * @example
 * ```ts
 * const state: CircuitState = breaker.state; // "closed" | "open" | "half-open"
 * ```
 */
export type CircuitState = "closed" | "open" | "half-open";

/**
 * What `tryAdmit` grants: an ordinary send (`pass`, circuit closed) or the one `probe` of a
 * half-open circuit. Hand it back to `succeeded`, `failed` or `released`.
 *
 * @example
 * ```ts
 * const admission: Admission | undefined = breaker.tryAdmit();
 * ```
 */
export type Admission = "pass" | "probe";

/**
 * A state change, as `onChange` reports it. `openings` counts the openings since the circuit
 * was last closed (1 when an outage starts); `retryInMs` is the wait before the next probe.
 *
 * @example
 * ```ts
 * const onChange = (c: CircuitChange) => { if (c.to === "open" && c.from === "closed") log("outage"); };
 * ```
 */
export interface CircuitChange {
  readonly from: CircuitState;
  readonly to: CircuitState;
  readonly openings: number;
  readonly retryInMs?: number;
}

/**
 * Options of `CircuitBreaker`.
 *
 * @example
 * ```ts
 * new CircuitBreaker({ failureThreshold: 3, backoff: RetryPolicy.exponential({ attempts: 1, initialMs: 500, maxMs: 5000 }) });
 * ```
 */
export interface CircuitBreakerOptions {
  /** Outage failures in a row (no success between) that open a closed circuit. Default 3. */
  readonly failureThreshold?: number;
  /**
   * Wait after the n-th opening in a row before the probe (`delayAfter(n)`; `attempts` is not
   * used). Default 500 ms doubling to 5 s, jitter 0.2.
   */
  readonly backoff?: RetryPolicy;
  readonly clock?: Clock;
  /** For the backoff's jitter (tests pass a fixed one). */
  readonly random?: RandomSource;
  readonly onChange?: (change: CircuitChange) => void;
}

/**
 * The default `backoff` of `CircuitBreaker`: 500 ms doubling to 5 s, jitter 0.2.
 *
 * @example
 * ```ts
 * DEFAULT_CIRCUIT_BACKOFF.delayAfter(4, () => 0); // 4000
 * ```
 */
export const DEFAULT_CIRCUIT_BACKOFF = RetryPolicy.exponential({ attempts: 1, initialMs: 500, factor: 2, maxMs: 5000, jitter: 0.2 });

/**
 * A circuit breaker for sends to a downstream that may be down as a whole.
 *
 * - **closed**: `tryAdmit()` grants `pass`. `failed()` counts outage failures in a row;
 *   `failureThreshold` of them open the circuit. Any `succeeded()` resets the count.
 * - **open**: nothing is admitted until `backoff.delayAfter(openings)` has passed; then the
 *   circuit is **half-open** and ONE caller gets `probe`. The probe's `succeeded()` closes the
 *   circuit (and the backoff starts over); its `failed()` reopens it with the next, longer wait.
 *   A success of any send (one admitted before the circuit opened) closes it as well: the
 *   downstream answered.
 * - `ready(signal)` parks a caller until a send could be admitted: at once while closed; while
 *   open, until the wait is over, and then callers are woken ONE at a time (each wake-up is a
 *   chance to probe); everyone once the circuit closes. A parked caller holds nothing.
 * - `successes` counts every success: a caller can tell whether anything got through while its
 *   own send was failing (then the failure was that message's, not an outage).
 *
 * @example
 * ```ts
 * const breaker = new CircuitBreaker({ failureThreshold: 3, onChange: (c) => log(c.from, "→", c.to) });
 * const admission = breaker.tryAdmit();
 * if (admission === undefined) await breaker.ready(signal);          // open: wait, holding nothing
 * else (await send()).ok ? breaker.succeeded(admission) : breaker.failed(admission);
 * ```
 */
export class CircuitBreaker {
  readonly #threshold: number;
  readonly #backoff: RetryPolicy;
  readonly #clock: Clock;
  readonly #random: RandomSource;
  readonly #onChange: ((change: CircuitChange) => void) | undefined;
  readonly #parked: Array<() => void> = [];
  #state: CircuitState = "closed";
  #failuresInARow = 0;
  #openings = 0;
  #probing = false;
  #probeAt = 0;
  #timer: TimerHandle | undefined;
  /** Successful sends so far (monotonic). */
  successes = 0;
  /** Probes granted so far (monotonic). */
  probes = 0;

  constructor(options: CircuitBreakerOptions = {}) {
    this.#threshold = requireInteger("CircuitBreaker", "failureThreshold", options.failureThreshold ?? 3, 1);
    this.#backoff = options.backoff ?? DEFAULT_CIRCUIT_BACKOFF;
    this.#clock = options.clock ?? systemClock;
    this.#random = options.random ?? Math.random;
    this.#onChange = options.onChange;
  }

  get state(): CircuitState {
    return this.#state;
  }

  /** Callers parked in `ready`. */
  get parked(): number {
    return this.#parked.length;
  }

  /** Milliseconds until the next probe may go (0 unless open). */
  get retryInMs(): number {
    return this.#state === "open" ? Math.max(0, this.#probeAt - this.#clock.now()) : 0;
  }

  /** `pass` (closed), `probe` (half-open, first caller), or undefined: do not send now. */
  tryAdmit(): Admission | undefined {
    if (this.#state === "closed") return "pass";
    if (this.#state === "open" && this.#clock.now() >= this.#probeAt) this.#halfOpen();
    if (this.#state !== "half-open" || this.#probing) return undefined;
    this.#probing = true;
    this.probes++;
    return "probe";
  }

  /** The send got through, or the downstream answered it (even with a refusal): it is up. */
  succeeded(admission: Admission): void {
    this.successes++;
    if (admission === "probe") this.#probing = false;
    this.#failuresInARow = 0;
    if (this.#state !== "closed") this.#close();
  }

  /** The send failed as an outage does (nothing answered). */
  failed(admission: Admission): void {
    if (admission === "probe") this.#probing = false;
    if (this.#state === "closed") {
      if (++this.#failuresInARow >= this.#threshold) this.#open();
    } else if (this.#state === "half-open" && admission === "probe") {
      this.#open();
    }
  }

  /** The send ended with no verdict (canceled): a probe slot is free again. */
  released(admission: Admission): void {
    if (admission !== "probe") return;
    this.#probing = false;
    if (this.#state === "half-open") this.#wakeOne();
  }

  /** Resolves once a send could be admitted (see the class doc); `canceled` when `signal` aborts. */
  ready(signal?: AbortSignal): Promise<Result<void>> {
    if (signal?.aborted) return Promise.resolve(err(canceledError(signal)));
    if (this.#state === "closed" || (this.#state === "half-open" && !this.#probing)) return Promise.resolve(ok());
    return new Promise((resolve) => {
      const onAbort = () => {
        const at = this.#parked.indexOf(wake);
        if (at >= 0) this.#parked.splice(at, 1);
        resolve(err(canceledError(signal)));
      };
      const wake = () => {
        signal?.removeEventListener("abort", onAbort);
        resolve(ok());
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#parked.push(wake);
    });
  }

  /** Stops the probe timer (parked callers are released by their signals). */
  dispose(): void {
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #open(): void {
    const from = this.#state;
    this.#openings++;
    const waitMs = this.#backoff.delayAfter(this.#openings, this.#random);
    this.#state = "open";
    this.#failuresInARow = 0;
    this.#probeAt = this.#clock.now() + waitMs;
    this.dispose();
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = undefined;
      if (this.#state === "open") this.#halfOpen();
    }, waitMs);
    this.#onChange?.({ from, to: "open", openings: this.#openings, retryInMs: waitMs });
  }

  #halfOpen(): void {
    this.dispose();
    this.#state = "half-open";
    this.#onChange?.({ from: "open", to: "half-open", openings: this.#openings });
    this.#wakeOne();
  }

  #close(): void {
    const from = this.#state;
    const openings = this.#openings;
    this.dispose();
    this.#state = "closed";
    this.#openings = 0;
    this.#probing = false;
    this.#onChange?.({ from, to: "closed", openings });
    for (const wake of this.#parked.splice(0)) wake();
  }

  #wakeOne(): void {
    this.#parked.shift()?.();
  }
}

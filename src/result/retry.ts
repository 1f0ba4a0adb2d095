/**
 * `retry` and the default retryability rule it applies.
 *
 * @module
 */
import { type Clock, systemClock } from "./clock.ts";
import { delay } from "./delay.ts";
import { canceledError, type SluiceError, toSluiceError } from "./errors.ts";
import { err, type Result } from "./result.ts";
import type { RandomSource, RetryPolicy } from "./retry-policy.ts";
import { abortable } from "./delay.ts";
import { whenSettled } from "./with-timeout.ts";

/**
 * Options of `retry`.
 *
 * @example
 * ```ts
 * retry(op, policy, { signal, onRetry: ({ attempt, delayMs }) => log(attempt, delayMs) });
 * ```
 */
export interface RetryOptions {
  signal?: AbortSignal;
  clock?: Clock;
  /** Jitter source; inject a fixed one in tests. */
  random?: RandomSource;
  /** Overrides the default retryability rule. `canceled` always stops. */
  isRetryable?: (error: SluiceError) => boolean;
  /** Called before each backoff wait (logging, metrics). */
  onRetry?: (info: { attempt: number; error: SluiceError; delayMs: number }) => void;
}

/**
 * The operation retried; `attempt` starts at 1.
 *
 * @example
 * ```ts
 * const op: RetriedOperation<Receipt> = (attempt, signal) => client.send(command, { signal });
 * ```
 */
export type RetriedOperation<T> = (attempt: number, signal: AbortSignal | undefined) => Promise<Result<T>>;

/**
 * The default rule: everything is retryable except cancellations and errors that are properties of
 * the input or the caller rather than of the moment.
 *
 * @example
 * ```ts
 * isRetryableError({ code: "unavailable", message: "down" }); // true
 * ```
 */
export function isRetryableError(error: SluiceError): boolean {
  switch (error.code) {
    case "canceled":
    case "validation":
    case "unauthorized":
    case "poisoned":
    case "frame.malformed":
    case "frame.too_large":
      return false;
    default:
      return true;
  }
}

/**
 * Runs an operation until it succeeds or its `RetryPolicy` runs out.
 *
 * Stops at once on `canceled`; never retries `validation`, `unauthorized`, `poisoned` or
 * `frame.*` errors (retrying cannot fix them); retries everything else. An abort during a backoff
 * wait returns `canceled`. Attempts never overlap: after an attempt that `withTimeout` abandoned,
 * the next starts only once the abandoned one has settled and its compensations ran. The final
 * error carries `metadata.attempts`.
 *
 * @example
 * ```ts
 * const sent = await retry(
 *   (attempt, signal) => client.send(command, { signal }),
 *   RetryPolicy.exponential({ attempts: 3, initialMs: 250 }),
 *   { signal, clock },
 * );
 * ```
 */
export async function retry<T>(operation: RetriedOperation<T>, policy: RetryPolicy, options: RetryOptions = {}): Promise<Result<T>> {
  const { signal, clock = systemClock, random = Math.random, isRetryable = isRetryableError, onRetry } = options;
  let last: SluiceError | undefined;
  for (let attempt = 1; attempt <= policy.attempts; attempt++) {
    if (signal?.aborted) return withAttempts(canceledError(signal), attempt - 1);
    let result: Result<T>;
    try {
      result = await operation(attempt, signal);
    } catch (thrown) {
      result = err(toSluiceError(thrown));
    }
    if (result.ok) return result;
    last = result.error;
    if (last.code === "canceled" || signal?.aborted) return withAttempts(signal?.aborted ? canceledError(signal) : last, attempt);
    if (!isRetryable(last) || attempt === policy.attempts) return withAttempts(last, attempt);

    const abandoned = whenSettled(last);
    if (abandoned) {
      const cleaned = await abortable(abandoned, signal);
      if (!cleaned.ok) return withAttempts(cleaned.error, attempt);
    }
    const waitMs = policy.delayAfter(attempt, random);
    onRetry?.({ attempt, error: last, delayMs: waitMs });
    const waited = await delay(waitMs, { signal, clock });
    if (!waited.ok) return withAttempts(waited.error, attempt);
  }
  // Unreachable: the loop returns on its last attempt. Kept for the type checker.
  return withAttempts(last ?? canceledError(signal), policy.attempts);
}

function withAttempts<T>(error: SluiceError, attempts: number): Result<T> {
  return err({
    ...error,
    message: `${error.message} (after ${attempts} attempt${attempts === 1 ? "" : "s"})`,
    metadata: { ...error.metadata, attempts },
  });
}

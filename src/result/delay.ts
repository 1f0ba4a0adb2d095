/**
 * Abortable waiting on an injectable clock. These replace `@std/async` (JSR is unreachable here):
 * `delay` waits, `abortable` stops waiting for a promise on abort, `deadline` stops waiting at a
 * time limit. All of them resolve to a `Result` and never reject.
 *
 * @example
 * ```ts
 * const waited = await delay(250, { signal, clock });
 * if (!waited.ok) return waited; // canceled
 * ```
 */
import type { Clock } from "./clock.ts";
import { systemClock } from "./clock.ts";
import { canceledError, sluiceError, toSluiceError } from "./errors.ts";
import { err, ok, type Result } from "./result.ts";
import { onAbort } from "./signals.ts";

/** Options of every waiting helper. */
export interface WaitOptions {
  signal?: AbortSignal;
  clock?: Clock;
}

/** Waits `ms` on the clock; `canceled` if the signal aborts first (the timer is released). */
export function delay(ms: number, options: WaitOptions = {}): Promise<Result<void>> {
  const { signal, clock = systemClock } = options;
  if (signal?.aborted) return Promise.resolve(err(canceledError(signal)));
  return new Promise((resolve) => {
    const handle = clock.setTimeout(() => {
      off();
      resolve(ok());
    }, ms);
    const off = onAbort(signal, () => {
      clock.clearTimeout(handle);
      resolve(err(canceledError(signal)));
    });
  });
}

/**
 * Settles with `promise` as a Result, or with `canceled` as soon as `signal` aborts (the promise
 * is then left to finish on its own; its rejection is swallowed).
 *
 * @example
 * ```ts
 * const next = await abortable(iterator.next(), signal);
 * ```
 */
export function abortable<T>(promise: PromiseLike<T>, signal?: AbortSignal): Promise<Result<T>> {
  if (signal?.aborted) {
    Promise.resolve(promise).catch(() => {});
    return Promise.resolve(err(canceledError(signal)));
  }
  return new Promise((resolve) => {
    const off = onAbort(signal, () => resolve(err(canceledError(signal))));
    Promise.resolve(promise).then(
      (value) => {
        off();
        resolve(ok(value));
      },
      (thrown) => {
        off();
        resolve(err(toSluiceError(thrown)));
      },
    );
  });
}

/**
 * Like `abortable`, plus a time limit: `timeout` if `promise` has not settled within `ms`.
 * Unlike `withTimeout` it cannot stop the work behind the promise; prefer `withTimeout` when the
 * operation takes a signal.
 *
 * @example
 * ```ts
 * const reply = await deadline(socketReply, 3000, { clock });
 * ```
 */
export function deadline<T>(promise: PromiseLike<T>, ms: number, options: WaitOptions = {}): Promise<Result<T>> {
  const { signal, clock = systemClock } = options;
  return new Promise((resolve) => {
    const handle = clock.setTimeout(
      () => resolve(err(sluiceError("timeout", `deadline of ${ms} ms passed`, { metadata: { timeoutMs: ms } }))),
      ms,
    );
    abortable(promise, signal).then((result) => {
      clock.clearTimeout(handle);
      resolve(result);
    });
  });
}

/**
 * `Result<T>` and its helpers: success or a `SluiceError`, never a throw for an expected failure.
 *
 * @module
 */
import { type ErrorCode, type SluiceError, canceledError, sluiceError, toSluiceError } from "./errors.ts";

/**
 * Success carrying `value`.
 *
 * @example
 * ```ts
 * const r: Ok<number> = ok(42);
 * ```
 */
export interface Ok<T> {
  readonly ok: true;
  readonly value: T;
  /** Always absent on success; declared so `result.error?.code` reads without narrowing. */
  readonly error?: undefined;
}
/**
 * Failure carrying `error`.
 *
 * @example
 * ```ts
 * const r: Err = err("timeout", "no reply in 5s");
 * ```
 */
export interface Err<E = SluiceError> {
  readonly ok: false;
  readonly error: E;
  /** Always absent on failure. */
  readonly value?: undefined;
}
/**
 * The outcome of anything that can fail in an expected way: success or a `SluiceError`, never
 * a throw, so callers must look at the failure before they can reach the value.
 *
 * @example
 * ```ts
 * const r = andThen(ok(2), (n) => (n > 1 ? ok(n * 10) : err("validation", "too small")));
 * if (r.ok) console.log(r.value); // 20
 * ```
 */
export type Result<T, E = SluiceError> = Ok<T> | Err<E>;

const OK_VOID: Ok<void> = Object.freeze({ ok: true, value: undefined }) as Ok<void>;

/**
 * A success. `ok()` with no argument is the shared `Result<void>` success.
 *
 * @example
 * ```ts
 * ok(42); // { ok: true, value: 42 }
 * ```
 */
export function ok(): Ok<void>;
/** A success carrying `value` (`undefined` gives the shared `Result<void>` success). */
export function ok<T>(value: T): Ok<T>;
export function ok<T>(value?: T): Ok<T | void> {
  return value === undefined ? OK_VOID : { ok: true, value };
}

/**
 * A failure, from an existing error or from a code and message.
 *
 * @example
 * ```ts
 * err("queue.full", "no room"); err(sluiceError("timeout", "late"));
 * ```
 */
export function err(error: SluiceError): Err<SluiceError>;
/** A failure built from a code and message, with an optional cause and metadata. */
export function err(code: ErrorCode, message: string, extra?: { cause?: unknown; metadata?: Record<string, unknown> }): Err<SluiceError>;
export function err(
  codeOrError: ErrorCode | SluiceError,
  message?: string,
  extra?: { cause?: unknown; metadata?: Record<string, unknown> },
): Err<SluiceError> {
  const error = typeof codeOrError === "string" ? sluiceError(codeOrError, message ?? codeOrError, extra) : codeOrError;
  return { ok: false, error };
}

/**
 * Narrowing guard for success.
 *
 * @example
 * ```ts
 * if (isOk(r)) r.value;
 * ```
 */
export function isOk<T, E>(result: Result<T, E>): result is Ok<T> {
  return result.ok;
}

/**
 * Narrowing guard for failure.
 *
 * @example
 * ```ts
 * if (isErr(r)) r.error.code;
 * ```
 */
export function isErr<T, E>(result: Result<T, E>): result is Err<E> {
  return !result.ok;
}

/**
 * Transforms the success value; failures pass through untouched.
 *
 * @example
 * ```ts
 * map(ok(2), (n) => n + 1); // ok(3)
 * ```
 */
export function map<T, U, E>(result: Result<T, E>, fn: (value: T) => U): Result<U, E> {
  return result.ok ? { ok: true, value: fn(result.value) } : result;
}

/**
 * Chains a step that can itself fail; failures short-circuit.
 *
 * @example
 * ```ts
 * andThen(ok("7"), (s) => (Number.isNaN(+s) ? err("validation", "NaN") : ok(+s)));
 * ```
 */
export function andThen<T, U, E>(result: Result<T, E>, fn: (value: T) => Result<U, E>): Result<U, E> {
  return result.ok ? fn(result.value) : result;
}

/**
 * Transforms the error of a failure; successes pass through.
 *
 * @example
 * ```ts
 * mapError(r, (e) => ({ ...e, message: `send: ${e.message}` }));
 * ```
 */
export function mapError<T, E, F>(result: Result<T, E>, fn: (error: E) => F): Result<T, F> {
  return result.ok ? result : { ok: false, error: fn(result.error) };
}

/**
 * Runs an async function and captures what it throws as a failed Result: aborts become
 * `canceled`, anything else `internal`. If `signal` is already aborted the function never runs.
 *
 * @example
 * ```ts
 * const r = await tryAsync((signal) => fetch(url, { signal }).then((res) => res.text()), { signal });
 * ```
 */
export async function tryAsync<T>(
  fn: (signal: AbortSignal | undefined) => Promise<T> | T,
  options: { signal?: AbortSignal } = {},
): Promise<Result<T>> {
  const { signal } = options;
  if (signal?.aborted) return err(canceledError(signal));
  try {
    return ok(await fn(signal));
  } catch (thrown) {
    return err(signal?.aborted ? canceledError(signal) : toSluiceError(thrown));
  }
}

/**
 * Returns the value or throws the error (for tests and top-level scripts, not pump code).
 *
 * @example
 * ```ts
 * const id = unwrap(await queue.enqueue(payload)).sequenceId;
 * ```
 */
export function unwrap<T>(result: Result<T>): T {
  if (result.ok) return result.value;
  const e = new Error(`${result.error.code}: ${result.error.message}`);
  (e as Error & { sluice: SluiceError }).sluice = result.error;
  throw e;
}

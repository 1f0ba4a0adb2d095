/**
 * Stable error codes and the `SluiceError` value every failed `Result` carries.
 *
 * Errors are plain objects, not `Error` instances: failures are expected values on the hot path
 * (a NACK, a full queue) and capturing a stack for each would cost more than the work itself.
 *
 * @example
 * ```ts
 * const e = sluiceError("queue.full", "queue 'jobs' is full", { metadata: { capacity: 1024 } });
 * e.code; // "queue.full"
 * ```
 */
export const ERROR_CODES = [
  "canceled",
  "timeout",
  "validation",
  "queue.full",
  "queue.closed",
  "lease.inactive",
  "lease.expired",
  "poisoned",
  "frame.malformed",
  "frame.too_large",
  "unavailable",
  "unauthorized",
  "not_found",
  "internal",
] as const;

/** One of the stable error code strings of the contract (plus `not_found` for unknown queues). */
export type ErrorCode = (typeof ERROR_CODES)[number];

/** The error half of a `Result`. `metadata` holds structured detail (attempts, offsets, causes). */
export interface SluiceError {
  readonly code: ErrorCode;
  readonly message: string;
  readonly cause?: unknown;
  readonly metadata?: Readonly<Record<string, unknown>>;
}

const codeSet: ReadonlySet<string> = new Set(ERROR_CODES);

/**
 * Builds a `SluiceError`.
 *
 * @example
 * ```ts
 * sluiceError("timeout", "send took longer than 3000 ms");
 * ```
 */
export function sluiceError(
  code: ErrorCode,
  message: string,
  extra: { cause?: unknown; metadata?: Record<string, unknown> } = {},
): SluiceError {
  const error: { code: ErrorCode; message: string; cause?: unknown; metadata?: Record<string, unknown> } = {
    code,
    message,
  };
  if (extra.cause !== undefined) error.cause = extra.cause;
  if (extra.metadata !== undefined) error.metadata = extra.metadata;
  return error;
}

/**
 * True for values shaped like a `SluiceError` with a known code.
 *
 * @example
 * ```ts
 * isSluiceError({ code: "timeout", message: "late" }); // true
 * ```
 */
export function isSluiceError(value: unknown): value is SluiceError {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as SluiceError).message === "string" &&
    codeSet.has((value as SluiceError).code)
  );
}

/**
 * True when `code` is one of the contract's codes (used when decoding errors from the wire).
 *
 * @example
 * ```ts
 * isErrorCode("queue.full"); // true
 * ```
 */
export function isErrorCode(code: string): code is ErrorCode {
  return codeSet.has(code);
}

/**
 * The `canceled` error for an aborted signal, keeping the abort reason as `cause`.
 *
 * @example
 * ```ts
 * const c = new AbortController(); c.abort();
 * canceledError(c.signal).code; // "canceled"
 * ```
 */
export function canceledError(signal?: AbortSignal, message = "operation was canceled"): SluiceError {
  const reason = signal?.reason;
  return reason === undefined ? sluiceError("canceled", message) : sluiceError("canceled", message, { cause: reason });
}

/**
 * Maps anything thrown to a `SluiceError`: SluiceErrors pass through, `AbortError`s become
 * `canceled`, `TimeoutError`s become `timeout`, everything else becomes `fallback` (`internal`).
 *
 * @example
 * ```ts
 * toSluiceError(new Error("boom")).code; // "internal"
 * ```
 */
export function toSluiceError(thrown: unknown, fallback: ErrorCode = "internal"): SluiceError {
  if (isSluiceError(thrown)) return thrown;
  const name = (thrown as { name?: unknown } | null)?.name;
  const message = thrown instanceof Error ? thrown.message : String(thrown);
  if (name === "AbortError") return sluiceError("canceled", message || "operation was canceled", { cause: thrown });
  if (name === "TimeoutError") return sluiceError("timeout", message || "operation timed out", { cause: thrown });
  return sluiceError(fallback, message, { cause: thrown });
}

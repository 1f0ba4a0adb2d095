/**
 * The numeric error code carried in the `arg` field of ERROR frames.
 *
 * The number is the code's 1-based position in `ERROR_CODES` (src/result/errors.ts): `canceled` is
 * 1, `timeout` 2, ... `internal` 14. 0 is reserved as "no code" because it is what an unset u32
 * reads as, so a forgotten `arg` is detected instead of being read as `canceled`. The numbering is
 * wire-stable: new codes must be appended to `ERROR_CODES`, never inserted or reordered.
 *
 * @example
 * ```ts
 * const arg = errorCodeToArg("frame.too_large"); // 10
 * const code = argToErrorCode(arg);              // ok("frame.too_large")
 * ```
 */
import { ERROR_CODES, type ErrorCode } from "../result/errors.ts";
import { err, ok, type Result } from "../result/result.ts";

/** The `arg` value that means "no error code" (the payload's code, if any, is authoritative). */
export const NO_ERROR_ARG = 0;

const argByCode: ReadonlyMap<ErrorCode, number> = new Map(ERROR_CODES.map((code, index) => [code, index + 1]));

/**
 * The u32 `arg` of an ERROR frame for `code`.
 *
 * @example
 * ```ts
 * errorCodeToArg("canceled"); // 1
 * ```
 */
export function errorCodeToArg(code: ErrorCode): number {
  const arg = argByCode.get(code);
  // Only reachable when a caller bypasses the type system; a programmer error, so it throws.
  if (arg === undefined) throw new TypeError(`errorCodeToArg: unknown error code ${JSON.stringify(code)}`);
  return arg;
}

/**
 * The error code an ERROR frame's `arg` stands for; `frame.malformed` for 0, out-of-range or
 * non-integer values (frames come from untrusted peers, so this never throws).
 *
 * @example
 * ```ts
 * argToErrorCode(4);   // ok("queue.full")
 * argToErrorCode(999); // err frame.malformed
 * ```
 */
export function argToErrorCode(arg: number): Result<ErrorCode> {
  const code = Number.isInteger(arg) && arg >= 1 ? ERROR_CODES[arg - 1] : undefined;
  if (code === undefined) {
    return err("frame.malformed", `ERROR frame arg ${arg} is not a known error code (expected 1..${ERROR_CODES.length})`, {
      metadata: { arg },
    });
  }
  return ok(code);
}

/**
 * JSON error responses `{ "error": { "code", "message" } }` with the HTTP status that fits each
 * stable error code, so HTTP clients and the frame protocol report failures the same way.
 *
 * @example
 * ```ts
 * return errorResponse(c, sluiceError("not_found", "no queue named 'jobs'")); // 404
 * ```
 */
import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { ErrorCode, SluiceError } from "../result/errors.ts";

const STATUS: Readonly<Record<ErrorCode, ContentfulStatusCode>> = {
  canceled: 499 as ContentfulStatusCode,
  timeout: 504,
  validation: 400,
  "queue.full": 429,
  "queue.closed": 503,
  "lease.inactive": 409,
  "lease.expired": 409,
  poisoned: 409,
  "frame.malformed": 400,
  "frame.too_large": 413,
  unavailable: 503,
  unauthorized: 401,
  not_found: 404,
  internal: 500,
};

/**
 * The HTTP status for an error code.
 *
 * @example
 * ```ts
 * statusForCode("queue.full"); // 429
 * ```
 */
export function statusForCode(code: ErrorCode): ContentfulStatusCode {
  return STATUS[code];
}

/**
 * A JSON error response for `error` (status from its code unless given).
 *
 * @example
 * ```ts
 * errorResponse(c, sluiceError("unavailable", "shutting down")); // 503
 * ```
 */
export function errorResponse(c: Context, error: SluiceError, status: ContentfulStatusCode = statusForCode(error.code)): Response {
  return c.json({ error: { code: error.code, message: error.message } }, status);
}

/**
 * CORS: lets browser pages on the configured origins (`corsOrigins`, env `SLUICE_CORS_ORIGINS`)
 * call Sluice — the HTTP routes and the `sluice.v1.Relay` service over Connect and gRPC-Web — and
 * read the answers. Built on hono's `cors` middleware with Connect's header lists
 * (`cors.allowedHeaders` / `cors.exposedHeaders` from `@connectrpc/connect`) plus Sluice's own.
 *
 * - No origins configured (the default): no middleware, no CORS headers, as before.
 * - A preflight (`OPTIONS`) from an allowed origin is answered 204 with the allowed methods and
 *   headers, before auth (browsers send no `Authorization` on a preflight).
 * - A request whose `Origin` is not allowed is refused with 403 before it reaches any route, so a
 *   page on another origin cannot enqueue with a "simple" POST that needs no preflight, nor open
 *   a WebSocket (browsers do not apply CORS to WebSockets). Requests without `Origin` (servers,
 *   CLIs, SDKs) are not affected.
 * - `"*"` allows every origin (`Access-Control-Allow-Origin: *`; bearer tokens still apply).
 *
 * @example
 * ```ts
 * const handler = corsMiddleware(["https://app.example.com"]);
 * if (handler !== undefined) app.use("*", handler);
 * ```
 *
 * @module
 */
import { cors as connectCors } from "@connectrpc/connect";
import type { MiddlewareHandler } from "hono";
import { cors } from "hono/cors";
import { sluiceError } from "../result/errors.ts";
import { SLUICE_ERROR_CODE_HEADER } from "../transport/relay-client.ts";
import { errorResponse } from "./http-errors.ts";

const unique = (names: readonly string[]): readonly string[] => Object.freeze([...new Map(names.map((n) => [n.toLowerCase(), n])).values()]);

/**
 * Methods a cross-origin page may use: Connect's (`POST`, `GET`) and the HTTP API's.
 *
 * @example
 * ```ts
 * CORS_ALLOWED_METHODS.includes("POST"); // true
 * ```
 */
export const CORS_ALLOWED_METHODS: readonly string[] = unique([...connectCors.allowedMethods, "HEAD", "PUT", "DELETE"]);

/**
 * Request headers a cross-origin page may send: Connect's and gRPC-Web's (content type,
 * protocol version, timeouts, `x-grpc-web`, `x-user-agent`), `Authorization`, `Idempotency-Key`
 * and `If-Match`.
 *
 * @example
 * ```ts
 * CORS_ALLOWED_HEADERS.includes("Connect-Protocol-Version"); // true
 * ```
 */
export const CORS_ALLOWED_HEADERS: readonly string[] = unique([...connectCors.allowedHeaders, "Authorization", "Idempotency-Key", "If-Match"]);

/**
 * Response headers a cross-origin page may read: gRPC-Web's status headers (`Grpc-Status`,
 * `Grpc-Message`, `Grpc-Status-Details-Bin`), Connect's encodings, and Sluice's error code (also
 * as a Connect unary trailer), `Retry-After`, `ETag` and `WWW-Authenticate`.
 *
 * @example
 * ```ts
 * CORS_EXPOSED_HEADERS.includes("Grpc-Status"); // true
 * ```
 */
export const CORS_EXPOSED_HEADERS: readonly string[] = unique([
  ...connectCors.exposedHeaders,
  SLUICE_ERROR_CODE_HEADER,
  `Trailer-${SLUICE_ERROR_CODE_HEADER}`,
  "Retry-After",
  "ETag",
  "WWW-Authenticate",
]);

/**
 * How long (seconds) a browser may cache a preflight answer (`Access-Control-Max-Age`).
 *
 * @example
 * ```ts
 * CORS_MAX_AGE_SECONDS; // 600
 * ```
 */
export const CORS_MAX_AGE_SECONDS = 600;

/**
 * The CORS middleware for `origins` (exact `scheme://host[:port]` strings, or `"*"`), or
 * undefined when `origins` is empty (CORS off: install nothing). Install it before auth.
 *
 * @example
 * ```ts
 * const handler = corsMiddleware(config.corsOrigins);
 * if (handler !== undefined) app.use("*", handler);
 * // OPTIONS from https://app.example.com → 204, Access-Control-Allow-Origin: https://app.example.com
 * // POST from https://evil.example → 403 {"error":{"code":"unauthorized",…}}, nothing enqueued
 * ```
 */
export function corsMiddleware(origins: readonly string[]): MiddlewareHandler | undefined {
  if (origins.length === 0) return undefined;
  const anyOrigin = origins.includes("*");
  const allowed = new Set(origins);
  const headers = cors({
    origin: anyOrigin ? "*" : (origin) => (allowed.has(origin) ? origin : null),
    allowMethods: [...CORS_ALLOWED_METHODS],
    allowHeaders: [...CORS_ALLOWED_HEADERS],
    exposeHeaders: [...CORS_EXPOSED_HEADERS],
    maxAge: CORS_MAX_AGE_SECONDS,
  });
  return async (c, next) => {
    const origin = c.req.header("origin");
    if (origin !== undefined && !anyOrigin && !allowed.has(origin)) {
      // Every answer to a refused origin varies by Origin too, so no cache serves it to an allowed one.
      c.header("Vary", "Origin", { append: true });
      const message = `origin ${JSON.stringify(origin.slice(0, 200))} is not allowed (corsOrigins / SLUICE_CORS_ORIGINS); nothing was done`;
      return errorResponse(c, sluiceError("unauthorized", message), 403);
    }
    return headers(c, next);
  };
}

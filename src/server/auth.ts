/**
 * Bearer-token authentication. Tokens are compared in constant time over their UTF-8 bytes, and
 * every configured token is compared (no early exit), so response timing does not reveal how
 * much of a guess was right or which token matched.
 *
 * Where the token comes from: the `Authorization: Bearer <token>` header on every route; on the
 * WebSocket route also the `?token=<token>` query parameter, because browsers cannot set headers
 * on a WebSocket upgrade. (Query strings end up in access logs: prefer the header where you can.)
 *
 * @example
 * ```ts
 * app.use("/v1/*", bearerAuth(["s3cret"]));
 * constantTimeEqual("s3cret", "s3cret"); // true
 * ```
 */
import type { Context, MiddlewareHandler } from "hono";
import { sluiceError } from "../result/errors.ts";
import { errorResponse } from "./http-errors.ts";

const encoder = new TextEncoder();

/**
 * True when `a` and `b` have the same UTF-8 bytes; the time taken depends only on the longer length.
 *
 * @example
 * ```ts
 * constantTimeEqual("abc", "abd"); // false
 * ```
 */
export function constantTimeEqual(a: string, b: string): boolean {
  const x = encoder.encode(a);
  const y = encoder.encode(b);
  const n = Math.max(x.length, y.length);
  let diff = x.length ^ y.length;
  for (let i = 0; i < n; i++) diff |= (x[i] ?? 0) ^ (y[i] ?? 0);
  return diff === 0;
}

/**
 * True when `presented` equals one of `tokens`; compares against all of them every time.
 *
 * @example
 * ```ts
 * tokenAccepted("b", ["a", "b"]); // true
 * ```
 */
export function tokenAccepted(presented: string, tokens: readonly string[]): boolean {
  let matched = 0;
  for (const token of tokens) matched |= constantTimeEqual(presented, token) ? 1 : 0;
  return matched === 1;
}

/**
 * The token a request presents: `Authorization: Bearer …`, or `?token=` when `allowQuery`.
 *
 * @example
 * ```ts
 * presentedToken(c, { allowQuery: true }); // "s3cret" or undefined
 * ```
 */
export function presentedToken(c: Context, options: { allowQuery?: boolean } = {}): string | undefined {
  const header = c.req.header("authorization");
  if (header !== undefined) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    return match?.[1];
  }
  return options.allowQuery ? c.req.query("token") : undefined;
}

/**
 * Middleware: 401 JSON error unless the request carries an accepted token. No tokens configured
 * → every request passes (auth is off). `tokens` may be a function, asked per request, so a
 * token list changed live (the control document's `auth.tokens`) applies at once.
 *
 * @example
 * ```ts
 * app.get("/v1/queues/:queue/ws", bearerAuth(tokens, { allowQuery: true }), wsHandler);
 * app.use("/v1/*", bearerAuth(() => broker.config.authTokens));
 * ```
 */
export function bearerAuth(tokens: readonly string[] | (() => readonly string[]), options: { allowQuery?: boolean } = {}): MiddlewareHandler {
  return async (c, next) => {
    const accepted = typeof tokens === "function" ? tokens() : tokens;
    if (accepted.length === 0) return next();
    const token = presentedToken(c, options);
    if (token === undefined || !tokenAccepted(token, accepted)) {
      c.header("WWW-Authenticate", 'Bearer realm="sluice"');
      return errorResponse(c, sluiceError("unauthorized", token === undefined ? "missing bearer token" : "invalid bearer token"));
    }
    return next();
  };
}

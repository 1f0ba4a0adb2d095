/**
 * Plain gRPC on the fetch-handler port is refused before anything is read or enqueued.
 *
 * The gRPC protocol ends every call with HTTP/2 trailers (`grpc-status`), which the
 * `Bun.serve` / `Deno.serve` fetch handlers cannot send: served there, a call would run — and
 * enqueue its message — and then fail at the client for want of a trailer, so a client that
 * retries duplicates it. So any request with content type `application/grpc` or
 * `application/grpc+<codec>` (not gRPC-Web) gets a gRPC "trailers-only" answer instead: HTTP 200,
 * `content-type: application/grpc`, `grpc-status: 12` (UNIMPLEMENTED) and a `grpc-message`
 * pointing to the gRPC port (`grpcPort` / `SLUICE_GRPC_PORT`, served by
 * src/runtime/grpc-listener.ts over node:http2). The status sits in the headers, so it reaches the
 * client with no trailer at all. Connect and gRPC-Web keep working on this port.
 *
 * @example
 * ```ts
 * app.use("*", refusePlainGrpc(config.grpcPort));
 * // buf curl --protocol grpc --http2-prior-knowledge http://host:8787/sluice.v1.Relay/Send
 * // → unimplemented: plain gRPC is not served on this port …; nothing was enqueued
 * ```
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";

/**
 * The gRPC status code sent for a refused plain-gRPC call (UNIMPLEMENTED).
 *
 * @example
 * ```ts
 * GRPC_STATUS_UNIMPLEMENTED; // 12
 * ```
 */
export const GRPC_STATUS_UNIMPLEMENTED = 12;

/**
 * True for the content types of the gRPC protocol proper (`application/grpc`,
 * `application/grpc+proto`, `application/grpc+json`, …), false for gRPC-Web and everything else.
 *
 * @example
 * ```ts
 * isPlainGrpc("application/grpc+proto"); // true
 * isPlainGrpc("application/grpc-web+proto"); // false
 * ```
 */
export function isPlainGrpc(contentType: string | null | undefined): boolean {
  const type = (contentType ?? "").split(";")[0]!.trim().toLowerCase();
  return type === "application/grpc" || type.startsWith("application/grpc+");
}

/**
 * What a refused plain-gRPC call is told: where gRPC is served (or how to turn it on).
 *
 * @example
 * ```ts
 * plainGrpcRefusal(8788); // "plain gRPC is not served on this port …; use the gRPC port 8788 (SLUICE_GRPC_PORT) …"
 * ```
 */
export function plainGrpcRefusal(grpcPort: number | undefined): string {
  const where = grpcPort === undefined
    ? "set SLUICE_GRPC_PORT (config grpcPort) to serve it on its own HTTP/2 port"
    : `use the gRPC port ${grpcPort === 0 ? "(chosen at start-up, see the log)" : grpcPort} (SLUICE_GRPC_PORT)`;
  return `plain gRPC is not served on this port (its fetch handler cannot send HTTP/2 trailers); ${where}, or Connect / gRPC-Web on this port; nothing was enqueued`;
}

/**
 * gRPC's percent-encoding of `grpc-message`: bytes outside printable ASCII, and `%`, as `%XX`.
 *
 * @example
 * ```ts
 * grpcMessageEncode("100% done"); // "100%25 done"
 * ```
 */
export function grpcMessageEncode(message: string): string {
  let out = "";
  for (const byte of new TextEncoder().encode(message)) {
    out += byte >= 0x20 && byte <= 0x7e && byte !== 0x25 ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

/**
 * Middleware: answers every plain-gRPC request with a trailers-only UNIMPLEMENTED before any
 * route (or auth) runs; the request body is never read.
 *
 * @example
 * ```ts
 * app.use("*", refusePlainGrpc(8788));
 * ```
 */
export function refusePlainGrpc(grpcPort: number | undefined): MiddlewareHandler {
  const message = grpcMessageEncode(plainGrpcRefusal(grpcPort));
  return async (c, next) => {
    if (!isPlainGrpc(c.req.header("content-type"))) return next();
    return new Response(null, {
      status: 200,
      headers: { "content-type": "application/grpc", "grpc-status": String(GRPC_STATUS_UNIMPLEMENTED), "grpc-message": message },
    });
  };
}

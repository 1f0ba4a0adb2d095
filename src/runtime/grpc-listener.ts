/**
 * The gRPC listener: `sluice.v1.Relay` over the gRPC protocol proper (HTTP/2 with trailers), which
 * the `Bun.serve` / `Deno.serve` fetch handlers cannot serve. A `node:http2` cleartext (h2c)
 * server with `@connectrpc/connect-node`'s `connectNodeAdapter` runs the same service
 * implementation as the app port (`relayRouter` from src/server/relay-service.ts) on `grpcPort`
 * (`SLUICE_GRPC_PORT`); Connect and gRPC-Web over HTTP/2 work there too. Both runtime entries
 * start it before the main port, so once the main port logs "listening on", gRPC is up.
 *
 * Auth is the app's: with `authTokens`, a call without an accepted `Authorization: Bearer …` ends
 * with `unauthenticated` before its request body is read. During shutdown the Relay answers
 * `unavailable`, like on the main port; `close()` sends GOAWAY and drops what is left after 1 s.
 *
 * @example
 * ```ts
 * const grpc = await startGrpcListener(broker, { port: 8788, host: "0.0.0.0" });
 * if (grpc.ok) console.log(`gRPC on port ${grpc.value.port}`); // buf curl --protocol grpc --http2-prior-knowledge …
 * await grpc.value.close();
 * ```
 *
 * @module
 */
import * as http2 from "node:http2";
import { Code, ConnectError, type HandlerContext } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { err, ok, type Result } from "../result/result.ts";
import { tokenAccepted } from "../server/auth.ts";
import type { Broker } from "../server/broker.ts";
import { relayRouter } from "../server/relay-service.ts";
import type { Booted } from "./lifecycle.ts";

/** How long `close()` lets open HTTP/2 sessions finish after GOAWAY before destroying them. */
const CLOSE_GRACE_MS = 1000;

/**
 * A running gRPC listener.
 *
 * @example
 * ```ts
 * const { port, close } = listener;
 * ```
 */
export interface GrpcListener {
  /** The port it listens on (the OS's choice when asked for 0). */
  readonly port: number;
  /** Stops accepting, sends GOAWAY to open sessions, destroys them after 1 s; resolves when closed. */
  close(): Promise<void>;
}

/**
 * Where to listen, and the bearer tokens calls must present (none: auth off).
 *
 * @example
 * ```ts
 * const options: GrpcListenerOptions = { port: 8788, host: "127.0.0.1", authTokens: ["s3cret"] };
 * ```
 */
export interface GrpcListenerOptions {
  readonly port: number;
  readonly host: string;
  /** Default: the broker's `config.authTokens`. */
  readonly authTokens?: readonly string[];
}

/**
 * Connect's request gate for bearer auth: throws `unauthenticated` unless the call's
 * `Authorization: Bearer <token>` is one of `tokens`; runs before the request body is read.
 *
 * @example
 * ```ts
 * connectNodeAdapter({ routes, requestGate: bearerGate(["s3cret"]) });
 * ```
 */
export function bearerGate(tokens: readonly string[]): (context: HandlerContext) => void {
  return (context) => {
    if (tokens.length === 0) return;
    const token = /^Bearer\s+(\S+)\s*$/i.exec(context.requestHeader.get("authorization") ?? "")?.[1];
    if (token === undefined || !tokenAccepted(token, tokens)) {
      throw new ConnectError(token === undefined ? "missing bearer token" : "invalid bearer token", Code.Unauthenticated);
    }
  };
}

/**
 * Starts the h2c listener serving Relay for `broker`. An `unavailable` error (naming the address
 * and the cause, e.g. EADDRINUSE) when it cannot listen.
 *
 * @example
 * ```ts
 * const r = await startGrpcListener(broker, { port: 0, host: "127.0.0.1" });
 * ```
 */
export async function startGrpcListener(broker: Broker, options: GrpcListenerOptions): Promise<Result<GrpcListener>> {
  const handler = connectNodeAdapter({
    routes: (router) => relayRouter(broker, router),
    requestGate: bearerGate(options.authTokens ?? broker.config.authTokens),
  });
  const server = http2.createServer(handler);
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on("session", (session) => {
    sessions.add(session);
    session.on("close", () => sessions.delete(session));
  });
  const listened = await new Promise<Error | undefined>((resolve) => {
    server.once("error", resolve);
    server.listen(options.port, options.host, () => {
      server.off("error", resolve);
      resolve(undefined);
    });
  });
  if (listened !== undefined) {
    return err("unavailable", `sluice: cannot serve gRPC on ${options.host}:${options.port} (grpcPort / SLUICE_GRPC_PORT): ${listened.message}`);
  }
  const address = server.address();
  const port = typeof address === "object" && address !== null ? address.port : options.port;
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        for (const session of sessions) session.destroy();
        resolve();
      }, CLOSE_GRACE_MS);
      server.close(() => {
        clearTimeout(timer);
        resolve();
      });
      for (const session of sessions) session.close();
    }));
  return ok({ port, close });
}

/**
 * What both runtime entries call: starts the listener when `grpcPort` is configured (and logs
 * where), or resolves to undefined when it is not.
 *
 * @example
 * ```ts
 * const grpc = await serveGrpc(booted, log);
 * if (!grpc.ok) { console.error(grpc.error.message); exit(1); }
 * // at shutdown: await grpc.value?.close();
 * ```
 */
export async function serveGrpc(booted: Booted, log: (line: string) => void): Promise<Result<GrpcListener | undefined>> {
  const { config, broker } = booted;
  if (config.grpcPort === undefined) return ok(undefined);
  const started = await startGrpcListener(broker, { port: config.grpcPort, host: config.host });
  if (!started.ok) return started;
  // Not "listening on http://…": that line announces the main port (test/integration/server-process.ts).
  log(`sluice: gRPC port ${started.value.port} on ${config.host} (HTTP/2 cleartext; sluice.v1.Relay over gRPC, gRPC-Web and Connect)`);
  return started;
}

/**
 * `createApp`: the Sluice server as a Hono app, with its dependencies and version.
 *
 * @module
 */
import { Hono, type MiddlewareHandler } from "hono";
import type { UpgradeWebSocket, WSContext } from "hono/ws";
import { sluiceError, toSluiceError } from "../result/errors.ts";
import pkg from "../../package.json" with { type: "json" };
import { bearerAuth } from "./auth.ts";
import { Broker } from "./broker.ts";
import type { SluiceConfig } from "./config.ts";
import { refusePlainGrpc } from "./grpc-refusal.ts";
import { errorResponse } from "./http-errors.ts";
import { httpMetrics } from "./http-metrics.ts";
import { registerHealthRoutes } from "./routes/health.ts";
import { registerQueueRoutes } from "./routes/queues.ts";
import { RELAY_PATH_PREFIX, registerLazyRelayRoutes } from "./relay-lazy.ts";
import { registerStreamRoute } from "./routes/stream.ts";
import { registerClusterLeadersRoute } from "./routes/cluster-leaders.ts";
import { registerGossipRoutes } from "./routes/mesh-gossip.ts";
import { registerControlRoutes } from "./routes/control-config.ts";
import { registerOperatorRoutes } from "./routes/operator.ts";
import { registerWsRoute, type WebSocketPeer } from "./routes/ws.ts";

/**
 * What `createApp` is wired with.
 *
 * @example
 * ```ts
 * createApp(config, { broker, upgradeWebSocket, version: "1.2.3" });
 * ```
 */
export interface AppDeps {
  /** The state behind the routes; created from `config` when absent (keep it to shut down). */
  readonly broker?: Broker;
  /** hono's `upgradeWebSocket` for the runtime (`hono/bun`, `hono/deno`); without it /ws answers 501. */
  readonly upgradeWebSocket?: UpgradeWebSocket<any>;
  /** The runtime's WebSocket peer (src/runtime/bun-peer.ts on Bun); default: hono's `WSContext`. */
  readonly webSocketPeer?: (ws: WSContext) => WebSocketPeer;
  /** Reported by /healthz. Default: package.json's version. */
  readonly version?: string;
}

// Exactly the WebSocket route: a queue that happens to be named "ws" must not skip auth.
const WS_PATH = /^\/v1\/queues\/[^/]+\/ws$/;

/**
 * The package version, as /healthz reports it.
 *
 * @example
 * ```ts
 * createApp(config, { version: VERSION });
 * ```
 */
export const VERSION: string = pkg.version;

/**
 * Builds the Sluice HTTP/WebSocket server as a runtime-neutral Hono app.
 *
 * Routes: `POST /v1/queues/:queue/messages`, `POST /v1/queues/:queue/stream` (HTTP duplex),
 * `GET /v1/queues/:queue/ws` (WebSocket), `GET /v1/queues/:queue`, `GET /v1/queues/:queue/poison`,
 * `POST /v1/queues/:queue/poison/replay`, `GET /v1/cluster/leaders`, `GET /v1/cluster/members`, `POST /v1/mesh/gossip`, `GET`/`PUT /v1/control/config`, `GET /metrics`, `GET /healthz`, `GET /readyz`, and the
 * `sluice.v1.Relay` RPC service at `/sluice.v1.Relay/*` (Connect and gRPC-Web; see relay-service.ts).
 * With `authTokens` configured, everything but `/healthz` and `/readyz` needs
 * `Authorization: Bearer <token>` (the WebSocket route also accepts `?token=`). Errors are JSON
 * `{ "error": { "code", "message" } }`. Plain gRPC (`application/grpc`) is refused with a
 * trailers-only UNIMPLEMENTED pointing to `grpcPort` (grpc-refusal.ts); with `corsOrigins`, pages
 * on those origins may call every route and other origins get 403 (cors.ts).
 *
 * @example
 * ```ts
 * import { upgradeWebSocket, websocket } from "hono/bun";
 * const broker = new Broker({ config });
 * const app = createApp(config, { broker, upgradeWebSocket });
 * Bun.serve({ port: config.port, fetch: app.fetch, websocket });
 * ```
 */
export function createApp(config: SluiceConfig, deps: AppDeps = {}): Hono {
  const broker = deps.broker ?? new Broker({ config });
  const app = new Hono();
  // Asked per request: once the control role runs, the tokens of the version it applied count.
  const tokens = () => (broker.control === undefined ? config.authTokens : broker.config.authTokens);
  // The WS route's own auth (it also accepts ?token=) must run instead of the header-only one.
  const headerAuth = bearerAuth(tokens);
  // First, so refusals (401, 404, 413 …) are counted too.
  app.use("*", httpMetrics(broker.metrics));
  // Plain gRPC cannot end here (no trailers): refused before anything is read or enqueued.
  app.use("*", refusePlainGrpc(config.grpcPort));
  // Before auth: preflights carry no Authorization, and a refused origin never reaches a route.
  // cors.ts (hono/cors, Connect's header lists) loads with the first request, and only with CORS on.
  if (config.corsOrigins.length > 0) {
    let cors: Promise<MiddlewareHandler | undefined> | undefined;
    app.use("*", async (c, next) => {
      cors ??= import("./cors.ts").then((m) => m.corsMiddleware(config.corsOrigins));
      const handler = await cors;
      return handler === undefined ? next() : handler(c, next);
    });
  }
  app.use("/v1/*", async (c, next) => (WS_PATH.test(c.req.path) ? next() : headerAuth(c, next)));
  app.use("/v1/queues/:queue/ws", bearerAuth(tokens, { allowQuery: true }));
  app.use("/metrics", bearerAuth(tokens));
  app.use(`${RELAY_PATH_PREFIX}*`, bearerAuth(tokens));
  registerHealthRoutes(app, broker, deps.version ?? VERSION);
  registerQueueRoutes(app, broker);
  registerStreamRoute(app, broker);
  registerWsRoute(app, broker, deps.upgradeWebSocket, deps.webSocketPeer);
  registerLazyRelayRoutes(app, broker); // relay-service.ts (Connect, protobuf) loads on the first Relay request
  registerClusterLeadersRoute(app, broker);
  registerGossipRoutes(app, broker, () => ({
    id: broker.config.mesh?.nodeId ?? "local",
    queues: Object.fromEntries([...broker.queues].map(([name, queue]) => [name, queue.stats().pending])),
  })); // POST /v1/mesh/gossip, GET /v1/cluster/members
  registerOperatorRoutes(app, broker); // GET /v1/queues, …/poison/purge, /v1/stats/stream, /ui (the CLI's and the dashboard's)
  registerControlRoutes(app, broker); // GET / PUT /v1/control/config
  app.notFound((c) => errorResponse(c, sluiceError("not_found", `no route for ${c.req.method} ${c.req.path}`)));
  app.onError((thrown, c) => errorResponse(c, toSluiceError(thrown)));
  return app;
}

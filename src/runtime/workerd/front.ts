/**
 * The Worker in front of the `SluiceQueue` Durable Objects: authenticates with the same bearer
 * rules as the Bun and Deno servers (src/server/auth.ts: `Authorization: Bearer …` everywhere,
 * also `?token=` on the WebSocket route; tokens from the `SLUICE_AUTH_TOKENS` binding or
 * `authTokens` in `SLUICE_CONFIG`), answers health itself, and sends each
 * `/v1/queues/<name>[/…]` request to the object named `<name>` — only for configured queues;
 * others get the server's 404. `/metrics` gathers every configured queue's Prometheus text;
 * `/sluice.v1.Relay/*` (Connect, gRPC-Web) enqueues through the objects (relay-targets.ts).
 *
 * @example
 * ```ts
 * const app = createFrontApp(env, config, { version: "0.1.0" });
 * return app.fetch(request);
 * ```
 */
import { Hono } from "hono";
import { sluiceError, toSluiceError } from "../../result/errors.ts";
import { bearerAuth } from "../../server/auth.ts";
import type { SluiceConfig } from "../../server/config.ts";
import { errorResponse } from "../../server/http-errors.ts";
import { RELAY_PATH_PREFIX, registerRelayRoutes } from "../../server/relay-service.ts";
import { mergePrometheus } from "./prometheus-merge.ts";
import { relayHost } from "./relay-targets.ts";
import { forwardToQueue } from "./forward.ts";
import type { WorkerEnv } from "./types.ts";

// Exactly the WebSocket route: a queue that happens to be named "ws" must not skip header auth.
const WS_PATH = /^\/v1\/queues\/[^/]+\/ws$/;

/**
 * The Worker's Hono app over `env` (see the module doc).
 *
 * @example
 * ```ts
 * createFrontApp(env, config, { version: VERSION }).fetch(request);
 * ```
 */
export function createFrontApp(env: WorkerEnv, config: SluiceConfig, options: { readonly version: string }): Hono {
  const app = new Hono();
  const tokens = config.authTokens;
  const headerAuth = bearerAuth(tokens);
  app.use("/v1/*", async (c, next) => (WS_PATH.test(c.req.path) ? next() : headerAuth(c, next)));
  app.use("/v1/queues/:queue/ws", bearerAuth(tokens, { allowQuery: true }));
  app.use("/metrics", bearerAuth(tokens));
  app.use("/_sluice/*", bearerAuth(tokens));
  app.use(`${RELAY_PATH_PREFIX}*`, bearerAuth(tokens));
  app.get("/healthz", (c) => c.json({ status: "ok", version: options.version }));
  app.get("/readyz", (c) => c.json({ status: "ready" }));
  const toQueue = (c: { req: { param(key: string): string | undefined; raw: Request } }) => {
    const name = c.req.param("queue") ?? "";
    if (config.queues[name] === undefined) {
      const known = Object.keys(config.queues).join(", ");
      return Response.json({ error: { code: "not_found", message: `no queue named ${JSON.stringify(name)} (configured: ${known})` } }, { status: 404 });
    }
    return forwardToQueue(env, name, c.req.raw);
  };
  app.all("/v1/queues/:queue", toQueue);
  app.all("/v1/queues/:queue/*", toQueue);
  app.get("/metrics", async (c) => {
    const texts = await Promise.all(
      Object.keys(config.queues).map(async (name) => {
        const url = new URL(`/v1/queues/${encodeURIComponent(name)}/metrics`, c.req.url);
        const response = await forwardToQueue(env, name, new Request(url.toString()));
        return response.ok ? response.text() : "";
      }),
    );
    return c.body(mergePrometheus(texts), 200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" });
  });
  registerRelayRoutes(app, relayHost(env, config));
  app.notFound((c) => errorResponse(c, sluiceError("not_found", `no route for ${c.req.method} ${c.req.path}`)));
  app.onError((thrown, c) => errorResponse(c, toSluiceError(thrown)));
  return app;
}

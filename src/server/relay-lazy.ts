/**
 * The `sluice.v1.Relay` routes as the app mounts them: relay-service.ts — and with it Connect,
 * protobuf-es and the generated schemas — is loaded on the first Relay request, not at start
 * (issue 21: a server whose clients only use the frame protocol never loads them; about 20 MiB
 * of resident memory on Bun).
 *
 * @example
 * ```ts
 * app.use(`${RELAY_PATH_PREFIX}*`, bearerAuth(tokens));
 * registerLazyRelayRoutes(app, broker);
 * ```
 */
import type { Context, Hono } from "hono";
import type { RelayHost } from "./relay-service.ts";

/**
 * Path prefix of the Relay service, `/<package>.<Service>/` (the same as relay-service.ts's,
 * which takes it from the generated descriptor; test/unit/startup-imports.test.ts checks).
 *
 * @example
 * ```ts
 * app.use(`${RELAY_PATH_PREFIX}*`, bearerAuth(tokens));
 * ```
 */
export const RELAY_PATH_PREFIX = "/sluice.v1.Relay/";

/**
 * Mounts the Relay at `/sluice.v1.Relay/*`, loading its implementation on the first request.
 *
 * @example
 * ```ts
 * registerLazyRelayRoutes(app, broker);
 * ```
 */
export function registerLazyRelayRoutes(app: Hono, broker: RelayHost): void {
  let handler: Promise<(c: Context) => Promise<Response>> | undefined;
  app.all(`${RELAY_PATH_PREFIX}*`, async (c) => {
    handler ??= import("./relay-service.ts").then((m) => m.relayFetchHandler(broker));
    return (await handler)(c);
  });
}

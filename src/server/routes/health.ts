import type { Hono } from "hono";
import type { Broker } from "../broker.ts";

/**
 * Registers `GET /healthz` (the process is up: 200 with the package version), `GET /readyz` (200 while
 * publishes are accepted; 503 `{"status":"draining"}` once shutdown began, and 503
 * `{"status":"unavailable","down":[…]}` while a dependency such as the NATS connection of a
 * JetStream queue is down, so load balancers stop routing here) and
 * `GET /metrics` (Prometheus text from the one shared registry).
 *
 * @example
 * ```ts
 * registerHealthRoutes(app, broker, "0.1.0");
 * // curl localhost:8787/healthz → {"status":"ok","version":"0.1.0"}
 * ```
 */
export function registerHealthRoutes(app: Hono, broker: Broker, version: string): void {
  app.get("/healthz", (c) => c.json({ status: "ok", version }));
  app.get("/readyz", (c) => {
    if (!broker.accepting) return c.json({ status: broker.state }, 503);
    const down = broker.down;
    return down.length === 0 ? c.json({ status: "ready" }) : c.json({ status: "unavailable", down }, 503);
  });
  app.get("/metrics", (c) => c.body(broker.metrics.render(), 200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" }));
}

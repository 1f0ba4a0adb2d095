import type { MiddlewareHandler } from "hono";
import type { MetricsRegistry } from "../queue/metrics/registry.ts";

/**
 * Counts every HTTP request by route pattern, method and status
 * (`sluice_http_requests_total{route,method,status}`), refusals and errors included. The route is
 * the matched pattern (`/v1/queues/:queue/messages`), never the raw path, so the series stay few.
 *
 * @example
 * ```ts
 * app.use("*", httpMetrics(broker.metrics));
 * ```
 */
export function httpMetrics(registry: MetricsRegistry): MiddlewareHandler {
  const requests = registry.counter("sluice_http_requests_total", "HTTP requests by route pattern, method and status");
  return async (c, next) => {
    try {
      await next();
    } finally {
      const route = c.req.routePath === "*" || c.req.routePath === "/*" ? "unmatched" : c.req.routePath;
      requests.labels({ route, method: c.req.method, status: String(c.res.status) }).value++;
    }
  };
}

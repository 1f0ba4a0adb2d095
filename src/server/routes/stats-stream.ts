/**
 * `GET /v1/stats/stream`: every queue's stats as server-sent events, for the `/ui` dashboard and
 * `sluice stats --watch`.
 *
 * @module
 */
import type { Hono } from "hono";
import { sluiceError } from "../../result/errors.ts";
import { ticker } from "../../result/ticker.ts";
import type { Broker } from "../broker.ts";
import { errorResponse } from "../http-errors.ts";

/** Default, smallest and largest `intervalMs` of the stats feed. */
const INTERVAL = { default: 1000, min: 100, max: 60_000 } as const;

/**
 * Every queue's stats at one instant, as the feed and `GET /v1/queues` send them:
 * `{ at, queues: [{ queue, pending, active, poisoned, enqueued, acked, … }] }`.
 *
 * @example
 * ```ts
 * statsSnapshot(broker); // { at: 1795000000000, queues: [{ queue: "default", pending: 0, … }] }
 * ```
 */
export function statsSnapshot(broker: Pick<Broker, "queues" | "clock" | "isRemoved">): { at: number; queues: Record<string, unknown>[] } {
  // A queue removed from the control document is listed read-only until it is drained and purged.
  const queues = [...broker.queues.values()].map((queue) => ({ queue: queue.name, ...queue.stats(), ...(broker.isRemoved(queue.name) ? { removed: true } : {}) }));
  return { at: broker.clock.now(), queues };
}

/**
 * Registers `GET /v1/stats/stream[?intervalMs=1000]`: `text/event-stream` with one
 * `event: stats` whose `data` is `statsSnapshot` at once and then every `intervalMs` (100 to
 * 60,000; default 1,000) on the broker's clock, until the client goes away or the server starts
 * shutting down (the stream then ends). Behind the app's bearer auth like every `/v1/` route: a
 * browser reads it with a streaming `fetch` and an `Authorization` header (the SDK's
 * `AdminClient.statsFeed`), so the token never goes into a URL.
 *
 * @example
 * ```ts
 * registerStatsStreamRoute(app, broker);
 * // curl -N -H "Authorization: Bearer $TOKEN" localhost:8787/v1/stats/stream?intervalMs=500
 * // event: stats
 * // data: {"at":1795000000000,"queues":[{"queue":"default","pending":3,…}]}
 * ```
 */
export function registerStatsStreamRoute(app: Hono, broker: Broker): void {
  app.get("/v1/stats/stream", (c) => {
    const asked = c.req.query("intervalMs");
    const intervalMs = asked === undefined ? INTERVAL.default : Number(asked);
    if (!Number.isSafeInteger(intervalMs) || intervalMs < INTERVAL.min || intervalMs > INTERVAL.max) {
      return errorResponse(c, sluiceError("validation", `intervalMs must be an integer from ${INTERVAL.min} to ${INTERVAL.max} (got ${JSON.stringify(asked)})`));
    }
    const stop = new AbortController();
    const gone = c.req.raw.signal;
    const onGone = () => stop.abort();
    gone.addEventListener("abort", onGone, { once: true });
    const ticks = ticker(intervalMs, { signal: stop.signal, clock: broker.clock });
    const encoder = new TextEncoder();
    const event = () => encoder.encode(`event: stats\ndata: ${JSON.stringify(statsSnapshot(broker))}\n\n`);
    let first = true;
    const end = () => {
      stop.abort();
      gone.removeEventListener("abort", onGone);
    };
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (first) {
          first = false;
          controller.enqueue(encoder.encode(`retry: ${Math.max(1000, intervalMs)}\n\n`));
          controller.enqueue(event());
          return;
        }
        const tick = await ticks.next();
        if (tick.done || broker.state !== "running") {
          end();
          controller.close();
          return;
        }
        controller.enqueue(event());
      },
      cancel: end,
    });
    return new Response(body, {
      headers: {
        "content-type": "text/event-stream; charset=utf-8",
        "cache-control": "no-store",
        "x-accel-buffering": "no",
      },
    });
  });
}

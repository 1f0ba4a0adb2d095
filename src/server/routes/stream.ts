import type { Hono } from "hono";
import { sluiceError } from "../../result/errors.ts";
import { duplexPublish } from "../../transport/duplex-publish.ts";
import type { Broker } from "../broker.ts";
import { errorResponse } from "../http-errors.ts";
import { lookupQueue } from "./queue-lookup.ts";

/**
 * Media type of frame streams (request and response bodies of the stream route).
 *
 * @example
 * ```ts
 * fetch(url, { method: "POST", headers: { "content-type": FRAMES_CONTENT_TYPE }, body, duplex: "half" });
 * ```
 */
export const FRAMES_CONTENT_TYPE = "application/vnd.sluice.frames";

/**
 * Registers `POST /v1/queues/:queue/stream`, HTTP duplex publishing (see `duplexPublish`). The request
 * body is PUBLISH frames back to back; the response body streams RECEIPT frames as each message
 * is enqueued. Content type of both: `application/vnd.sluice.frames`.
 *
 * @example
 * ```ts
 * registerStreamRoute(app, broker);
 * // fetch(url, { method: "POST", body: frameStream, duplex: "half" })
 * ```
 */
export function registerStreamRoute(app: Hono, broker: Broker): void {
  app.post("/v1/queues/:queue/stream", (c) => {
    const queue = lookupQueue(c, broker);
    if (queue instanceof Response) return queue;
    if (!broker.accepting) return errorResponse(c, sluiceError("unavailable", "server is shutting down"));
    const body = c.req.raw.body;
    if (body === null) return errorResponse(c, sluiceError("validation", "the stream route needs a request body of PUBLISH frames"));
    const stream = duplexPublish({ body, queue, codec: broker.codec, accepting: () => broker.accepting, signal: c.req.raw.signal });
    return new Response(stream, { status: 200, headers: { "content-type": FRAMES_CONTENT_TYPE, "cache-control": "no-store" } });
  });
}

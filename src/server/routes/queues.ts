import type { Hono } from "hono";
import { sluiceError } from "../../result/errors.ts";
import type { Result } from "../../result/result.ts";
import type { Broker } from "../broker.ts";
import { base64FromBytes } from "../base64.ts";
import { errorResponse } from "../http-errors.ts";
import { readBodyLimited } from "./body.ts";
import { lookupQueue } from "./queue-lookup.ts";

const MAX_KEY_LENGTH = 256;

/**
 * Registers the queue HTTP routes: `GET /v1/queues/:queue` (stats), `GET /v1/queues/:queue/poison`,
 * `POST /v1/queues/:queue/poison/replay` (optional JSON `{ "ids": [sequenceId, ...] }`; no body
 * = replay all) and `POST /v1/queues/:queue/messages` (one message, body bytes; an
 * `Idempotency-Key` header dedups within `idempotencyWindowMs`; 202 `{ sequenceId, queue, duplicate }`).
 *
 * @example
 * ```ts
 * registerQueueRoutes(app, broker);
 * // curl -X POST --data-binary @msg.bin localhost:8787/v1/queues/default/messages
 * ```
 */
export function registerQueueRoutes(app: Hono, broker: Broker): void {
  app.get("/v1/queues/:queue", (c) => {
    const queue = lookupQueue(c, broker);
    if (queue instanceof Response) return queue;
    return c.json({ queue: queue.name, ...queue.stats() });
  });

  app.get("/v1/queues/:queue/poison", (c) => {
    const queue = lookupQueue(c, broker);
    if (queue instanceof Response) return queue;
    const entries = queue.poison.list().map((e) => ({
      sequenceId: e.sequenceId,
      payload: base64FromBytes(e.payload),
      lastError: { code: e.lastError.code, message: e.lastError.message },
      attempts: e.attempts,
      exhausted: e.exhausted,
      history: e.history,
      enqueuedAt: e.enqueuedAt,
      poisonedAt: e.poisonedAt,
    }));
    return c.json({ queue: queue.poison.name, count: entries.length, entries });
  });

  app.post("/v1/queues/:queue/poison/replay", async (c) => {
    const queue = lookupQueue(c, broker);
    if (queue instanceof Response) return queue;
    if (!broker.accepting) return errorResponse(c, sluiceError("unavailable", "server is shutting down"));
    const text = await c.req.text();
    let ids: number[] | undefined;
    if (text.trim() !== "") {
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        return errorResponse(c, sluiceError("validation", 'replay body must be JSON like {"ids":[1,2]} (or empty to replay all)'));
      }
      const raw = (body as { ids?: unknown } | null)?.ids;
      if (raw !== undefined && (!Array.isArray(raw) || !raw.every((id) => Number.isSafeInteger(id) && id > 0))) {
        return errorResponse(c, sluiceError("validation", "ids must be an array of positive integer sequence ids"));
      }
      ids = raw as number[] | undefined;
    }
    const replayed = queue.poison.replay(ids);
    return c.json({ queue: queue.name, replayed });
  });

  app.post("/v1/queues/:queue/messages", async (c) => {
    const queue = lookupQueue(c, broker);
    if (queue instanceof Response) return queue;
    if (!broker.accepting) {
      c.header("Retry-After", "5");
      return errorResponse(c, sluiceError("unavailable", "server is shutting down; publish elsewhere or retry later"));
    }
    const key = c.req.header("idempotency-key");
    if (key !== undefined && (key.length === 0 || key.length > MAX_KEY_LENGTH)) {
      return errorResponse(c, sluiceError("validation", `Idempotency-Key must be 1 to ${MAX_KEY_LENGTH} characters`));
    }
    const body = await readBodyLimited(c.req.raw, broker.config.maxFrameBytes);
    if (!body.ok) return errorResponse(c, body.error);
    const signal = c.req.raw.signal;
    const publish = () => queue.enqueue(body.value, { signal, key });
    const added = key === undefined ? await publish() : await broker.idempotency.run(queue.name, key, publish);
    if (!added.ok) {
      if (added.error.code === "queue.closed") return errorResponse(c, sluiceError("unavailable", "server is shutting down; the message was not enqueued"));
      return errorResponse(c, added.error);
    }
    // 202 is a promise: for a stored queue it waits for the commit holding the message.
    const committed = await new Promise<Result<void>>((done) => queue.afterCommit(done));
    if (!committed.ok) return errorResponse(c, committed.error);
    return c.json({ queue: queue.name, sequenceId: added.value.sequenceId, duplicate: added.value.duplicate }, 202);
  });
}

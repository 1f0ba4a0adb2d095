import type { Hono } from "hono";
import { sluiceError } from "../../result/errors.ts";
import { err, ok, type Result } from "../../result/result.ts";
import type { Broker } from "../broker.ts";
import { base64FromBytes } from "../../protocol/base64.ts";
import { errorResponse } from "../http-errors.ts";
import { readBodyLimited, readJsonBody } from "./body.ts";
import { lookupQueue } from "./queue-lookup.ts";

const MAX_KEY_LENGTH = 256;

/**
 * Byte limit of a poison replay body: room for about 4,000 sequence ids; larger → 413 unread.
 *
 * @example
 * ```ts
 * REPLAY_BODY_LIMIT; // 65536
 * ```
 */
export const REPLAY_BODY_LIMIT = 64 * 1024;

const REPLAY_SHAPE = 'replay body must be {"ids":[sequenceId, …]} (positive integers) or {"all":true}';

/**
 * Checks a parsed replay body: exactly `{"ids":[positive integers…]}` (those entries) or
 * `{"all":true}` (every entry). Anything else — `null`, arrays, strings, other or extra keys,
 * `{"all":false}` — is `validation`, so a typo can never replay the whole poison queue.
 *
 * @example
 * ```ts
 * parseReplayBody({ ids: [3, 4] }); // ok({ ids: [3, 4] })
 * parseReplayBody({ all: true });   // ok({ all: true })
 * parseReplayBody({ idz: [1] });    // err validation
 * ```
 */
export function parseReplayBody(body: unknown): Result<{ readonly ids: readonly number[] } | { readonly all: true }> {
  const invalid = (why: string) => err(sluiceError("validation", `${REPLAY_SHAPE}; ${why}`));
  if (typeof body !== "object" || body === null || Array.isArray(body)) return invalid(`got ${body === null ? "null" : Array.isArray(body) ? "an array" : typeof body}`);
  const keys = Object.keys(body);
  if (keys.length !== 1 || (keys[0] !== "ids" && keys[0] !== "all")) return invalid(`got the key(s) ${JSON.stringify(keys)}`);
  const value: unknown = (body as Record<string, unknown>)[keys[0]];
  if (keys[0] === "all") return value === true ? ok({ all: true }) : invalid(`"all" must be true (got ${JSON.stringify(value)})`);
  if (!Array.isArray(value) || !value.every((id) => Number.isSafeInteger(id) && (id as number) > 0)) {
    return invalid('"ids" must be an array of positive integer sequence ids');
  }
  return ok({ ids: value as number[] });
}

/**
 * Registers the queue HTTP routes: `GET /v1/queues/:queue` (stats), `GET /v1/queues/:queue/poison`,
 * `POST /v1/queues/:queue/poison/replay` (JSON `{ "ids": [sequenceId, ...] }` or `{ "all": true }`,
 * at most `REPLAY_BODY_LIMIT` bytes; anything else is 400 and replays nothing) and
 * `POST /v1/queues/:queue/messages` (one message, body bytes; an
 * `Idempotency-Key` header dedups within `idempotencyWindowMs` — on a JetStream queue across every
 * node, as `Nats-Msg-Id`; 202 `{ sequenceId, queue, duplicate }`).
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
    // A queue removed from the control document stays listed, read-only, until drained and purged.
    return c.json({ queue: queue.name, ...queue.stats(), ...(broker.isRemoved(queue.name) ? { removed: true } : {}) });
  });

  app.get("/v1/queues/:queue/poison", async (c) => {
    const queue = lookupQueue(c, broker);
    if (queue instanceof Response) return queue;
    const entries = (await queue.poison.list()).map((e) => ({
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
    const body = await readJsonBody(c.req.raw, REPLAY_BODY_LIMIT);
    if (!body.ok) {
      const hint = body.error.code === "validation" ? `${REPLAY_SHAPE}; ${body.error.message}` : body.error.message;
      return errorResponse(c, sluiceError(body.error.code, hint));
    }
    const request = parseReplayBody(body.value);
    if (!request.ok) return errorResponse(c, request.error);
    const replayed = await queue.poison.replay("all" in request.value ? undefined : request.value.ids);
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
    // On JetStream the key is the message's Nats-Msg-Id (deduped by the stream, across nodes).
    const added = await broker.publishOnce(queue, key, (k) => queue.enqueue(body.value, { signal, key: k }));
    if (!added.ok) {
      // A queue removed from the control document says so (queue.closed, 503); else it is the shutdown.
      if (added.error.code === "queue.closed" && !broker.isRemoved(queue.name)) return errorResponse(c, sluiceError("unavailable", "server is shutting down; the message was not enqueued"));
      return errorResponse(c, added.error);
    }
    // 202 is a promise: for a stored queue it waits for the commit holding the message.
    const committed = await new Promise<Result<void>>((done) => queue.afterCommit(done));
    if (!committed.ok) return errorResponse(c, committed.error);
    return c.json({ queue: queue.name, sequenceId: added.value.sequenceId, duplicate: added.value.duplicate }, 202);
  });
}

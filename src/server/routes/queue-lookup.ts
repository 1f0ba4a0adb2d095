import type { Context } from "hono";
import { sluiceError } from "../../result/errors.ts";
import type { RelayQueue } from "../../queue/relay-queue.ts";
import type { Broker } from "../broker.ts";
import { errorResponse } from "../http-errors.ts";

/**
 * Resolves `:queue` to a configured queue, or answers 404 `not_found` (JSON error), so every
 * queue route treats unknown names the same way.
 *
 * @example
 * ```ts
 * const found = lookupQueue(c, broker);
 * if (found instanceof Response) return found;
 * found.stats();
 * ```
 */
export function lookupQueue(c: Context, broker: Broker): RelayQueue<Uint8Array> | Response {
  const name = c.req.param("queue") ?? "";
  const queue = broker.queue(name);
  if (queue !== undefined) return queue;
  return errorResponse(c, sluiceError("not_found", `no queue named ${JSON.stringify(name)} (configured: ${[...broker.queues.keys()].join(", ")})`));
}

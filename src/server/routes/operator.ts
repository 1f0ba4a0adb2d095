/**
 * The operator routes the `sluice` CLI and the `/ui` dashboard need besides the queue routes:
 * the list of queues with their stats, purging poison entries, the stats feed and the dashboard.
 *
 * @module
 */
import type { Hono } from "hono";
import { sluiceError } from "../../result/errors.ts";
import type { Broker } from "../broker.ts";
import { errorResponse } from "../http-errors.ts";
import { readJsonBody } from "./body.ts";
import { lookupQueue } from "./queue-lookup.ts";
import { parseReplayBody, REPLAY_BODY_LIMIT } from "./queues.ts";
import { registerStatsStreamRoute, statsSnapshot } from "./stats-stream.ts";
import { registerDashboardRoutes } from "./ui.ts";

const PURGE_SHAPE = 'purge body must be {"ids":[sequenceId, …]} (positive integers) or {"all":true}';

/**
 * Registers `GET /v1/queues` (`{"queues":[{ "queue", …stats }]}`, every configured queue),
 * `POST /v1/queues/:queue/poison/purge` (exactly `{"ids":[…]}` or `{"all":true}`, as replay;
 * anything else is 400 and drops nothing; answers `{"queue","purged":n}`), `GET /v1/stats/stream`
 * (stats-stream.ts) and the dashboard at `/ui` (ui.ts). The `/v1/` routes sit behind the app's
 * bearer auth; `/ui` is static and asks for the token in the page.
 *
 * @example
 * ```ts
 * registerOperatorRoutes(app, broker);
 * // curl -X POST -d '{"ids":[7]}' localhost:8787/v1/queues/jobs/poison/purge → {"queue":"jobs","purged":1}
 * ```
 */
export function registerOperatorRoutes(app: Hono, broker: Broker): void {
  app.get("/v1/queues", (c) => c.json({ queues: statsSnapshot(broker).queues }));

  app.post("/v1/queues/:queue/poison/purge", async (c) => {
    const queue = lookupQueue(c, broker);
    if (queue instanceof Response) return queue;
    const body = await readJsonBody(c.req.raw, REPLAY_BODY_LIMIT);
    if (!body.ok) {
      const hint = body.error.code === "validation" ? `${PURGE_SHAPE}; ${body.error.message}` : body.error.message;
      return errorResponse(c, sluiceError(body.error.code, hint));
    }
    const request = parseReplayBody(body.value);
    if (!request.ok) return errorResponse(c, sluiceError("validation", request.error.message.replace(/^replay/, "purge")));
    const purged = await queue.poison.purge("all" in request.value ? undefined : request.value.ids);
    return c.json({ queue: queue.name, purged });
  });

  registerStatsStreamRoute(app, broker);
  registerDashboardRoutes(app);
}

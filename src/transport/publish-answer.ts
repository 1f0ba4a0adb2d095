import type { Result } from "../result/result.ts";

/**
 * What a producer is told about one PUBLISH — the one rule both publish paths (WebSocket
 * `PublishIntake`, HTTP duplex `duplexPublish`) follow:
 * - `receipt`: enqueued (and, on a stored queue, committed);
 * - `goaway`: not enqueued because the queue or the connection is going away (`queue.closed`,
 *   `canceled`): publish elsewhere or later, nothing to deduplicate;
 * - `full`: refused by a full queue (GOAWAY on the first of a run, closed past a bound);
 * - `error`: any other refusal, as an ERROR frame.
 *
 * @example
 * ```ts
 * if (publishOutcome(added) === "goaway") send(goawayFrame(id));
 * ```
 */
export type PublishOutcome = "receipt" | "goaway" | "full" | "error";

/**
 * The outcome of an enqueue result (see `PublishOutcome`).
 *
 * @example
 * ```ts
 * publishOutcome(err("canceled", "stream closed")); // "goaway"
 * ```
 */
export function publishOutcome(added: Result<unknown>): PublishOutcome {
  if (added.ok) return "receipt";
  switch (added.error.code) {
    case "queue.closed":
    case "canceled":
      return "goaway";
    case "queue.full":
      return "full";
    default:
      return "error";
  }
}

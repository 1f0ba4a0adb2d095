/**
 * Relay (`sluice.v1.Relay` over Connect and gRPC-Web) on workerd: the Worker serves the same
 * service as the servers (src/server/relay-service.ts) over a `RelayHost` whose queues are the
 * `SluiceQueue` objects. A command is enqueued by the object of its queue — a `POST
 * /v1/queues/<name>/messages` with the command's idempotency key as `Idempotency-Key`, so the
 * object deduplicates it durably (its store keeps the key for the window) and answers once the
 * message is committed.
 *
 * @example
 * ```ts
 * registerRelayRoutes(app, relayHost(env, config));
 * ```
 */
import type { ErrorCode } from "../../result/errors.ts";
import { err, ok, type Result } from "../../result/result.ts";
import type { Enqueued, RelayQueue } from "../../queue/relay-queue.ts";
import type { SluiceConfig } from "../../server/config.ts";
import type { RelayHost } from "../../server/relay-service.ts";
import { forwardToQueue } from "./forward.ts";
import type { WorkerEnv } from "./types.ts";

type RelayTarget = Pick<RelayQueue<Uint8Array>, "name" | "enqueue">;

/**
 * The queue of `name` as Relay sees it: `enqueue` publishes through its object.
 *
 * @example
 * ```ts
 * const added = await relayTarget(env, "jobs").enqueue(bytes, { key: "order-17" });
 * ```
 */
export function relayTarget(env: WorkerEnv, name: string): RelayTarget {
  return {
    name,
    async enqueue(payload, options = {}): Promise<Result<Enqueued>> {
      const headers: Record<string, string> = { "content-type": "application/octet-stream" };
      if (options.key !== undefined) headers["idempotency-key"] = options.key;
      const url = `https://sluice.internal/v1/queues/${encodeURIComponent(name)}/messages`;
      let response: Response;
      try {
        response = await forwardToQueue(env, name, new Request(url, { method: "POST", body: payload as Uint8Array<ArrayBuffer>, headers, signal: options.signal }));
      } catch (thrown) {
        return err("unavailable", `queue '${name}' could not be reached: ${thrown instanceof Error ? thrown.message : String(thrown)}`);
      }
      const body = (await response.json().catch(() => ({}))) as { sequenceId?: number; duplicate?: boolean; error?: { code?: ErrorCode; message?: string } };
      if (response.status === 202 && typeof body.sequenceId === "number") return ok({ sequenceId: body.sequenceId, duplicate: body.duplicate === true });
      return err(body.error?.code ?? "internal", body.error?.message ?? `queue '${name}' answered ${response.status}`);
    },
  };
}

/**
 * The Worker as a `RelayHost`: configured queues only; deduplication is the objects' (the key is
 * passed through, not cached here).
 *
 * @example
 * ```ts
 * relayService(relayHost(env, config));
 * ```
 */
export function relayHost(env: WorkerEnv, config: SluiceConfig): RelayHost {
  const targets = new Map(Object.keys(config.queues).map((name) => [name, relayTarget(env, name)]));
  return {
    config,
    accepting: true,
    queue: (name) => targets.get(name),
    publishOnce: async (_queue, key, publish) => {
      const added = await publish(key);
      return added.ok ? ok({ sequenceId: added.value.sequenceId, duplicate: added.value.duplicate }) : added;
    },
  };
}

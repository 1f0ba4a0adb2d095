/**
 * How the Worker reaches a queue's Durable Object: `idFromName(<queue>)`, with the queue named in
 * a request header too (an object reads its name from there, or from storage after a wake-up
 * that carries no request).
 *
 * @example
 * ```ts
 * const response = await forwardToQueue(env, "jobs", request);
 * ```
 */
import type { WorkerEnv } from "./types.ts";

/**
 * Request header naming the queue, set on every request the Worker forwards.
 *
 * @example
 * ```ts
 * request.headers.get(QUEUE_HEADER); // "jobs"
 * ```
 */
export const QUEUE_HEADER = "sluice-queue";

/**
 * Sends `request` to the object of queue `name`.
 *
 * @example
 * ```ts
 * await forwardToQueue(env, "jobs", new Request("https://sluice.internal/v1/queues/jobs"));
 * ```
 */
export function forwardToQueue(env: WorkerEnv, name: string, request: Request): Promise<Response> {
  const forwarded = new Request(request);
  forwarded.headers.set(QUEUE_HEADER, name);
  return env.SLUICE_QUEUE.get(env.SLUICE_QUEUE.idFromName(name)).fetch(forwarded);
}

/**
 * Leadership fencing of Sluice's Relay service (relay-service.ts): admitting a request's
 * `scope` + `term`, and enqueueing its commands only while that term is current.
 *
 * @module
 */
import { Code, ConnectError } from "@connectrpc/connect";
import type { FencePayload } from "../protocol/fence.ts";
import type { Enqueued, RelayQueue } from "../queue/relay-queue.ts";
import type { Result } from "../result/result.ts";
import type { FenceCheck } from "../transport/connection-fence.ts";
import { SLUICE_ERROR_CODE_HEADER } from "../transport/relay-client.ts";

function codedError(message: string, code: Code, sluiceCode: string): ConnectError {
  return new ConnectError(message, code, { [SLUICE_ERROR_CODE_HEADER]: sluiceCode });
}

/**
 * Leadership fencing of a Relay request (`scope` + `term`, DESIGN.md "Mesh roles"): none without
 * a scope; a term lower than the highest the server accepted for the scope is refused with
 * FAILED_PRECONDITION (`sluice-error-code: lease.inactive`), a higher one is recorded first
 * (UNAVAILABLE if it cannot be); a term of 0 or past 2^53 is INVALID_ARGUMENT. Returns the
 * fence each command of the request is then checked against, right before it is enqueued.
 *
 * @example
 * ```ts
 * const fence = admitFence(broker.fences, request.scope, request.term); // { scope: "bridge/jobs", term: 7 } | undefined
 * ```
 */
export function admitFence(fences: FenceCheck | undefined, scope: string, term: bigint): FencePayload | undefined {
  if (scope === "" || fences === undefined) return undefined;
  if (term < 1n || term > BigInt(Number.MAX_SAFE_INTEGER)) throw codedError(`fence term ${term} of ${scope} is not in 1..2^53-1`, Code.InvalidArgument, "validation");
  const fence = { scope, term: Number(term) };
  const admitted = fences.admit(fence.scope, fence.term);
  if (admitted.ok) return fence;
  if (admitted.error.code === "lease.inactive") throw codedError(admitted.error.message, Code.FailedPrecondition, "lease.inactive");
  throw codedError(admitted.error.message, Code.Unavailable, admitted.error.code);
}

/**
 * Enqueues a fenced command: only while its term is current (`current()`, checked in the same
 * turn as the admission), and never waiting for room — a waiting one could go in after a newer
 * leader's — so a full queue answers `queue.full` and the bridge sends it again later. Queues
 * without `tryEnqueue` (workerd's Durable Object stubs) take it through `enqueue` after the check.
 *
 * @example
 * ```ts
 * const added = await enqueueFenced(queue, payload, key, signal, () => fences.check("bridge/jobs", 7));
 * ```
 */
export function enqueueFenced(
  queue: Pick<RelayQueue<Uint8Array>, "enqueue"> & Partial<Pick<RelayQueue<Uint8Array>, "tryEnqueue" | "waitsForRoom" | "whenStored">>,
  payload: Uint8Array,
  key: string | undefined,
  signal: AbortSignal,
  current: () => Result<void>,
): Promise<Result<Enqueued>> {
  const checked = current();
  if (!checked.ok) return Promise.resolve(checked);
  if (queue.tryEnqueue === undefined || queue.waitsForRoom === undefined || queue.whenStored === undefined) return queue.enqueue(payload, { signal, key });
  const added = queue.tryEnqueue(payload, key);
  if (queue.waitsForRoom(added)) return Promise.resolve(added);
  const whenStored = queue.whenStored.bind(queue);
  return new Promise((resolve) => whenStored(added, resolve));
}

/**
 * One delivery attempt of a bridge — socket first, then the Relay RPC — and how it ended.
 *
 * @module
 */
import type { Clock } from "../result/clock.ts";
import type { Lease } from "../queue/lease.ts";
import type { PumpContext } from "../queue/pump.ts";
import { type SluiceError, sluiceError } from "../result/errors.ts";
import type { Result } from "../result/result.ts";
import { isRetryableError, retry } from "../result/retry.ts";
import type { RetryPolicy } from "../result/retry-policy.ts";
import { withTimeout } from "../result/with-timeout.ts";
import type { BridgeMetrics, BridgePath } from "./bridge-metrics.ts";
import { commandOf } from "./command.ts";
import type { Downstream } from "./downstream.ts";
import type { ExecuteBatcher } from "./execute-batcher.ts";
import type { RelayClient } from "./relay-client.ts";
import { type FencePayload, isFenceRefusal } from "../protocol/fence.ts";

/**
 * How one delivery attempt ended:
 * - `delivered`: a path took it (socket: ACK or RECEIPT; RPC: ACCEPTED or ACKED);
 * - `refused`: the downstream answered and said no to THIS message (a NACK/ERROR on the socket,
 *   a NACKED/REJECTED or invalid call on the RPC path) — it counts against `maxRetries`;
 * - `down`: no path took it and none gave a verdict (`isOutageError`): the downstream is down,
 *   full or unreachable as a whole;
 * - `canceled`: the bridge is stopping.
 *
 * @example
 * ```ts
 * const outcome: DeliveryOutcome = await deliver(lease, context, { probe: false });
 * if (outcome.kind === "down") breaker.failed(admission);
 * ```
 */
export type DeliveryOutcome =
  | { readonly kind: "delivered"; readonly path: BridgePath }
  | { readonly kind: "refused" | "down" | "canceled"; readonly error: SluiceError };

/**
 * Errors that say "nothing took it, and nothing judged it": the downstream is unreachable
 * (`unavailable`, `timeout`), full or closing (`queue.full`, `queue.closed`), or the bridge is
 * misconfigured for it as a whole (`unauthorized`: a wrong token; `not_found`: no such target
 * queue). They open the circuit instead of counting against a message's `maxRetries`: a wrong
 * token must not poison every message. Anything else (`validation`, `frame.too_large`,
 * `internal`, …) is a verdict on the message.
 *
 * @example
 * ```ts
 * isOutageError(sluiceError("unavailable", "connection refused")); // true
 * isOutageError(sluiceError("frame.too_large", "2 MiB"));          // false
 * ```
 */
export function isOutageError(error: SluiceError): boolean {
  switch (error.code) {
    case "unavailable":
    case "timeout":
    case "queue.full":
    case "queue.closed":
    case "unauthorized":
    case "not_found":
      return true;
    default:
      return false;
  }
}

/**
 * What `deliveryAttempt` works with.
 *
 * @example
 * ```ts
 * const deliver = deliveryAttempt({ downstream, relay, clock, sendTimeoutMs: 3000, rpcRetry, metrics, onFailed });
 * ```
 */
export interface DeliveryParts {
  readonly downstream?: Downstream;
  readonly relay?: RelayClient;
  readonly batcher?: ExecuteBatcher;
  readonly clock: Clock;
  readonly sendTimeoutMs: number;
  readonly rpcRetry: RetryPolicy;
  readonly targetQueue?: string;
  /** Leadership fencing: the scope and term every RPC call carries (the socket sent it as FENCE). */
  readonly fence?: FencePayload;
  readonly metrics: BridgeMetrics;
  /** Each failed send (socket send or RPC call), for the log. */
  readonly onFailed?: (path: BridgePath, error: SluiceError) => void;
  /** A socket send failed and the message goes to the RPC path. */
  readonly onFallback?: () => void;
}

/**
 * Builds the bridge's delivery attempt:
 * 1. Socket (when there is one): PUBLISH under `withTimeout(sendTimeoutMs)`; ACK or RECEIPT is
 *    success. A probe (half-open circuit) first opens the connection, ignoring the socket's own
 *    reconnect backoff; other deliveries skip a socket that is waiting out that backoff. A
 *    refusal that is not an outage error is the downstream's verdict: no fallback.
 * 2. Otherwise the message is withdrawn from the socket at once (`downstream.rollback(id)`, also
 *    registered on the lease's scope) and goes to the RPC path: `Send` (or batched `Execute`),
 *    each call under `withTimeout(sendTimeoutMs)`, all under `retry(rpcRetry)` (`not_found` is
 *    not retried). The command carries the idempotency key `commandKey(lease)`, so a receiving
 *    Sluice enqueues a re-sent delivery once.
 * Every socket send and RPC call is metered (`BridgeMetrics.sent`).
 *
 * @example
 * ```ts
 * const deliver = deliveryAttempt(parts);
 * const outcome = await deliver(lease, { signal, scope }, false);
 * ```
 */
export function deliveryAttempt(parts: DeliveryParts): (lease: Lease<Uint8Array>, context: PumpContext, probe: boolean) => Promise<DeliveryOutcome> {
  const { downstream, relay, batcher, clock, sendTimeoutMs, metrics } = parts;
  const failed = (path: BridgePath, error: SluiceError, signal: AbortSignal) => {
    if (signal.aborted) return;
    metrics.sent(path, error.metadata?.by === "downstream" && !isOutageError(error) ? "refused" : "failed");
    parts.onFailed?.(path, error);
  };

  const viaRpc = (lease: Lease<Uint8Array>, signal: AbortSignal): Promise<Result<void>> => {
    const command = commandOf(lease, parts.targetQueue);
    const call = (callSignal: AbortSignal) => (batcher ? batcher.submit(command, callSignal) : relay!.send(command, { signal: callSignal, fence: parts.fence }));
    const attempt = async (_attempt: number, retrySignal?: AbortSignal): Promise<Result<void>> => {
      const sent = await withTimeout(call, sendTimeoutMs, { signal: retrySignal, clock });
      if (sent.ok) metrics.sent("rpc", "ok");
      else if (!signal.aborted) {
        metrics.sent("rpc", isOutageError(sent.error) ? "failed" : "refused");
        parts.onFailed?.("rpc", sent.error);
      }
      return sent;
    };
    return retry(attempt, parts.rpcRetry, { signal, clock, isRetryable: (error) => error.code !== "not_found" && !isFenceRefusal(error) && isRetryableError(error) });
  };

  return async (lease, { signal, scope }, probe) => {
    let socketError: SluiceError | undefined;
    // A socket that is down and waiting out its reconnect backoff puts nothing on the wire: with
    // an RPC path, the message goes there directly (no failed socket send to count).
    if (downstream !== undefined && relay !== undefined && !probe && downstream.retryInMs > 0) {
      socketError = sluiceError("unavailable", `downstream ${downstream.shownUrl} is down (next connection attempt in ${Math.ceil(downstream.retryInMs)} ms)`);
      parts.onFallback?.();
    } else if (downstream !== undefined) {
      const id = lease.sequenceId;
      if (probe && downstream.state !== "open") await withTimeout((s) => downstream.connect({ signal: s }), sendTimeoutMs, { signal, clock });
      const sent = await withTimeout((s) => downstream.send(id, lease.payload, { signal: s }), sendTimeoutMs, { signal, clock, scope });
      if (sent.ok) {
        metrics.sent("socket", "ok");
        return { kind: "delivered", path: "socket" };
      }
      if (signal.aborted) return { kind: "canceled", error: sent.error };
      failed("socket", sent.error, signal);
      // The downstream answered "no" for this message: that is its verdict, not an outage.
      if (sent.error.metadata?.by === "downstream" && !isOutageError(sent.error)) return { kind: "refused", error: sent.error };
      // Withdraw it from the socket now, not only on failure: a downstream that was slow rather
      // than dead would otherwise process it as well as the RPC path. It stays registered as this
      // delivery's undo (a no-op once done), so cancel paths are covered whatever the order.
      let withdrawn = false;
      const withdraw = () => {
        if (withdrawn) return;
        withdrawn = true;
        downstream.rollback(id);
      };
      scope.register(withdraw);
      withdraw();
      if (relay === undefined) return { kind: "down", error: sent.error };
      socketError = sent.error;
      parts.onFallback?.();
    }
    const sent = await viaRpc(lease, signal);
    if (sent.ok) return { kind: "delivered", path: "rpc" };
    if (signal.aborted) return { kind: "canceled", error: sent.error };
    const error = socketError === undefined ? sent.error : { ...sent.error, metadata: { ...sent.error.metadata, socketError: `${socketError.code}: ${socketError.message}` } };
    return { kind: isOutageError(sent.error) ? "down" : "refused", error };
  };
}

/**
 * Messages that failed as in an outage while other messages got through, by sequence id: the
 * failure may be the message's own (a payload the downstream chokes on), or bad luck (in flight
 * when the downstream died). Every second such failure of one message counts as an attempt
 * (`failedAgain` → true). Delivered or refused messages leave (`forget`); at most `max` are
 * remembered (the oldest go first).
 *
 * @example
 * ```ts
 * const suspects = new Suspects();
 * suspects.failedAgain(42); // false: first time, not counted
 * suspects.failedAgain(42); // true: count this one
 * ```
 */
export class Suspects {
  readonly #failures = new Map<number, number>();
  constructor(
    readonly every = 2,
    readonly max = 4096,
  ) {}

  /** One more such failure of `id`; true when this one counts as an attempt. */
  failedAgain(id: number): boolean {
    const n = (this.#failures.get(id) ?? 0) + 1;
    this.#failures.delete(id);
    if (n >= this.every) return true;
    if (this.#failures.size >= this.max) this.#failures.delete(this.#failures.keys().next().value!);
    this.#failures.set(id, n);
    return false;
  }

  /** `id` was delivered or refused. */
  forget(id: number): void {
    this.#failures.delete(id);
  }
}

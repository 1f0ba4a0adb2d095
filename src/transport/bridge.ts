/**
 * `bridge(queue, options)`: a queue → downstream socket bridge with RPC fallback and a circuit
 * breaker (its types live in bridge-options.ts and are re-exported here).
 *
 * @module
 */
import type { MetricsRegistry } from "../queue/metrics/registry.ts";
import { pump, type PumpContext, type PumpReport } from "../queue/pump.ts";
import type { Lease } from "../queue/lease.ts";
import type { RelayQueue } from "../queue/relay-queue.ts";
import { type SluiceError, sluiceError } from "../result/errors.ts";
import { redactSecrets } from "../result/redact.ts";
import { abortable } from "../result/delay.ts";
import { isFenceRefusal } from "../protocol/fence.ts";
import { linkSignal } from "../result/signals.ts";
import { err, ok, type Result } from "../result/result.ts";
import { RetryPolicy } from "../result/retry-policy.ts";
import { deliveryAttempt, Suspects } from "./bridge-delivery.ts";
import { BridgeLog } from "./bridge-log.ts";
import { BridgeMetrics } from "./bridge-metrics.ts";
import { authHeaders, type Bridge, type BridgeOptions, type BridgeStats } from "./bridge-options.ts";
import { CircuitBreaker } from "./circuit-breaker.ts";
import { Downstream } from "./downstream.ts";
import { ExecuteBatcher } from "./execute-batcher.ts";
import { RelayClient } from "./relay-client.ts";

export { authHeaders, type Bridge, type BridgeFence, type BridgeOptions, type BridgeStats } from "./bridge-options.ts";

const DEFAULT_RPC_RETRY = RetryPolicy.exponential({ attempts: 3, initialMs: 250 });

/**
 * Drains a queue into a downstream — a WebSocket (a downstream Sluice's
 * `/v1/queues/<queue>/ws`, or any service that answers PUBLISH with ACK) with the
 * `sluice.v1.Relay` RPC service as fallback — on top of `pump()` (leasing, heartbeats, ack/fail,
 * poison, the per-lease compensation scope).
 *
 * Per lease (see `deliveryAttempt`): PUBLISH on the socket, confirmed by a RECEIPT or an ACK for
 * its id, whichever comes first; if the socket fails or times out, the message is withdrawn from
 * it and goes through the Relay (`Send`, or `Execute` batches), under `retry(rpcRetry)`, with an
 * idempotency key per message so a receiving Sluice enqueues a re-sent delivery once. Then:
 * - **delivered** → the lease is acked.
 * - **refused** (the downstream's verdict on this message: NACK/ERROR on the socket,
 *   NACKED/REJECTED on the RPC) → the lease fails and counts against `maxRetries`, then poison,
 *   as a consumer's NACK would.
 * - **down** (no path took it, none refused it: unreachable, timed out, full, wrong token or
 *   target queue — `isOutageError`) → the message goes back to the queue at once WITHOUT counting
 *   an attempt (`fail(lease, error, { countAttempt: false })`) and the failure feeds a circuit
 *   breaker. After `failureThreshold` in a row the circuit opens: the bridge's workers stop
 *   taking leases (they park holding nothing) and, after 500 ms, 1 s, 2 s … up to 5 s, one
 *   delivery goes as a probe (half-open); its success closes the circuit and every worker
 *   resumes, its failure reopens it with the next wait. So a downstream outage of any length
 *   poisons nothing and every message is sent once it is back — what a BullMQ user gets from
 *   `RateLimitError` (the job goes back, `attemptsMade` unchanged, the worker pauses), and what
 *   an SQS user gets by not receiving while the target is down (each receive would count toward
 *   `maxReceiveCount`). Only a message that keeps failing while others get through counts (one
 *   attempt per second such failure, `Suspects`): one the downstream cannot take is still poisoned.
 * Failures are metered (`BridgeMetrics`) and logged at most once per `logEveryMs` per kind, plus
 * one line per outage start and end (`BridgeLog`), with URLs and the token masked.
 * Stopping (signal or `stop()`) cancels the handlers; their leases go back at once, not counted.
 *
 * Delivery is at least once: a socket send that gets no answer (the downstream died or stalled
 * after taking it) is sent again, and the socket's PUBLISH carries no idempotency key, so that
 * message may arrive twice. The RPC path dedups within the downstream's `idempotencyWindowMs`.
 *
 * @example
 * ```ts
 * const b = bridge(queue, { wsUrl: "ws://sluice-b:8787/v1/queues/jobs/ws", rpcUrl: "http://sluice-b:8787", log: console.log });
 * // … later
 * const report = await b.stop(); // Result<PumpReport>: acked / failed / canceled counts
 * ```
 */
export function bridge(queue: RelayQueue<Uint8Array>, options: BridgeOptions): Bridge {
  const headers = authHeaders(options);
  const clock = queue.options.clock;
  const print = options.log;
  const log = print && new BridgeLog({ name: queue.name, clock, everyMs: options.logEveryMs, log: (line) => print(redactSecrets(line, [options.token])) });
  const downstream =
    options.downstream ??
    (options.wsUrl === undefined
      ? undefined
      : new Downstream({
          url: options.wsUrl,
          clock,
          pingIntervalMs: options.pingIntervalMs,
          socketFactory: options.socketFactory,
          headers,
          fence: options.fence && { scope: options.fence.scope, term: options.fence.term },
          onEvent: (event) => {
            log?.socket(event, downstream!.shownUrl);
            options.onEvent?.(event);
          },
        }));
  const relay = options.relay ?? (options.rpcUrl === undefined ? undefined : new RelayClient({ baseUrl: options.rpcUrl, headers }));
  if (downstream === undefined && relay === undefined) throw new TypeError("bridge: give wsUrl/downstream, rpcUrl/relay, or both");
  const fence = options.fence;
  const fenceTerm = fence && { scope: fence.scope, term: fence.term };
  if (fenceTerm !== undefined && options.downstream !== undefined) options.downstream.fence(fenceTerm);
  const sendTimeoutMs = options.sendTimeoutMs ?? 3000;
  const batcher = relay && options.rpcMode === "execute" ? new ExecuteBatcher(relay, { callTimeoutMs: sendTimeoutMs, clock, fence: fenceTerm }) : undefined;
  const stats: BridgeStats = { viaSocket: 0, viaRpc: 0, fallbacks: 0, failed: 0, deferred: 0, fenced: 0 };
  const metrics = new BridgeMetrics(options.metrics ?? queue.metrics.registry, queue.name);
  let lastDown: SluiceError | undefined;
  const breaker = new CircuitBreaker({
    ...options.circuit,
    clock,
    onChange: (change) => {
      metrics.circuit(change.to, change.from);
      log?.circuit(change, lastDown);
      // Back up (perhaps through the RPC path): try the socket now, not after its backoff.
      if (change.to === "closed" && downstream !== undefined && downstream.state !== "open") void downstream.connect();
    },
  });
  const deliver = deliveryAttempt({
    downstream,
    relay,
    batcher,
    clock,
    sendTimeoutMs,
    rpcRetry: options.rpcRetry ?? DEFAULT_RPC_RETRY,
    targetQueue: options.targetQueue,
    fence: fenceTerm,
    metrics,
    onFailed: (path, error) => log?.sendFailed(path, error),
    onFallback: () => {
      stats.fallbacks++;
      metrics.fallbacks.inc();
    },
  });
  const suspects = new Suspects();
  const link = linkSignal(options.signal);

  // Back to the queue now, not counted; then park (holding no lease) until a send may go.
  const defer = async (lease: Lease<Uint8Array>, signal: AbortSignal, error: SluiceError): Promise<Result<void>> => {
    queue.fail(lease, error, { requeue: true, countAttempt: false, delayMs: 0 });
    stats.deferred++;
    metrics.deferred.inc();
    log?.deferred();
    await breaker.ready(signal);
    // The lease is no longer active: the pump's ack of it changes nothing.
    return ok();
  };

  // No longer the leader (or fenced): back to the queue now, not counted; then hold no lease
  // until the bridge is stopped (the server stops it when leadership is lost).
  const stepAside = async (lease: Lease<Uint8Array>, signal: AbortSignal, error: SluiceError): Promise<Result<void>> => {
    queue.fail(lease, error, { requeue: true, countAttempt: false, delayMs: 0 });
    stats.fenced++;
    metrics.fenced.inc();
    await abortable(new Promise<never>(() => {}), signal);
    return ok();
  };

  const handle = async (lease: Lease<Uint8Array>, context: PumpContext): Promise<Result<void>> => {
    if (fence !== undefined && !fence.isCurrent()) {
      return stepAside(lease, context.signal, sluiceError("canceled", `bridge ${queue.name}: no longer the leader of ${fence.scope} in term ${fence.term}`));
    }
    const admission = breaker.tryAdmit();
    if (admission === undefined) return defer(lease, context.signal, sluiceError("unavailable", `bridge ${queue.name}: circuit ${breaker.state}, downstream down`));
    const before = breaker.successes;
    if (admission === "probe") {
      metrics.probes.inc();
      log?.probe();
    }
    const outcome = await deliver(lease, context, admission === "probe");
    if (outcome.kind === "canceled") {
      breaker.released(admission);
      return err(outcome.error);
    }
    if (outcome.kind === "delivered") {
      breaker.succeeded(admission);
      suspects.forget(lease.sequenceId);
      if (outcome.path === "socket") stats.viaSocket++;
      else stats.viaRpc++;
      metrics.delivered(outcome.path);
      return ok();
    }
    if (fence !== undefined && isFenceRefusal(outcome.error)) {
      breaker.succeeded(admission); // it answered: it is up, and a newer leader sends to it
      fence.fenced(outcome.error.message);
      return stepAside(lease, context.signal, outcome.error);
    }
    if (outcome.kind === "refused") {
      breaker.succeeded(admission); // it answered: it is up
      suspects.forget(lease.sequenceId);
      stats.failed++;
      return err(outcome.error);
    }
    lastDown = outcome.error;
    breaker.failed(admission);
    if (breaker.successes > before && suspects.failedAgain(lease.sequenceId)) {
      stats.failed++;
      return err(outcome.error);
    }
    return defer(lease, context.signal, outcome.error);
  };

  const done = pump(queue, handle, { concurrency: options.concurrency ?? 8, signal: link.signal, name: `${queue.name} bridge`, role: "bridge" }).then(
    async (report) => {
      link.dispose();
      breaker.dispose();
      await downstream?.close();
      return report;
    },
  );
  return {
    stats,
    downstream,
    relay,
    circuit: breaker,
    done,
    stop: () => {
      link.abort(sluiceError("canceled", "bridge stopped"));
      return done;
    },
  };
}

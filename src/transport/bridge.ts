/**
 * `bridge(queue, options)`: a queue → downstream socket bridge with RPC fallback and a circuit
 * breaker, and its types.
 *
 * @module
 */
import type { MetricsRegistry } from "../queue/metrics/registry.ts";
import { pump, type PumpContext, type PumpReport } from "../queue/pump.ts";
import type { Lease } from "../queue/lease.ts";
import type { RelayQueue } from "../queue/relay-queue.ts";
import { type SluiceError, sluiceError } from "../result/errors.ts";
import { redactSecrets } from "../result/redact.ts";
import { linkSignal } from "../result/signals.ts";
import { err, ok, type Result } from "../result/result.ts";
import { RetryPolicy } from "../result/retry-policy.ts";
import { deliveryAttempt, Suspects } from "./bridge-delivery.ts";
import { BridgeLog } from "./bridge-log.ts";
import { BridgeMetrics } from "./bridge-metrics.ts";
import { CircuitBreaker, type CircuitBreakerOptions } from "./circuit-breaker.ts";
import { Downstream, type DownstreamEvent, type DownstreamSocketFactory } from "./downstream.ts";
import { ExecuteBatcher } from "./execute-batcher.ts";
import { RelayClient } from "./relay-client.ts";

/**
 * Options of `bridge`. Give a socket (`wsUrl` or `downstream`), an RPC target (`rpcUrl` or `relay`), or both.
 *
 * @example
 * ```ts
 * bridge(queue, { rpcUrl: "http://worker:8787", rpcMode: "execute", sendTimeoutMs: 1000 });
 * bridge(queue, { wsUrl: "ws://sluice-b:8787/v1/queues/jobs/ws", rpcUrl: "http://sluice-b:8787", token: process.env.B_TOKEN, log: console.log });
 * ```
 */
export interface BridgeOptions {
  /** A downstream Sluice: `ws://host:port/v1/queues/<queue>/ws` (it confirms with RECEIPT). */
  readonly wsUrl?: string;
  /**
   * Sent as `Authorization: Bearer <token>` on the socket's upgrade request and on every RPC
   * call (with `wsUrl`/`rpcUrl`; a ready-made `downstream`/`relay` brings its own). Never logged.
   */
  readonly token?: string;
  /** More headers for the upgrade request and the RPC calls (`token` wins for `authorization`). */
  readonly headers?: Readonly<Record<string, string>>;
  /** A ready-made socket connection (overrides `wsUrl`); the bridge closes it when it stops. */
  readonly downstream?: Downstream;
  readonly rpcUrl?: string;
  /** A ready-made Relay client (overrides `rpcUrl`), e.g. on a gRPC transport. */
  readonly relay?: RelayClient;
  /** "send" (default): one unary Send per command; "execute": concurrent commands share server-streaming Execute calls. */
  readonly rpcMode?: "send" | "execute";
  /** Time limit of one socket send and of one RPC call. Default 3000. */
  readonly sendTimeoutMs?: number;
  /** Socket PING interval (missed PONG → socket closed). Default 15000. */
  readonly pingIntervalMs?: number;
  /** RPC retries within one delivery. Default `RetryPolicy.exponential({ attempts: 3, initialMs: 250 })`. */
  readonly rpcRetry?: RetryPolicy;
  /** The circuit breaker: `failureThreshold` (default 3) and `backoff` (default 500 ms doubling to 5 s). */
  readonly circuit?: Pick<CircuitBreakerOptions, "failureThreshold" | "backoff" | "random">;
  /** Leases in flight at once. Default 8. */
  readonly concurrency?: number;
  /** Queue name the commands are addressed to on the RPC side. Default: this queue's name. */
  readonly targetQueue?: string;
  readonly signal?: AbortSignal;
  readonly socketFactory?: DownstreamSocketFactory;
  /** Socket connection events. */
  readonly onEvent?: (event: DownstreamEvent) => void;
  /** Log lines (rate-limited, secrets masked: see `BridgeLog`). Default: none. */
  readonly log?: (line: string) => void;
  /** Least time between two repeated log lines of one kind. Default 30000. */
  readonly logEveryMs?: number;
  /** Where the `sluice_bridge_*` series go. Default: the queue's registry. */
  readonly metrics?: MetricsRegistry;
}

/**
 * Where each delivery went.
 *
 * @example
 * ```ts
 * const { viaSocket, viaRpc, fallbacks, deferred } = b.stats;
 * ```
 */
export interface BridgeStats {
  viaSocket: number;
  viaRpc: number;
  /** Socket sends that failed or timed out and went to the RPC path. */
  fallbacks: number;
  /** Deliveries that failed and counted against `maxRetries` (refused, or failing while others got through). */
  failed: number;
  /** Deliveries put back in the queue uncounted because every downstream path was down. */
  deferred: number;
}

/**
 * A running bridge, as returned by `bridge`.
 *
 * @example
 * ```ts
 * const b: Bridge = bridge(queue, { wsUrl: "ws://worker:9000/" });
 * if (b.circuit.state !== "closed") console.log("downstream down");
 * const report = await b.stop();
 * ```
 */
export interface Bridge {
  readonly stats: BridgeStats;
  readonly downstream: Downstream | undefined;
  readonly relay: RelayClient | undefined;
  readonly circuit: CircuitBreaker;
  /** Settles when the bridge stopped (signal, `stop()`, or the queue closed). */
  readonly done: Promise<Result<PumpReport>>;
  /** Stops the pump (in-flight leases go back at once) and closes the socket. */
  stop(): Promise<Result<PumpReport>>;
}

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
          onEvent: (event) => {
            log?.socket(event, downstream!.shownUrl);
            options.onEvent?.(event);
          },
        }));
  const relay = options.relay ?? (options.rpcUrl === undefined ? undefined : new RelayClient({ baseUrl: options.rpcUrl, headers }));
  if (downstream === undefined && relay === undefined) throw new TypeError("bridge: give wsUrl/downstream, rpcUrl/relay, or both");
  const sendTimeoutMs = options.sendTimeoutMs ?? 3000;
  const batcher = relay && options.rpcMode === "execute" ? new ExecuteBatcher(relay, { callTimeoutMs: sendTimeoutMs, clock }) : undefined;
  const stats: BridgeStats = { viaSocket: 0, viaRpc: 0, fallbacks: 0, failed: 0, deferred: 0 };
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

  const handle = async (lease: Lease<Uint8Array>, context: PumpContext): Promise<Result<void>> => {
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

/**
 * The headers a bridge sends downstream: `headers`, plus `authorization: Bearer <token>` when
 * `token` is set; undefined when there are none.
 *
 * @example
 * ```ts
 * authHeaders({ token: "s3cret" }); // { authorization: "Bearer s3cret" }
 * ```
 */
export function authHeaders(options: Pick<BridgeOptions, "token" | "headers">): Readonly<Record<string, string>> | undefined {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(options.headers ?? {})) headers[name.toLowerCase()] = value;
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  return Object.keys(headers).length === 0 ? undefined : headers;
}

/**
 * `bridge(queue, options)`: a queue → downstream socket bridge with RPC fallback, and its types.
 *
 * @module
 */
import type { Cell } from "../queue/metrics/registry.ts";
import { pump, type PumpContext, type PumpReport } from "../queue/pump.ts";
import type { Lease } from "../queue/lease.ts";
import type { SafeTaskQueue } from "../queue/safe-task-queue.ts";
import { type SluiceError, sluiceError } from "../result/errors.ts";
import { linkSignal } from "../result/signals.ts";
import { err, type Result } from "../result/result.ts";
import { isRetryableError, retry } from "../result/retry.ts";
import { RetryPolicy } from "../result/retry-policy.ts";
import { withTimeout } from "../result/with-timeout.ts";
import { commandOf } from "./command.ts";
import { Downstream, type DownstreamEvent, type DownstreamSocketFactory } from "./downstream.ts";
import { ExecuteBatcher } from "./execute-batcher.ts";
import { RelayClient } from "./relay-client.ts";

/**
 * Options of `bridge`. Give a socket (`wsUrl` or `downstream`), an RPC target (`rpcUrl` or `relay`), or both.
 *
 * @example
 * ```ts
 * bridge(queue, { rpcUrl: "http://worker:8787", rpcMode: "execute", sendTimeoutMs: 1000 });
 * bridge(queue, { wsUrl: "wss://ingest/x", rpcUrl: "https://ingest", token: process.env.INGEST_TOKEN });
 * ```
 */
export interface BridgeOptions {
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
  /** RPC retries. Default `RetryPolicy.exponential({ attempts: 3, initialMs: 250 })`. */
  readonly rpcRetry?: RetryPolicy;
  /** Leases in flight at once. Default 8. */
  readonly concurrency?: number;
  /** Queue name the commands are addressed to on the RPC side. Default: this queue's name. */
  readonly targetQueue?: string;
  readonly signal?: AbortSignal;
  readonly socketFactory?: DownstreamSocketFactory;
  /** Socket connection events, for logs. */
  readonly onEvent?: (event: DownstreamEvent) => void;
}

/**
 * Where each delivery went.
 *
 * @example
 * ```ts
 * const { viaSocket, viaRpc, fallbacks } = b.stats;
 * ```
 */
export interface BridgeStats {
  viaSocket: number;
  viaRpc: number;
  /** Socket sends that failed or timed out and went to the RPC path. */
  fallbacks: number;
  /** Deliveries that failed both ways (or were refused). */
  failed: number;
}

/**
 * A running bridge, as returned by `bridge`.
 *
 * @example
 * ```ts
 * const b: Bridge = bridge(queue, { wsUrl: "ws://worker:9000/" });
 * const report = await b.stop();
 * ```
 */
export interface Bridge {
  readonly stats: BridgeStats;
  readonly downstream: Downstream | undefined;
  readonly relay: RelayClient | undefined;
  /** Settles when the bridge stopped (signal, `stop()`, or the queue closed). */
  readonly done: Promise<Result<PumpReport>>;
  /** Stops the pump (in-flight leases go back at once) and closes the socket. */
  stop(): Promise<Result<PumpReport>>;
}

const DEFAULT_RPC_RETRY = RetryPolicy.exponential({ attempts: 3, initialMs: 250 });

/**
 * Drains a queue into a downstream socket, with the `sluice.v1.Relay`
 * RPC service as fallback — the "SafeTaskQueue → socket bridge" of the seeds, on top of `pump()`
 * (which owns leasing, heartbeats, ack/fail, poison and the per-lease compensation scope).
 *
 * Per lease:
 * 1. Socket path (when `wsUrl`/`downstream` is set): PUBLISH(id = sequence id, payload) under
 *    `withTimeout(sendTimeoutMs)`; the downstream's ACK(id) is success.
 * 2. If that send failed or timed out, the message is withdrawn from the socket at once
 *    (`downstream.rollback(id)`, also registered on the lease's scope so cancel paths are
 *    covered), so a downstream that was slow rather than dead does not process it as well; the
 *    command then goes to the RPC path: `Send` (or `Execute` batches with `rpcMode: "execute"`),
 *    each call under `withTimeout(sendTimeoutMs)`, all under `retry(rpcRetry)` (default 3
 *    attempts, 250 ms doubling; `not_found`, an unknown target queue, is not retried). A refusal
 *    by the downstream itself (NACK/ERROR for that id) is its answer, not an outage, so it fails
 *    the lease without a fallback (as does any socket failure when there is no RPC target).
 * 3. `pump` acks on success and otherwise fails with `requeue: !lease.isPoisoned`, so after
 *    `maxRetries` deliveries the item is in the poison queue with the last error (the RPC error;
 *    `metadata.socketError` keeps why the socket path failed).
 * Stopping (signal or `stop()`) cancels the handlers; their leases go back at once, not counted.
 * The RPC commands carry an idempotency key per message (`commandKey`), so a Sluice on the far
 * side never enqueues the same delivery twice across RPC retries.
 *
 * @example
 * ```ts
 * const b = bridge(queue, { wsUrl: "ws://worker:9000/", rpcUrl: "http://worker:8787", concurrency: 8 });
 * // … later
 * const report = await b.stop(); // Result<PumpReport>: acked / failed / canceled counts
 * ```
 */
export function bridge(queue: SafeTaskQueue<Uint8Array>, options: BridgeOptions): Bridge {
  const headers = authHeaders(options);
  const downstream =
    options.downstream ??
    (options.wsUrl === undefined
      ? undefined
      : new Downstream({
          url: options.wsUrl,
          clock: queue.options.clock,
          pingIntervalMs: options.pingIntervalMs,
          socketFactory: options.socketFactory,
          headers,
          onEvent: options.onEvent,
        }));
  const relay = options.relay ?? (options.rpcUrl === undefined ? undefined : new RelayClient({ baseUrl: options.rpcUrl, headers }));
  if (downstream === undefined && relay === undefined) throw new TypeError("bridge: give wsUrl/downstream, rpcUrl/relay, or both");
  const clock = queue.options.clock;
  const sendTimeoutMs = options.sendTimeoutMs ?? 3000;
  const rpcRetry = options.rpcRetry ?? DEFAULT_RPC_RETRY;
  const batcher = relay && options.rpcMode === "execute" ? new ExecuteBatcher(relay, { callTimeoutMs: sendTimeoutMs, clock }) : undefined;
  const stats: BridgeStats = { viaSocket: 0, viaRpc: 0, fallbacks: 0, failed: 0 };
  const metrics = bridgeMetrics(queue);
  const link = linkSignal(options.signal);

  const viaRpc = (lease: Lease<Uint8Array>, signal: AbortSignal) => {
    const command = commandOf(lease, options.targetQueue);
    return retry(
      (_attempt, retrySignal) =>
        withTimeout((callSignal) => (batcher ? batcher.submit(command, callSignal) : relay!.send(command, { signal: callSignal })), sendTimeoutMs, {
          signal: retrySignal,
          clock,
        }),
      rpcRetry,
      { signal, clock, isRetryable: retryableRpcError },
    );
  };

  const handle = async (lease: Lease<Uint8Array>, { signal, scope }: PumpContext): Promise<Result<void>> => {
    let socketError: SluiceError | undefined;
    if (downstream !== undefined) {
      const id = lease.sequenceId;
      const sent = await withTimeout((s) => downstream.send(id, lease.payload, { signal: s }), sendTimeoutMs, { signal, clock, scope });
      if (sent.ok) {
        stats.viaSocket++;
        metrics.socket.inc();
        return sent;
      }
      if (signal.aborted) return sent;
      // The downstream answered "no" for this message: that is its verdict, not an outage.
      if (sent.error.metadata?.by === "downstream" || relay === undefined) {
        stats.failed++;
        return sent;
      }
      socketError = sent.error;
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
      stats.fallbacks++;
      metrics.fallbacks.inc();
    }
    const sent = await viaRpc(lease, signal);
    if (sent.ok) {
      stats.viaRpc++;
      metrics.rpc.inc();
      return sent;
    }
    if (!signal.aborted) stats.failed++;
    if (socketError === undefined) return sent;
    return err({ ...sent.error, metadata: { ...sent.error.metadata, socketError: `${socketError.code}: ${socketError.message}` } });
  };

  const done = pump(queue, handle, { concurrency: options.concurrency ?? 8, signal: link.signal, name: `${queue.name} bridge` }).then(async (report) => {
    link.dispose();
    await downstream?.close();
    return report;
  });
  return {
    stats,
    downstream,
    relay,
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

// An unknown target queue is a configuration error: retrying the call cannot fix it.
function retryableRpcError(error: SluiceError): boolean {
  return error.code !== "not_found" && isRetryableError(error);
}

function bridgeMetrics(queue: SafeTaskQueue<Uint8Array>): { socket: Cell; rpc: Cell; fallbacks: Cell } {
  const registry = queue.metrics.registry;
  const labels = { queue: queue.name, role: queue.options.role };
  const delivered = registry.counter("sluice_bridge_delivered_total", "Bridge deliveries taken by the downstream, by path (socket or rpc)");
  return {
    socket: delivered.labels({ ...labels, path: "socket" }),
    rpc: delivered.labels({ ...labels, path: "rpc" }),
    fallbacks: registry.counter("sluice_bridge_fallbacks_total", "Bridge socket sends that failed or timed out and went to the RPC fallback").labels(labels),
  };
}

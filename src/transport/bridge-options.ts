/**
 * The types of `bridge()` (options, the leadership fence, stats, the running bridge) and
 * `authHeaders`.
 *
 * @module
 */
import type { MetricsRegistry } from "../queue/metrics/registry.ts";
import type { PumpReport } from "../queue/pump.ts";
import type { Result } from "../result/result.ts";
import type { RetryPolicy } from "../result/retry-policy.ts";
import type { CircuitBreaker, CircuitBreakerOptions } from "./circuit-breaker.ts";
import type { Downstream, DownstreamEvent, DownstreamSocketFactory } from "./downstream.ts";
import type { RelayClient } from "./relay-client.ts";

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
  /**
   * Leadership fencing (the server sets it for a queue's bridge: scope `bridge/<queue>`): every
   * send carries the term — a FENCE frame first on every socket connection, `scope` + `term` on
   * every RPC call — nothing is sent once `isCurrent()` is false, and a downstream's refusal of
   * the term (it saw a higher one) calls `fenced()`; both put the lease back uncounted.
   */
  readonly fence?: BridgeFence;
}

/**
 * The leadership term a bridge sends under (`LeaderFence` of the leadership coordinator).
 *
 * @example
 * ```ts
 * const fence: BridgeFence = { scope: "bridge/jobs", term: 7, isCurrent: () => coordinator.isLeader("bridge/jobs"), fenced: (why) => console.log(why) };
 * ```
 */
export interface BridgeFence {
  readonly scope: string;
  readonly term: number;
  /** False once this node may no longer send in `term`. */
  isCurrent(): boolean;
  /** A downstream refused `term` (it accepted a higher one): the sender must step down. */
  fenced(reason: string): void;
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
  /** Deliveries put back uncounted because this node no longer leads (or was fenced). */
  fenced: number;
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

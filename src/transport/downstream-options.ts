/**
 * The types of `Downstream` (options, events, stats, state) and its default socket factory.
 *
 * @module
 */
import type { Clock } from "../result/clock.ts";
import type { SluiceError } from "../result/errors.ts";
import { RetryPolicy } from "../result/retry-policy.ts";
import type { FrameCodec } from "../wasm/mod.ts";
import type { FencePayload } from "../protocol/fence.ts";
import { globalWebSocket, type SocketLike } from "./socket-like.ts";

/**
 * Makes a (connecting) socket; `init.headers` go on the upgrade request. A plain `SocketFactory`
 * (`(url) => SocketLike`) fits too, and then ignores them.
 *
 * @example
 * ```ts
 * const factory: DownstreamSocketFactory = (url, init) => new WebSocket(url, { headers: init?.headers } as never);
 * ```
 */
export type DownstreamSocketFactory = (url: string, init?: { readonly headers?: Readonly<Record<string, string>> }) => SocketLike;

/**
 * The default `socketFactory`: the global WebSocket, with the upgrade's headers where there are
 * any (Bun's and Deno's constructors take `{ headers }` as their second argument; a browser's
 * would not: pass a factory there).
 *
 * @example
 * ```ts
 * const socket = defaultFactory("ws://127.0.0.1:8787/v1/queues/jobs/ws", { headers: { authorization: "Bearer …" } });
 * ```
 */
export const defaultFactory: DownstreamSocketFactory = (url, init) =>
  init?.headers === undefined || Object.keys(init.headers).length === 0
    ? globalWebSocket(url)
    : (new (WebSocket as unknown as new (url: string, options: object) => SocketLike)(url, { headers: init.headers }));

/**
 * Options of `Downstream`.
 *
 * @example
 * ```ts
 * new Downstream({ url: "wss://worker.internal/sluice", pingIntervalMs: 0, connectTimeoutMs: 2000 });
 * ```
 */
export interface DownstreamOptions {
  /** ws: or wss: URL of the downstream. */
  readonly url: string;
  readonly clock?: Clock;
  /** PING interval; a PING unanswered by the next tick closes the socket. 0 turns heartbeats off. Default 15000. */
  readonly pingIntervalMs?: number;
  /** Wait after the n-th failed connection attempt before the next (its `attempts` caps n). Default 100 ms doubling to 5 s. */
  readonly reconnect?: RetryPolicy;
  /** How long one connection attempt may take. Default 5000. */
  readonly connectTimeoutMs?: number;
  /** How sockets are made. Default: the global `WebSocket`. */
  readonly socketFactory?: DownstreamSocketFactory;
  /** Headers of the WebSocket upgrade request, e.g. `{ authorization: "Bearer …" }`; never logged. */
  readonly headers?: Readonly<Record<string, string>>;
  readonly codec?: FrameCodec;
  /** Connection events, for logs. */
  readonly onEvent?: (event: DownstreamEvent) => void;
  /**
   * Leadership fencing: the scope and term the sender leads under, sent as a FENCE frame first
   * on every connection (and again by `fence()` when the term changes). Default: none.
   */
  readonly fence?: FencePayload;
}

/**
 * What `onEvent` reports.
 *
 * @example
 * ```ts
 * const onEvent = (e: DownstreamEvent) => { if (e.type === "down") log(e.reason.code, e.failedSends); };
 * ```
 */
export type DownstreamEvent =
  | { readonly type: "open"; readonly connection: number }
  | { readonly type: "down"; readonly connection: number; readonly reason: SluiceError; readonly failedSends: number }
  | { readonly type: "connect-failed"; readonly error: SluiceError; readonly retryInMs: number };

/**
 * Counters of one `Downstream`.
 *
 * @example
 * ```ts
 * const { sent, acked, receipts, refused } = downstream.stats;
 * ```
 */
export interface DownstreamStats {
  sent: number;
  /** Sends confirmed, by an ACK or a RECEIPT (whichever came first). */
  acked: number;
  /** Of `acked`, those a RECEIPT confirmed (a downstream Sluice answers PUBLISH with RECEIPT). */
  receipts: number;
  /** Sends the downstream answered with GOAWAY (id): it did not take them. */
  turnedAway: number;
  refused: number;
  rollbacks: number;
  connections: number;
  missedPongs: number;
}

/**
 * Connection state as `state` reports it.
 *
 * @example
 * ```ts
 * if (downstream.state === "down") useRpc();
 * ```
 */
export type DownstreamState = "idle" | "connecting" | "open" | "down" | "closed";

/**
 * The default `reconnect` policy: 100 ms after the first failed connection attempt, doubling,
 * at most 3.2 s (the 6th step) between attempts.
 *
 * @example
 * ```ts
 * DEFAULT_RECONNECT.delayAfter(3); // 400
 * ```
 */
export const DEFAULT_RECONNECT = RetryPolicy.exponential({ attempts: 6, initialMs: 100, factor: 2, maxMs: 5000 });

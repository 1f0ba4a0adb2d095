/**
 * Options shared by the client SDK's producers and consumers, and the URLs they talk to.
 *
 * @example
 * ```ts
 * const options: ClientOptions = { url: "http://127.0.0.1:8787", queue: "jobs", token: "s3cret" };
 * queueSocketUrl(options); // "ws://127.0.0.1:8787/v1/queues/jobs/ws?token=s3cret"
 * ```
 */
import { type Clock, systemClock } from "../result/clock.ts";
import { RetryPolicy } from "../result/retry-policy.ts";
import type { ClientEventListener } from "./events.ts";
import type { BatchOption } from "./frame-sender.ts";

/**
 * A WebSocket class: the runtime's global `WebSocket`, or one you pass in, such as the `ws`
 * package's on Node 20 (which has no global `WebSocket`).
 *
 * @example
 * ```ts
 * import { WebSocket } from "ws";
 * const impl: WebSocketConstructor = WebSocket;
 * ```
 */
export type WebSocketConstructor = new (url: string) => unknown;

/**
 * Where and how to connect; shared by `Producer`, `Consumer` and `DuplexProducer`.
 *
 * @example
 * ```ts
 * const options: ClientOptions = { url: "http://127.0.0.1:8787", queue: "jobs", onEvent: console.log };
 * ```
 */
export interface ClientOptions {
  /** The server's base URL (http: or https:). */
  readonly url: string;
  /** Queue name. */
  readonly queue: string;
  /** Bearer token, when the server has auth on. WebSockets send it as `?token=` (the WebSocket API cannot set headers). */
  readonly token?: string;
  /** How (re)connecting is retried. Default: 5 attempts, 100 ms doubling to 2 s. */
  readonly reconnect?: RetryPolicy;
  readonly clock?: Clock;
  /** The WebSocket class to connect with. Default: the global `WebSocket` (Bun, Deno, Node 22+, browsers). */
  readonly WebSocket?: WebSocketConstructor;
  /** The `fetch` to use (HTTP duplex, and finding out why a WebSocket was refused). Default: the global `fetch`. */
  readonly fetch?: typeof fetch;
  /** Told about connections, unanswered errors, a consumer's end and a duplex fallback (`ClientEvent`). */
  readonly onEvent?: ClientEventListener;
  /**
   * WebSocket batching: the frames of one event-loop turn (PUBLISH; ACK, NACK, TOUCH, CREDIT)
   * leave as one message, sent at the end of the turn or as soon as it would pass its caps.
   * Default `true` (64 KiB / 256 frames); caps of your own (`{ maxBytes, maxFrames }`); `false`:
   * one frame per message, sent at once.
   */
  readonly batch?: BatchOption;
}

/**
 * Default reconnect policy: bounded, so a client of a server that is gone gives up.
 *
 * @example
 * ```ts
 * new Consumer({ url, queue: "jobs", reconnect: DEFAULT_RECONNECT });
 * ```
 */
export const DEFAULT_RECONNECT = RetryPolicy.exponential({ attempts: 5, initialMs: 100, factor: 2, maxMs: 2000, jitter: 0.2 });

/**
 * The WebSocket URL of a queue.
 *
 * @example
 * ```ts
 * queueSocketUrl({ url: "https://sluice.example", queue: "q" }); // "wss://sluice.example/v1/queues/q/ws"
 * ```
 */
export function queueSocketUrl(options: ClientOptions): string {
  const url = new URL(`/v1/queues/${encodeURIComponent(options.queue)}/ws`, options.url);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  if (options.token !== undefined) url.searchParams.set("token", options.token);
  return url.toString();
}

/**
 * The HTTP URL of a queue sub-resource (`stream`, `messages`, …).
 *
 * @example
 * ```ts
 * queueHttpUrl({ url: "http://h:1", queue: "q" }, "stream"); // "http://h:1/v1/queues/q/stream"
 * ```
 */
export function queueHttpUrl(options: ClientOptions, path: string): string {
  return new URL(`/v1/queues/${encodeURIComponent(options.queue)}/${path}`, options.url).toString();
}

/**
 * The clock of the options, or the system clock.
 *
 * @example
 * ```ts
 * clockOf({ url, queue }).now();
 * ```
 */
export function clockOf(options: ClientOptions): Clock {
  return options.clock ?? systemClock;
}

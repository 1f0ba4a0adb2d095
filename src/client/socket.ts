import type { Result } from "../result/result.ts";
import { globalWebSocket, openSocketLike } from "../transport/socket-like.ts";

/**
 * Opens a binary WebSocket with the runtime's global `WebSocket` (Bun, Deno, Node 22+,
 * browsers), as a Result: resolves once open, or with `unavailable` when it fails to open, and
 * `canceled` when the signal aborts first.
 *
 * @example
 * ```ts
 * const opened = await openSocket("ws://127.0.0.1:8787/v1/queues/default/ws", { signal });
 * if (opened.ok) opened.value.send(frame);
 * ```
 */
export function openSocket(url: string, options: { signal?: AbortSignal } = {}): Promise<Result<WebSocket>> {
  // The global WebSocket is a SocketLike; the cast only restores its full DOM type for the SDK.
  return openSocketLike(globalWebSocket, url, options) as unknown as Promise<Result<WebSocket>>;
}

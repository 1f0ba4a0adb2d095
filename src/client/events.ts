/**
 * What the SDK reports besides the `Result`s its calls return: connections made and lost, errors
 * the server sends that answer no pending call, deliveries a consumer cannot take, a consumer
 * that stopped for good, and a duplex producer that fell back to WebSocket. Pass `onEvent` in the
 * options of any producer or consumer to receive them.
 *
 * @example
 * ```ts
 * const consumer = new Consumer({ url, queue: "jobs", onEvent: (e) => e.type === "ended" && alert(e.error.code) });
 * ```
 *
 * @module
 */
import type { SluiceError } from "../result/errors.ts";

/**
 * One SDK event. `error` carries the real code (`unauthorized`, `frame.too_large`, …) and,
 * for refused connections, `metadata.status` (the HTTP status of the refusal).
 *
 * @example
 * ```ts
 * const onEvent = (e: ClientEvent) => {
 *   if (e.type === "fallback") console.warn(`duplex → websocket: ${e.error.message}`);
 * };
 * ```
 */
export type ClientEvent =
  /** A connection opened (a WebSocket, or the response of an HTTP duplex stream). */
  | { readonly type: "connected"; readonly transport: "websocket" | "duplex" }
  /** A connection that was open is gone; the client reconnects when it needs to. */
  | { readonly type: "disconnected"; readonly transport: "websocket" | "duplex"; readonly error: SluiceError }
  /** An error no pending call was waiting for (an ERROR frame with id 0, a delivery over `maxFrameBytes`, …). `id` is the frame's id or 0. */
  | { readonly type: "error"; readonly error: SluiceError; readonly id: number }
  /** A consumer stopped for good: its connection was refused (401, 404, 501), no WebSocket exists, or reconnecting gave up. */
  | { readonly type: "ended"; readonly error: SluiceError }
  /** A `DuplexProducer` stopped using HTTP duplex (stalled or refused) and publishes over WebSocket from now on. */
  | { readonly type: "fallback"; readonly from: "duplex"; readonly to: "websocket"; readonly error: SluiceError };

/**
 * A listener for `ClientEvent`s; called synchronously, and what it throws is ignored.
 *
 * @example
 * ```ts
 * const events: ClientEvent[] = [];
 * const listener: ClientEventListener = (e) => events.push(e);
 * ```
 */
export type ClientEventListener = (event: ClientEvent) => void;

/**
 * Calls `listener` (if any) with `event`, shielding the SDK from what it throws.
 *
 * @example
 * ```ts
 * emit(options.onEvent, { type: "ended", error });
 * ```
 */
export function emit(listener: ClientEventListener | undefined, event: ClientEvent): void {
  if (listener === undefined) return;
  try {
    listener(event);
  } catch {
    // A listener's bug must not break the connection that reported to it.
  }
}

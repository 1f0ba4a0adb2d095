import type { ReceiptPayload } from "../protocol/messages.ts";

/**
 * `FramePeer`: the two things a transport session needs from a WebSocket, whatever the runtime
 * (Bun's ServerWebSocket, Deno's WebSocket, hono's WSContext, a test double).
 *
 * @example
 * ```ts
 * const peer: FramePeer = { send: (bytes) => ws.send(bytes), close: (code, reason) => ws.close(code, reason) };
 * const corked: FramePeer = { ...peer, batch: (sends) => void bunSocket.cork(sends) };
 * ```
 */
export interface FramePeer {
  /**
   * Sends one binary message (one frame). May throw once the socket is closed. Returns false when
   * the runtime dropped the frame instead of sending or buffering it (Bun's `send` returns 0 past
   * its backpressure limit); anything else counts as handed over.
   */
  send(frame: Uint8Array): boolean | void;
  close(code: number, reason: string): void;
  /**
   * True when `send` has copied the bytes by the time it returns (Bun's `ServerWebSocket`), so
   * the caller may build the next frame in the same buffer. Leave unset when the peer may keep
   * the array it was given (a test double, a stream queue).
   */
  readonly copiesOnSend?: boolean;
  /**
   * Optional: runs `sends` so that the frames it sends leave together (one write), e.g. Bun's
   * `ServerWebSocket.cork`. Without it every send may be its own write.
   */
  batch?(sends: () => void): void;
  /**
   * Optional: bytes sent but still queued in the runtime (Bun's `getBufferedAmount()`, the
   * standard `bufferedAmount`). A consumer whose buffer passes 1 MiB gets no deliveries until it
   * drains: a message buffered for a consumer that is not reading is not a delivery in progress.
   */
  bufferedAmount?(): number;
  /**
   * Optional: sends the RECEIPT of PUBLISH `id` (a batching peer may answer a run of consecutive
   * ones with one RECEIPT range, see `ReplyBatcher`). Without it the caller sends the frame.
   */
  receipt?(id: number, receipt: ReceiptPayload): boolean;
}

/**
 * Sends without throwing: a frame to a socket that is already gone, or that the runtime dropped,
 * is simply not delivered (the caller undoes what it carried). Returns false then.
 *
 * @example
 * ```ts
 * if (!safeSend(peer, frame)) markGone();
 * ```
 */
export function safeSend(peer: FramePeer, frame: Uint8Array): boolean {
  try {
    return peer.send(frame) !== false;
  } catch {
    return false;
  }
}

/**
 * The WebSocket peer of a connection on Bun's `ServerWebSocket`: its own `send` (which reports a
 * dropped frame as 0), `cork` (a batch of deliveries leaves in one write), `getBufferedAmount`,
 * and delivery coalescing after the I/O callbacks (`setImmediate`). Runtime-specific, so it lives
 * here and is injected into the app (`createApp(config, { webSocketPeer: bunWebSocketPeer })`).
 *
 * @example
 * ```ts
 * const app = createApp(config, { broker, upgradeWebSocket, webSocketPeer: bunWebSocketPeer });
 * ```
 */
import type { ServerWebSocket } from "bun";
import type { WSContext } from "hono/ws";
import type { WebSocketPeer } from "../server/routes/ws.ts";

// After the I/O callbacks now running (no 1 ms timer clamp).
function afterIo(run: () => void): void {
  setImmediate(run);
}

/**
 * Builds the peer of one Bun WebSocket connection.
 *
 * @example
 * ```ts
 * const { peer, coalesce } = bunWebSocketPeer(ws);
 * ```
 */
export function bunWebSocketPeer(ws: WSContext): WebSocketPeer {
  const raw = ws.raw as ServerWebSocket<unknown>;
  return {
    peer: {
      // Bun's send returns 0 for a dropped frame, which the session must know (hono's context send hides it).
      send: (frame) => raw.send(frame) !== 0,
      close: (code, reason) => ws.close(code, reason),
      batch: (sends) => void raw.cork(sends),
      // Bun copies what it sends before returning (test/integration/bun-send-copies.test.ts).
      copiesOnSend: true,
      bufferedAmount: () => raw.getBufferedAmount(),
    },
    // Let a burst of publishes finish before delivering it, corked.
    coalesce: afterIo,
  };
}

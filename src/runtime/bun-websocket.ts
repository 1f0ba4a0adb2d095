import type { ServerWebSocket } from "bun";
import { WSContext, type WSEvents } from "hono/ws";

interface SocketData {
  readonly events: WSEvents<ServerWebSocket<SocketData>>;
  readonly url: URL;
  readonly protocol: string;
  ctx?: WSContext<ServerWebSocket<SocketData>>;
  message?: { data: string | Uint8Array | undefined };
}

function contextOf(ws: ServerWebSocket<SocketData>): WSContext<ServerWebSocket<SocketData>> {
  ws.data.ctx ??= new WSContext({
    send: (source, options) => void ws.send(source as string | Uint8Array<ArrayBuffer>, options?.compress),
    raw: ws,
    // A getter, not a snapshot: the context lives as long as the connection.
    get readyState() {
      return ws.readyState as 0 | 1 | 2 | 3;
    },
    url: ws.data.url,
    protocol: ws.data.protocol,
    close: (code, reason) => ws.close(code, reason),
  });
  return ws.data.ctx;
}

// Handler errors go to the route's onError, as with hono's own adapter; without one they throw.
function reportError(ws: ServerWebSocket<SocketData>, error: unknown): void {
  const handler = ws.data.events.onError;
  if (handler === undefined) throw error;
  const event = new Event("error") as Event & { error?: unknown };
  event.error = error;
  handler(event, contextOf(ws));
}

function settle(ws: ServerWebSocket<SocketData>, result: unknown): void {
  if (result instanceof Promise) result.catch((error: unknown) => reportError(ws, error));
}

/**
 * Bun `websocket` handlers for routes upgraded with hono's `upgradeWebSocket` from `hono/bun`:
 * a lean replacement for hono's own handler object (hono's `upgradeWebSocket` stores the route's
 * event handlers in `ws.data.events`, which these handlers call).
 *
 * Why: hono's Bun handler builds a `MessageEvent` and a fresh `WSContext` for every message and
 * materialises `message.buffer` (an ArrayBuffer copy of Bun's Buffer) — together about a sixth
 * of the server's CPU time per message under load (bench/HISTORY.md, issue 7). Here the
 * context and the event object are made once per connection (no closure or object per message:
 * garbage sets the pace of the collector's pauses), and the message reaches the route as the
 * `Uint8Array` Bun hands over (`event.data`), which `WsSession.handleMessage` takes as it is.
 *
 * @example
 * ```ts
 * import { upgradeWebSocket } from "hono/bun";
 * import { websocket } from "./bun-websocket.ts";
 * Bun.serve({ fetch: app.fetch, websocket: { ...websocket, maxPayloadLength: 16 << 20 } });
 * ```
 */
export const websocket = {
  open(ws: ServerWebSocket<SocketData>): void {
    const { onOpen } = ws.data.events;
    if (onOpen === undefined) return;
    try {
      settle(ws, onOpen(new Event("open"), contextOf(ws)));
    } catch (error) {
      reportError(ws, error);
    }
  },
  message(ws: ServerWebSocket<SocketData>, message: string | Uint8Array): void {
    const { onMessage } = ws.data.events;
    if (onMessage === undefined) return;
    // Not a real MessageEvent, and one object per connection, refilled per message: routes read
    // `event.data` (a string, or the bytes as Bun gave them) during the call and keep nothing.
    const event = (ws.data.message ??= { data: undefined });
    event.data = message;
    try {
      settle(ws, onMessage(event as unknown as MessageEvent<never>, contextOf(ws)));
    } catch (error) {
      reportError(ws, error);
    } finally {
      event.data = undefined;
    }
  },
  close(ws: ServerWebSocket<SocketData>, code: number, reason: string): void {
    const { onClose } = ws.data.events;
    if (onClose === undefined) return;
    try {
      settle(ws, onClose(new CloseEvent("close", { code, reason }), contextOf(ws)));
    } catch (error) {
      reportError(ws, error);
    }
  },
};

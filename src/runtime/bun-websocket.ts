import type { ServerWebSocket } from "bun";
import { WSContext, type WSEvents } from "hono/ws";

interface SocketData {
  readonly events: WSEvents<ServerWebSocket<SocketData>>;
  readonly url: URL;
  readonly protocol: string;
  ctx?: WSContext<ServerWebSocket<SocketData>>;
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
function guard(ws: ServerWebSocket<SocketData>, run: () => unknown): void {
  const onError = (error: unknown) => {
    const handler = ws.data.events.onError;
    if (handler === undefined) throw error;
    const event = new Event("error") as Event & { error?: unknown };
    event.error = error;
    handler(event, contextOf(ws));
  };
  try {
    const result = run();
    if (result instanceof Promise) result.catch(onError);
  } catch (error) {
    onError(error);
  }
}

/**
 * Bun `websocket` handlers for routes upgraded with hono's `upgradeWebSocket` from `hono/bun`:
 * a lean replacement for hono's own handler object (hono's `upgradeWebSocket` stores the route's
 * event handlers in `ws.data.events`, which these handlers call).
 *
 * Why: hono's Bun handler builds a `MessageEvent` and a fresh `WSContext` for every message and
 * materialises `message.buffer` (an ArrayBuffer copy of Bun's Buffer) — together about a sixth
 * of the server's CPU time per message under load (bench/HISTORY.md, issue 7). Here the
 * context is built once per connection, and the message reaches the route as the `Uint8Array`
 * Bun hands over (`event.data`), which `WsSession.handleMessage` takes as it is.
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
    if (onOpen) guard(ws, () => onOpen(new Event("open"), contextOf(ws)));
  },
  message(ws: ServerWebSocket<SocketData>, message: string | Uint8Array): void {
    const { onMessage } = ws.data.events;
    // Not a real MessageEvent: routes read `event.data` only (a string, or the bytes as Bun gave them).
    if (onMessage) guard(ws, () => onMessage({ data: message } as unknown as MessageEvent<never>, contextOf(ws)));
  },
  close(ws: ServerWebSocket<SocketData>, code: number, reason: string): void {
    const { onClose } = ws.data.events;
    if (onClose) guard(ws, () => onClose(new CloseEvent("close", { code, reason }), contextOf(ws)));
  },
};

import type { ServerWebSocket } from "bun";
import type { Server } from "bun";
import type { UpgradeWebSocket } from "hono/ws";
import { defineWebSocketHelper, WSContext, type WSEvents } from "hono/ws";

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
 * hono's `upgradeWebSocket` for Bun — what `hono/bun` exports, without importing `hono/bun`,
 * whose index also loads its static-file and SSG helpers (about 1 MiB of resident memory at
 * start that a Sluice server never uses). The upgrade stores the route's event handlers, the URL
 * and the first subprotocol in `ws.data`, as hono's does; `websocket` below calls them.
 *
 * @example
 * ```ts
 * const app = createApp(config, { broker, upgradeWebSocket });
 * Bun.serve({ fetch: (request, server) => app.fetch(request, server), websocket });
 * ```
 */
export const upgradeWebSocket: UpgradeWebSocket<ServerWebSocket<SocketData>> = defineWebSocketHelper((c, events) => {
  const env = c.env as Server<SocketData> | { server: Server<SocketData> } | undefined;
  const server = env !== undefined && "server" in env ? env.server : env;
  if (server === undefined) throw new TypeError("env has to include the 2nd argument of fetch.");
  const data = { events, url: new URL(c.req.url), protocol: c.req.header("sec-websocket-protocol")?.split(",")[0]?.trim() ?? "" };
  if (server.upgrade(c.req.raw, { data } as never)) return new Response(null);
});

/**
 * Bun `websocket` handlers for routes upgraded with `upgradeWebSocket` above (or hono's own):
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
 * import { upgradeWebSocket, websocket } from "./bun-websocket.ts";
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

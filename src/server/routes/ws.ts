import type { Hono } from "hono";
import type { UpgradeWebSocket, WSContext } from "hono/ws";
import { sluiceError } from "../../result/errors.ts";
import { WsSession } from "../../transport/ws-session.ts";
import type { FramePeer } from "../../transport/frame-peer.ts";
import { JSON_SUBPROTOCOL, jsonError, jsonPeer, jsonToFrame } from "../../transport/json-protocol.ts";
import { err } from "../../result/result.ts";
import type { Broker } from "../broker.ts";
import { errorResponse } from "../http-errors.ts";
import { lookupQueue } from "./queue-lookup.ts";

/**
 * How the route talks to one connection's socket: the frame peer and, optionally, when to
 * deliver (see `WsSessionOptions.coalesce`). Runtime-specific ones live in src/runtime/ (Bun's
 * in `bun-peer.ts`); the default works on any runtime through hono's `WSContext`.
 *
 * @example
 * ```ts
 * const factory = (ws: WSContext): WebSocketPeer => ({ peer: { send: (f) => ws.send(f), close: (c, r) => ws.close(c, r) } });
 * ```
 */
export interface WebSocketPeer {
  readonly peer: FramePeer;
  readonly coalesce?: (run: () => void) => void;
}

/** The client side of a `sluice.json.v1` connection: text in, frames out; unreadable messages answered (64 in a row close it). */
class JsonText {
  #bad = 0;
  constructor(private readonly ws: WSContext) {}

  toFrame(data: unknown): Uint8Array | undefined {
    const frame = typeof data === "string" ? jsonToFrame(data) : err("frame.malformed", `this connection speaks ${JSON_SUBPROTOCOL}: send JSON text messages, not binary`);
    if (frame.ok) {
      this.#bad = 0;
      return frame.value;
    }
    if (++this.#bad > 64) this.ws.close(1008, "64 unreadable messages in a row");
    else this.ws.send(jsonError(frame.error));
    return undefined;
  }
}

/**
 * The runtime-neutral peer: hono's `WSContext` send/close, and the standard `bufferedAmount` of
 * the underlying socket where there is one (Deno's and the web's `WebSocket`).
 *
 * @example
 * ```ts
 * registerWsRoute(app, broker, upgradeWebSocket, standardWebSocketPeer);
 * ```
 */
export function standardWebSocketPeer(ws: WSContext): WebSocketPeer {
  const raw = ws.raw as { binaryType?: string; bufferedAmount?: number } | undefined;
  // Deno's server socket starts with binaryType "blob"; ArrayBuffers are cheaper to decode.
  if (raw?.binaryType === "blob") raw.binaryType = "arraybuffer";
  return {
    peer: {
      send: (frame) => ws.send(frame as Uint8Array<ArrayBuffer>),
      close: (code, reason) => ws.close(code, reason),
      bufferedAmount: () => raw?.bufferedAmount ?? 0,
    },
  };
}

/**
 * Registers `GET /v1/queues/:queue/ws`, the WebSocket endpoint for producers and consumers (protocol in
 * `WsSession`). The upgrade itself is runtime-specific, so it is injected: the Bun entry passes
 * `upgradeWebSocket` from `hono/bun`, the Deno entry the one from `hono/deno`. Without one the
 * route answers 501. Auth (when configured) is checked before the upgrade: 401, no socket.
 *
 * @example
 * ```ts
 * import { upgradeWebSocket } from "hono/bun";
 * registerWsRoute(app, broker, upgradeWebSocket);
 * ```
 */
export function registerWsRoute(
  app: Hono,
  broker: Broker,
  upgradeWebSocket: UpgradeWebSocket<unknown> | undefined,
  peerOf: (ws: WSContext) => WebSocketPeer = standardWebSocketPeer,
): void {
  app.get("/v1/queues/:queue/ws", async (c, next) => {
    const queue = lookupQueue(c, broker);
    if (queue instanceof Response) return queue;
    if (upgradeWebSocket === undefined) {
      return errorResponse(c, sluiceError("unavailable", "WebSocket upgrades are not wired into this server"), 501);
    }
    if (c.req.header("upgrade")?.toLowerCase() !== "websocket") {
      return errorResponse(c, sluiceError("validation", "this route needs a WebSocket upgrade request"), 426);
    }
    if (!broker.accepting) return errorResponse(c, sluiceError("unavailable", "server is shutting down"));
    let session: WsSession | undefined;
    let unregister: (() => void) | undefined;
    let text: JsonText | undefined;
    // From the request, like the runtimes choose it (the first one asked for): the context's
    // `protocol` is not set yet when Deno opens the socket.
    const wantsJson = c.req.header("sec-websocket-protocol")?.split(",")[0]?.trim() === JSON_SUBPROTOCOL;
    const upgrade = upgradeWebSocket(() => ({
      onOpen(_event, ws) {
        const native = peerOf(ws);
        // A client that asked for the JSON text sub-protocol speaks only it; the session still
        // runs on frames, translated both ways.
        text = wantsJson ? new JsonText(ws) : undefined;
        const peer = text === undefined ? native.peer : jsonPeer({ sendText: (t) => ws.send(t), close: (code, reason) => ws.close(code, reason), bufferedAmount: native.peer.bufferedAmount });
        session = new WsSession({
          queue,
          codec: broker.codec,
          peer,
          coalesce: text === undefined ? native.coalesce : undefined,
          accepting: () => broker.accepting,
          memoryBudget: broker.memoryBudget,
          fences: broker.fences,
        });
        unregister = broker.register(session);
      },
      onMessage(event) {
        if (text === undefined) return session?.handleMessage(event.data);
        const frame = text.toFrame(event.data);
        if (frame !== undefined) session?.handleMessage(frame);
      },
      onClose() {
        unregister?.();
        void session?.closed();
      },
    }));
    const upgraded = await upgrade(c, next);
    return upgraded ?? errorResponse(c, sluiceError("validation", "the WebSocket upgrade was refused by the runtime"), 400);
  });
}

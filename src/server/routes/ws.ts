import type { Hono } from "hono";
import type { UpgradeWebSocket } from "hono/ws";
import { sluiceError } from "../../result/errors.ts";
import { WsSession } from "../../transport/ws-session.ts";
import type { Broker } from "../broker.ts";
import { errorResponse } from "../http-errors.ts";
import { lookupQueue } from "./queue-lookup.ts";

type Immediate = (callback: () => void) => unknown;
const setImmediateFn = (globalThis as { setImmediate?: Immediate }).setImmediate;

// After the I/O callbacks now running (no 1 ms timer clamp); only used where setImmediate exists (Bun).
function afterIo(run: () => void): void {
  setImmediateFn!(run);
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
export function registerWsRoute(app: Hono, broker: Broker, upgradeWebSocket: UpgradeWebSocket<unknown> | undefined): void {
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
    const upgrade = upgradeWebSocket(() => ({
      onOpen(_event, ws) {
        // Deno's server socket starts with binaryType "blob"; ArrayBuffers are cheaper to decode.
        const raw = ws.raw as
          | { binaryType?: string; cork?: (sends: () => void) => unknown; send?: unknown; getBufferedAmount?: () => number; bufferedAmount?: number }
          | undefined;
        if (raw?.binaryType === "blob") raw.binaryType = "arraybuffer";
        const rawSend = typeof raw?.send === "function" ? (raw.send.bind(raw) as (frame: Uint8Array) => unknown) : undefined;
        const cork = typeof raw?.cork === "function" && setImmediateFn !== undefined ? raw.cork.bind(raw) : undefined;
        session = new WsSession({
          queue,
          codec: broker.codec,
          peer: {
            // The raw socket's own send where it has one: Bun's returns 0 for a dropped frame,
            // which the session must know (hono's context send hides it).
            send: (frame) =>
              rawSend === undefined ? ws.send(frame as Uint8Array<ArrayBuffer>) : rawSend(frame) !== 0,
            close: (code, reason) => ws.close(code, reason),
            // Bun's ServerWebSocket can cork: a batch of deliveries then leaves in one write.
            batch: cork === undefined ? undefined : (sends) => void cork(sends),
            // Bun's (the socket that corks) copies what it sends before returning, so frames can
            // be built in one reused buffer (test/integration/bun-send-copies.test.ts).
            copiesOnSend: cork !== undefined && rawSend !== undefined,
            // What the runtime still holds for a consumer that is not reading (Bun, or the standard property).
            bufferedAmount: () => raw?.getBufferedAmount?.() ?? raw?.bufferedAmount ?? 0,
          },
          // Where sends can be corked, let a burst of publishes finish before delivering it.
          coalesce: cork === undefined ? undefined : afterIo,
          accepting: () => broker.accepting,
          memoryBudget: broker.memoryBudget,
        });
        unregister = broker.register(session);
      },
      onMessage(event) {
        session?.handleMessage(event.data);
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

/**
 * Test helper: a Sluice app (createApp + Broker, memory storage) served in-process by Bun.serve on
 * a free loopback port, optionally broken the ways a runtime breaks it: its HTTP duplex route
 * `stall`s (answered, never read, never a receipt: the Deno 2.8.3–2.9.5 hang, issue 13) or
 * `refuse`s (501 at once), and/or it has no WebSocket upgrades (`/ws` answers 501).
 *
 * @example
 * ```ts
 * const server = serveApp({ stream: "refuse" });
 * // a DuplexProducer against server.url falls back to WebSocket
 * server.queue("jobs").stats().pending;
 * await server.stop();
 * ```
 */
import { upgradeWebSocket } from "hono/bun";
import { createApp } from "../../src/server/app.ts";
import { Broker } from "../../src/server/broker.ts";
import { loadConfig } from "../../src/server/config.ts";
import type { RelayQueue } from "../../src/queue/relay-queue.ts";
import { websocket } from "../../src/runtime/bun-websocket.ts";

export interface AppServerOptions {
  /** How `POST …/stream` behaves: served (default), `stall` or `refuse`. */
  readonly stream?: "serve" | "stall" | "refuse";
  /** False: no WebSocket upgrades, `/ws` answers 501. Default true. */
  readonly upgrades?: boolean;
  /** The config (default: one queue, `jobs`); storage is always memory. */
  readonly config?: Record<string, unknown>;
}

export interface AppServer {
  readonly url: string;
  /** A queue of the broker. */
  queue(name: string): RelayQueue<Uint8Array>;
  /** Requests that reached `POST …/stream`. */
  streams(): number;
  stop(): Promise<void>;
}

export function serveApp(options: AppServerOptions = {}): AppServer {
  const config = { queues: { jobs: {} }, ...options.config, storage: "memory" };
  const loaded = loadConfig({ fileText: JSON.stringify(config), env: {} });
  if (!loaded.ok) throw new Error(loaded.error.message);
  const broker = new Broker({ config: loaded.value });
  const app = createApp(loaded.value, options.upgrades === false ? { broker } : { broker, upgradeWebSocket });
  const broken = options.stream ?? "serve";
  let streams = 0;
  const http = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    fetch(request, server) {
      if (!new URL(request.url).pathname.endsWith("/stream")) return app.fetch(request, server);
      streams++;
      if (broken === "serve") return app.fetch(request, server);
      if (broken === "refuse") return Response.json({ error: { code: "unavailable", message: "no duplex on this runtime" } }, { status: 501 });
      // Answered, never read, never a receipt.
      return new Response(new ReadableStream({ start() {} }), { headers: { "content-type": "application/vnd.sluice.frames" } });
    },
    websocket,
  });
  return {
    url: `http://127.0.0.1:${http.port}`,
    queue: (name) => {
      const queue = broker.queues.get(name);
      if (queue === undefined) throw new Error(`no queue ${name}`);
      return queue;
    },
    streams: () => streams,
    async stop() {
      http.stop(true);
      await broker.shutdown({ drainMs: 0 });
    },
  };
}

/**
 * The raw-runtime ceiling for the load benchmark: a bare `Bun.serve` WebSocket server that
 * sends every binary message straight back, with no framing, queueing or routing. The load
 * generator drives it with the same client, connection count, window and message size as the
 * Sluice run, so Sluice's throughput can be reported as a fraction of what Bun itself moves.
 *
 * This file deliberately uses `Bun.serve` directly (outside src/runtime/): it is a baseline of
 * the runtime, not part of Sluice.
 *
 * @example
 * ```sh
 * PORT=0 bun bench/load/echo-server.ts   # prints "echo listening on http://127.0.0.1:<port>"
 * ```
 */
import process from "node:process";

const server = Bun.serve({
  port: Number(process.env.PORT ?? 0),
  hostname: "127.0.0.1",
  fetch(request, bunServer) {
    if (bunServer.upgrade(request, { data: undefined })) return undefined;
    return new Response("echo: WebSocket only", { status: 426 });
  },
  websocket: {
    // Same limit as the Sluice Bun entry, so neither side gets a cheaper code path.
    maxPayloadLength: 16 * 1024 * 1024,
    message(ws, message) {
      ws.send(message);
    },
  },
});
console.log(`echo listening on http://127.0.0.1:${server.port}`);
process.on("SIGTERM", () => {
  void server.stop(true);
  process.exit(0);
});

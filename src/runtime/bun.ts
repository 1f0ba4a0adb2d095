/**
 * Bun entry (`npm start`): serves the Sluice app with `Bun.serve` and hono's Bun WebSocket
 * helper, plus the gRPC listener on `SLUICE_GRPC_PORT` when set (grpc-listener.ts), and shuts
 * down gracefully on SIGTERM / SIGINT (exit 0). What the configuration does not use is not
 * loaded (issue 21): the gRPC listener only with a gRPC port, gossip only with seeds or once a
 * peer calls (mesh-start.ts); lifecycle.ts and the app do the same for the rest.
 *
 * @example
 * ```sh
 * PORT=9000 SLUICE_DATA_DIR=/var/lib/sluice bun src/runtime/bun.ts
 * ```
 */
import process from "node:process";
import { upgradeWebSocket, websocket } from "./bun-websocket.ts";
import { bunWebSocketPeer } from "./bun-peer.ts";
import { createApp } from "../server/app.ts";
import { boot, listenUrl, shutdownOnSignal } from "./lifecycle.ts";
import { startMesh } from "./mesh-start.ts";
import { guardMemory } from "./memory-guard.ts";

const log = (line: string) => console.log(line);
const booted = await boot(process.env, log);
if (!booted.ok) {
  console.error(booted.error.message);
  process.exit(1);
}
const { config, broker } = booted.value;
guardMemory(config.memoryBudgetBytes);
// Before the main port, so "listening on" means both are up (plain gRPC needs HTTP/2 trailers).
const grpc = config.grpcPort === undefined ? { ok: true as const, value: undefined } : await (await import("./grpc-listener.ts")).serveGrpc(booted.value, log);
if (!grpc.ok) {
  console.error(grpc.error.message);
  process.exit(1);
}
const app = createApp(config, { broker, upgradeWebSocket, webSocketPeer: bunWebSocketPeer });
const server = Bun.serve({
  port: config.port,
  hostname: config.host,
  fetch: (request, bunServer) => app.fetch(request, bunServer),
  // Bun closes sockets whose message exceeds this; keep it well above the frame limit so an
  // oversize frame gets an ERROR frame.too_large instead of a dropped connection.
  websocket: { ...websocket, maxPayloadLength: Math.max(16 * 1024 * 1024, config.maxFrameBytes * 2 + 1024) },
  // A duplex publish stream is one request body for as long as the producer publishes: Bun's
  // default cap (128 MiB) would cut it. Every route bounds what it reads itself (frames,
  // JSON bodies, Relay calls), so the server-wide cap is lifted.
  maxRequestBodySize: Number.MAX_SAFE_INTEGER,
  // Duplex publish streams may sit idle between bursts.
  idleTimeout: 255,
});
// Gossip first: once "listening on" is logged, the node is in the mesh (or seeding it).
await startMesh(config, broker, server.port ?? config.port, log);
log(`sluice listening on ${listenUrl(config.host, server.port ?? config.port)} (queues: ${[...broker.queues.keys()].join(", ")}; runtime: bun ${Bun.version})`);

const shutdown = shutdownOnSignal(booted.value, log, async (code) => {
  await grpc.value?.close();
  await server.stop(true);
  process.exit(code);
});
process.on("SIGTERM", () => shutdown("SIGTERM"));
process.on("SIGINT", () => shutdown("SIGINT"));

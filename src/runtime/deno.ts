/**
 * Deno entry (`npm run start:deno`): serves the Sluice app with `Deno.serve` and hono's Deno
 * WebSocket helper, plus the gRPC listener on `SLUICE_GRPC_PORT` when set (grpc-listener.ts),
 * and shuts down gracefully on SIGTERM / SIGINT (exit 0).
 *
 * @example
 * ```sh
 * PORT=9000 deno run -A src/runtime/deno.ts
 * ```
 */
import { upgradeWebSocket } from "hono/deno";
import { createApp } from "../server/app.ts";
import { boot, listenUrl, shutdownOnSignal } from "./lifecycle.ts";
import { startMesh } from "./mesh-start.ts";

// The few Deno APIs used here (the type-check runs with Bun's types only).
declare const Deno: {
  env: { toObject(): Record<string, string> };
  version: { deno: string };
  serve(
    options: { port: number; hostname: string; onListen?: (addr: { hostname: string; port: number }) => void },
    handler: (request: Request) => Response | Promise<Response>,
  ): { shutdown(): Promise<void> };
  addSignalListener(signal: "SIGTERM" | "SIGINT", handler: () => void): void;
  exit(code: number): never;
};

const log = (line: string) => console.log(line);
const booted = await boot(Deno.env.toObject(), log);
if (!booted.ok) {
  console.error(booted.error.message);
  Deno.exit(1);
}
const { config, broker } = booted.value;
// Before the main port, so "listening on" means both are up (plain gRPC needs HTTP/2 trailers).
const grpc = config.grpcPort === undefined ? { ok: true as const, value: undefined } : await (await import("./grpc-listener.ts")).serveGrpc(booted.value, log);
if (!grpc.ok) {
  console.error(grpc.error.message);
  Deno.exit(1);
}
const app = createApp(config, { broker, upgradeWebSocket });
Deno.serve(
  {
    port: config.port,
    hostname: config.host,
    onListen: async ({ port }) => {
      // Gossip first: once "listening on" is logged, the node is in the mesh (or seeding it).
      await startMesh(config, broker, port, log);
      log(`sluice listening on ${listenUrl(config.host, port)} (queues: ${[...broker.queues.keys()].join(", ")}; runtime: deno ${Deno.version.deno})`);
    },
  },
  (request) => app.fetch(request),
);

// Exit without server.shutdown(): it waits for open duplex streams, which the drain already answered.
const shutdown = shutdownOnSignal(booted.value, log, async (code) => {
  await grpc.value?.close();
  Deno.exit(code);
});
Deno.addSignalListener("SIGTERM", () => shutdown("SIGTERM"));
Deno.addSignalListener("SIGINT", () => shutdown("SIGINT"));

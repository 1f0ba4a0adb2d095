/**
 * Real loopback downstreams for the bridge tests and benchmark:
 * - `startSocketDownstream`: a `ws` WebSocket server that answers PUBLISH with ACK (same id) and
 *   PING with PONG, counting ACKs per id; it can go silent, hang (no PONG either), be killed
 *   (connections dropped, port closed) and be started again on the same port.
 * - `startRelayDownstream`: a second Sluice app instance (createApp + Bun.serve) whose `jobs`
 *   queue receives what the bridge's RPC fallback sends; restartable on the same port.
 *
 * @example
 * ```ts
 * const socket = await startSocketDownstream();
 * const relay = await startRelayDownstream();
 * bridge(queue, { wsUrl: socket.url, rpcUrl: relay.url });
 * ```
 */
import { WebSocketServer, type WebSocket as WsSocket } from "ws";
import { FrameType } from "../../src/protocol/frame-layout.ts";
import { decodeFrameMessage } from "../../src/protocol/frames.ts";
import { ackFrame, pongFrame } from "../../src/protocol/frame-builders.ts";
import { createApp } from "../../src/server/app.ts";
import { Broker } from "../../src/server/broker.ts";
import { loadConfig } from "../../src/server/config.ts";
import { createJsFrameCodec } from "../../src/wasm/mod.ts";

const codec = createJsFrameCodec();

/** How the socket downstream treats what it receives. */
export type SocketMode = "ack" | "silent" | "hang";

export interface SocketDownstream {
  readonly url: string;
  readonly port: number;
  /** ACK frames sent, per id. */
  readonly acked: Map<number, number>;
  /** Payload of each acked id (text). */
  readonly payloads: Map<number, string>;
  /** PUBLISH frames received and not acked (silent/hang modes), per id. */
  readonly unacked: Set<number>;
  /** Ids withdrawn by the bridge (NACK from the bridge = its rollback). */
  readonly withdrawn: Set<number>;
  mode: SocketMode;
  /** Called after each PUBLISH is handled. */
  onPublish?: (id: number) => void;
  /** Drops every connection without a close handshake and stops listening. */
  kill(): Promise<void>;
  /** Listens again on the same port. */
  restart(): Promise<void>;
  connections(): number;
}

export async function startSocketDownstream(port = 0): Promise<SocketDownstream> {
  let server: WebSocketServer;
  const decoder = new TextDecoder();
  const listen = async (on: number) => {
    server = new WebSocketServer({ port: on, host: "127.0.0.1" });
    await new Promise<void>((resolve, reject) => {
      server.once("listening", () => resolve());
      server.once("error", reject);
    });
    server.on("connection", (ws: WsSocket) => {
      ws.on("message", (data: Buffer) => {
        const frame = decodeFrameMessage(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), codec);
        if (!frame.ok) return;
        const { type, id } = frame.value;
        if (type === FrameType.PING && downstream.mode !== "hang") ws.send(pongFrame(id));
        if (type === FrameType.NACK) downstream.withdrawn.add(id);
        if (type !== FrameType.PUBLISH) return;
        if (downstream.mode === "ack") {
          downstream.acked.set(id, (downstream.acked.get(id) ?? 0) + 1);
          downstream.payloads.set(id, decoder.decode(frame.value.payload));
          downstream.unacked.delete(id);
          ws.send(ackFrame(id));
        } else {
          downstream.unacked.add(id);
        }
        downstream.onPublish?.(id);
      });
    });
    return (server.address() as { port: number }).port;
  };
  const bound = await listen(port);
  const downstream: SocketDownstream = {
    url: `ws://127.0.0.1:${bound}/`,
    port: bound,
    acked: new Map(),
    payloads: new Map(),
    unacked: new Set(),
    withdrawn: new Set(),
    mode: "ack",
    async kill() {
      for (const client of server.clients) client.terminate();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
    async restart() {
      await listen(bound);
    },
    connections: () => server.clients.size,
  };
  return downstream;
}

export interface RelayDownstream {
  readonly url: string;
  readonly port: number;
  broker: Broker;
  /** Payloads (text) enqueued into the `jobs` queue, taken out and counted per payload. */
  received(): Map<string, number>;
  stop(): Promise<void>;
  restart(): Promise<void>;
}

export async function startRelayDownstream(port = 0): Promise<RelayDownstream> {
  const loaded = loadConfig({ fileText: JSON.stringify({ queues: { jobs: { capacity: 100_000 } } }) });
  if (!loaded.ok) throw new Error(loaded.error.message);
  const config = loaded.value;
  const counts = new Map<string, number>();
  const decoder = new TextDecoder();
  let server: ReturnType<typeof Bun.serve>;
  const serve = (on: number) => {
    const broker = new Broker({ config });
    server = Bun.serve({ port: on, hostname: "127.0.0.1", fetch: createApp(config, { broker }).fetch });
    return broker;
  };
  const relay: RelayDownstream = {
    broker: serve(port),
    url: "",
    port: 0,
    received() {
      const jobs = relay.broker.queue("jobs")!;
      for (let lease = jobs.tryLease(); lease !== undefined; lease = jobs.tryLease()) {
        const text = decoder.decode(lease.payload);
        counts.set(text, (counts.get(text) ?? 0) + 1);
        jobs.ack(lease);
      }
      return counts;
    },
    async stop() {
      relay.received(); // keep the counts: the next start is a fresh broker
      await server.stop(true);
    },
    async restart() {
      relay.broker = serve(relay.port);
    },
  };
  Object.assign(relay, { port: server!.port, url: `http://127.0.0.1:${server!.port}` });
  return relay;
}

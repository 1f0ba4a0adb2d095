/**
 * Connecting the clients of one load scenario: N publishers (WebSocket or HTTP duplex) and
 * M WebSocket consumers against the Sluice server, or N + M echo connections against the raw
 * echo server — the same number of sockets and the same frames, so the two are comparable.
 *
 * @example
 * ```ts
 * const clients = await connectSluice(server.url, "bench", { producers: 2, consumers: 2, credit: 512, payloadBytes: 256, producerKind: "ws" });
 * // …run a scenario…
 * await clients.close();
 * ```
 */
import { DuplexPublisher } from "./duplex-publisher.ts";
import { LoadRecorder } from "./recorder.ts";
import type { Clients } from "./scenarios.ts";
import { PublishWriter } from "./wire.ts";
import { EchoClient, openWs, type SettleHooks, WsConsumer, WsPublisher } from "./ws-clients.ts";

export interface ConnectOptions {
  readonly producers: number;
  readonly consumers: number;
  /** Credit each consumer grants. */
  readonly credit: number;
  readonly payloadBytes: number;
  readonly producerKind: "ws" | "duplex";
}

/** Connected clients that can be closed again. */
export interface Connected extends Clients {
  close(): Promise<void>;
}

const wsBase = (url: string) => url.replace(/^http/, "ws");

/**
 * Consumers first (so deliveries can start at once), then producers.
 *
 * @example
 * ```ts
 * await connectSluice("http://127.0.0.1:8787", "bench", { producers: 2, consumers: 2, credit: 512, payloadBytes: 256, producerKind: "duplex" });
 * ```
 */
export async function connectSluice(url: string, queue: string, options: ConnectOptions): Promise<Connected> {
  const rec = new LoadRecorder();
  const hooks: SettleHooks = { settled: () => {} };
  const writer = new PublishWriter(options.payloadBytes);
  const wsUrl = `${wsBase(url)}/v1/queues/${queue}/ws`;
  const consumers = await Promise.all(Array.from({ length: options.consumers }, async () => new WsConsumer(await openWs(wsUrl), rec, options.credit, hooks)));
  const publishers =
    options.producerKind === "ws"
      ? await Promise.all(Array.from({ length: options.producers }, async () => new WsPublisher(await openWs(wsUrl), rec, writer)))
      : Array.from({ length: options.producers }, () => DuplexPublisher.open(`${url}/v1/queues/${queue}/stream`, rec, writer));
  return {
    publishers,
    rec,
    hooks,
    async close() {
      await Promise.all(publishers.map((p) => p.close()));
      await Promise.all(consumers.map((c) => c.close()));
    },
  };
}

/**
 * `connections` echo sockets, each both publisher and receiver.
 *
 * @example
 * ```ts
 * await connectEcho(echo.url, 4, 256);
 * ```
 */
export async function connectEcho(url: string, connections: number, payloadBytes: number): Promise<Connected> {
  const rec = new LoadRecorder();
  const hooks: SettleHooks = { settled: () => {} };
  const writer = new PublishWriter(payloadBytes);
  const publishers = await Promise.all(Array.from({ length: connections }, async () => new EchoClient(await openWs(wsBase(url)), rec, writer, hooks)));
  return {
    publishers,
    rec,
    hooks,
    async close() {
      await Promise.all(publishers.map((p) => p.close()));
    },
  };
}

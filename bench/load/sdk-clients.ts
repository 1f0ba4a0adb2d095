/**
 * The load bench's SDK clients (issue 21): the real `Producer` and `Consumer` of src/client/,
 * with their batching on (the frames of one event-loop turn in one WebSocket message; the server
 * then answers in batches too) or off (`batch: false`). Unlike ws-clients.ts, which speaks raw
 * frames to measure the server alone, these measure what an application using the SDK gets, so
 * the load generator's cost per message includes the SDK's own (promises, Results).
 *
 * Payloads carry the same stamp as wire.ts (`f64 publishedAtMs | u32 index | filler`).
 *
 * @example
 * ```ts
 * const clients = await connectSdk("http://127.0.0.1:8787", "bench", { producers: 2, consumers: 2, credit: 512, payloadBytes: 256, window: 512, batch: true });
 * await closedLoop("sdk batched", clients, { window: 512, warmupMs: 1000, measureMs: 4000 });
 * await clients.close();
 * ```
 */
import { Consumer, Producer } from "../../src/client/mod.ts";
import type { Connected } from "./clients.ts";
import { LoadRecorder } from "./recorder.ts";
import { readPayloadStamp, STAMP_BYTES, stampedCopy } from "./wire.ts";
import type { Publisher, SettleHooks } from "./ws-clients.ts";

/** How to connect the SDK clients of one scenario. */
export interface SdkConnectOptions {
  readonly producers: number;
  readonly consumers: number;
  readonly credit: number;
  readonly payloadBytes: number;
  /** Messages in flight end to end (the loop's window; also each producer's `maxInFlight`). */
  readonly window: number;
  /** The SDK's `batch` option. */
  readonly batch: boolean;
}

/** One SDK `Producer`; each publish's receipt is recorded. */
class SdkPublisher implements Publisher {
  readonly #producer: Producer;
  readonly #rec: LoadRecorder;
  readonly #template: Uint8Array;

  constructor(producer: Producer, rec: LoadRecorder, payloadBytes: number) {
    this.#producer = producer;
    this.#rec = rec;
    this.#template = new Uint8Array(payloadBytes);
    for (let i = STAMP_BYTES; i < payloadBytes; i++) this.#template[i] = i & 0xff;
  }

  publish(count: number): void {
    for (let i = 0; i < count; i++) {
      const now = performance.now();
      const index = this.#rec.nextIndex(now);
      // A payload of its own, as an application has: a publish that waits for room in the
      // window is written to the socket later, from the array it was given.
      const payload = stampedCopy(this.#template, index, now);
      void this.#producer.publish(payload).then((receipt) => {
        if (receipt.ok) this.#rec.onReceipt(index, performance.now());
        else this.#rec.errors++;
      });
    }
  }

  close(): Promise<void> {
    this.#producer.close();
    return Promise.resolve();
  }
}

/** Reads deliveries with `receive()`, acks each at once, records it and tells the loop. */
async function consume(consumer: Consumer, rec: LoadRecorder, hooks: SettleHooks): Promise<void> {
  for (;;) {
    const received = await consumer.receive();
    if (!received.ok) return;
    const delivery = received.value;
    const { index, publishedAtMs } = readPayloadStamp(delivery.payload);
    rec.onDeliver(index, publishedAtMs, performance.now());
    if (!consumer.ack(delivery).ok) rec.errors++;
    rec.onAck(publishedAtMs, performance.now());
    hooks.settled();
  }
}

/**
 * Consumers first (started and granted credit), then producers (each connects on its first publish).
 *
 * @example
 * ```ts
 * const clients = await connectSdk(server.url, "bench", { producers: 2, consumers: 2, credit: 512, payloadBytes: 256, window: 512, batch: true });
 * ```
 */
export async function connectSdk(url: string, queue: string, options: SdkConnectOptions): Promise<Connected> {
  const rec = new LoadRecorder();
  const hooks: SettleHooks = { settled: () => {} };
  const onError = () => void rec.errors++;
  const consumers = Array.from({ length: options.consumers }, () => new Consumer({ url, queue, credit: options.credit, batch: options.batch, onError }));
  for (const c of consumers) {
    const started = await c.start();
    if (!started.ok) throw new Error(`consumer did not start: ${started.error.message}`);
  }
  const loops = consumers.map((c) => consume(c, rec, hooks));
  // The loop's window bounds what is in flight; each producer may hold all of it, as its share
  // swings from turn to turn (a smaller maxInFlight would only send publishes down the waiting path).
  const maxInFlight = options.window;
  // A Producer connects on its first publish (in the warm-up).
  const producers = Array.from({ length: options.producers }, () => new Producer({ url, queue, maxInFlight, batch: options.batch }));
  const publishers = producers.map((p) => new SdkPublisher(p, rec, options.payloadBytes));
  return {
    publishers,
    rec,
    hooks,
    async close() {
      await Promise.all(publishers.map((p) => p.close()));
      for (const c of consumers) c.close();
      await Promise.all(loops);
    },
  };
}

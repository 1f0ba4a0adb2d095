/**
 * The NATS core baseline of the load bench (issue 21): request/reply with pipelined replies on a
 * private nats-server (JetStream off) on loopback, shaped like the Sluice scenarios — N producer
 * connections each publish requests to `bench.req` with their own reply subject (one
 * subscription per producer, not a `request()` inbox per message, so replies pipeline), M
 * responder connections in a queue group receive them and answer with the 12-byte stamp (the
 * counterpart of an ACK). A message is delivered when a responder gets it and settled when its
 * reply reaches the producer. No durability and no receipts: it is what the wire and the broker
 * cost, the floor a relay is compared with.
 *
 * @example
 * ```ts
 * const nats = await startNatsServer({ jetstream: false });
 * const clients = await connectNatsCore(nats.url, { producers: 2, consumers: 2, payloadBytes: 256 });
 * await closedLoop("nats core", clients, { window: 512, warmupMs: 1000, measureMs: 4000 });
 * await clients.close();
 * ```
 */
import { connect, type Msg, type NatsConnection } from "@nats-io/transport-node";
import type { Connected } from "./clients.ts";
import { LoadRecorder } from "./recorder.ts";
import { readPayloadStamp, STAMP_BYTES, stampedCopy } from "./wire.ts";
import type { Publisher, SettleHooks } from "./ws-clients.ts";

const SUBJECT = "bench.req";

/** One producer connection: requests out, replies in on its own subject. */
class NatsRequester implements Publisher {
  readonly #nc: NatsConnection;
  readonly #rec: LoadRecorder;
  readonly #replyTo: string;
  readonly #template: Uint8Array;

  constructor(nc: NatsConnection, rec: LoadRecorder, replyTo: string, payloadBytes: number, hooks: SettleHooks) {
    this.#nc = nc;
    this.#rec = rec;
    this.#replyTo = replyTo;
    this.#template = new Uint8Array(payloadBytes);
    for (let i = STAMP_BYTES; i < payloadBytes; i++) this.#template[i] = i & 0xff;
    nc.subscribe(replyTo, {
      callback: (error, msg) => {
        if (error) return void rec.errors++;
        rec.onAck(readPayloadStamp(msg.data).publishedAtMs, performance.now());
        hooks.settled();
      },
    });
  }

  publish(count: number): void {
    for (let i = 0; i < count; i++) {
      const now = performance.now();
      // The client keeps the array until its next write: a copy per request.
      const payload = stampedCopy(this.#template, this.#rec.nextIndex(now), now);
      this.#nc.publish(SUBJECT, payload, { reply: this.#replyTo });
    }
  }

  close(): Promise<void> {
    return this.#nc.close();
  }
}

/**
 * Connects the baseline's clients: `consumers` responders first, then `producers` requesters.
 *
 * @example
 * ```ts
 * const clients = await connectNatsCore("nats://127.0.0.1:4222", { producers: 2, consumers: 2, payloadBytes: 256 });
 * ```
 */
export async function connectNatsCore(url: string, options: { producers: number; consumers: number; payloadBytes: number }): Promise<Connected> {
  const rec = new LoadRecorder();
  const hooks: SettleHooks = { settled: () => {} };
  const responders = await Promise.all(Array.from({ length: options.consumers }, () => connect({ servers: url })));
  for (const nc of responders) {
    nc.subscribe(SUBJECT, {
      queue: "responders",
      callback: (error, msg: Msg) => {
        if (error) return void rec.errors++;
        const { index, publishedAtMs } = readPayloadStamp(msg.data);
        rec.onDeliver(index, publishedAtMs, performance.now());
        msg.respond(msg.data.slice(0, STAMP_BYTES));
      },
    });
    await nc.flush();
  }
  const requesters = await Promise.all(
    Array.from({ length: options.producers }, async (_, i) => {
      const nc = await connect({ servers: url });
      const requester = new NatsRequester(nc, rec, `bench.reply.${i}`, options.payloadBytes, hooks);
      await nc.flush(); // the reply subscription is in place before the first request
      return requester;
    }),
  );
  return {
    publishers: requesters,
    rec,
    hooks,
    async close() {
      await Promise.all(requesters.map((r) => r.close()));
      await Promise.all(responders.map((nc) => nc.close()));
    },
  };
}

// flush(): a durability barrier for everything published (or settled) before it. On a WebSocket
// it waits for the receipts of earlier publishes — including publishes still waiting for room —
// and for the PONG of a PING sent after them (the server answers a PING only after committing
// what the connection sent before it); on HTTP duplex, receipts (sent after the commit) suffice.
import { describe, expect, test } from "../harness.ts";
import { Consumer, DuplexProducer, Producer } from "../../src/client/mod.ts";
import { RetryPolicy } from "../../src/result/retry-policy.ts";
import { sluiceError } from "../../src/result/errors.ts";
import { FrameType } from "../../src/protocol/frame-layout.ts";
import type { Frame } from "../../src/protocol/frames.ts";
import { deliverFrame, errorFrame, pongFrame, receiptFrame } from "../../src/protocol/frame-builders.ts";
import { FakeServer, type FakeSocket } from "./client-fakes.ts";

const bytes = (s: string) => new TextEncoder().encode(s);
const tick = () => new Promise((r) => setTimeout(r, 2));

/** A server that holds every answer until the test releases it. */
function holdingServer() {
  const held: Array<() => void> = [];
  let seq = 0;
  const server = new FakeServer((frame: Frame, socket: FakeSocket) => {
    if (frame.type === FrameType.PUBLISH) held.push(() => socket.reply(receiptFrame(frame.id, { sequenceId: ++seq, queue: "q", duplicate: false })));
    if (frame.type === FrameType.PING) held.push(() => socket.reply(pongFrame(frame.id)));
  });
  const release = () => held.splice(0).forEach((answer) => answer());
  const options = { url: "http://fake.test", queue: "q", WebSocket: server.WebSocket, fetch: server.fetch, reconnect: RetryPolicy.fixed({ attempts: 2, delayMs: 1 }) };
  return { server, held, release, options };
}

describe("client SDK: Producer.flush()", () => {
  test("resolves only after the earlier receipts and the PONG of a PING sent after them", async () => {
    const { server, held, release, options } = holdingServer();
    const producer = new Producer(options);
    const publishes = [producer.publish(bytes("a")), producer.publish(bytes("b"))];
    let flushed = false;
    const flushing = producer.flush().then((r) => ((flushed = true), r));
    // Sent at the end of the turn (batched); on Deno a due timer may run first.
    for (let i = 0; i < 50 && (server.sockets[0]?.received.length ?? 0) < 3; i++) await tick();
    const types = server.sockets[0]!.received.map((f) => f.type);
    expect(types).toEqual([FrameType.PUBLISH, FrameType.PUBLISH, FrameType.PING]);
    expect(held.length).toBe(3);
    expect(flushed).toBe(false);
    release();
    expect((await flushing).ok).toBe(true);
    expect((await Promise.all(publishes)).every((r) => r.ok)).toBe(true);
    producer.close();
  });

  test("covers publishes still waiting for room in the window (maxInFlight 1)", async () => {
    const { server, release, options } = holdingServer();
    const producer = new Producer({ ...options, maxInFlight: 1 });
    const publishes = [1, 2, 3].map((i) => producer.publish(bytes(`m${i}`)));
    const flushing = producer.flush();
    for (let i = 0; i < 10; i++) {
      await tick();
      release();
    }
    expect((await flushing).ok).toBe(true);
    expect((await Promise.all(publishes)).every((r) => r.ok)).toBe(true);
    const types = server.sockets[0]!.received.map((f) => f.type);
    expect(types.lastIndexOf(FrameType.PUBLISH)).toBeLessThan(types.indexOf(FrameType.PING));
    producer.close();
  });

  test("nothing published: ok at once, no connection opened", async () => {
    const { server, options } = holdingServer();
    const producer = new Producer(options);
    expect((await producer.flush()).ok).toBe(true);
    expect(server.sockets.length).toBe(0);
  });

  test("a refused publish before it makes flush fail with that code (metadata.failed)", async () => {
    const server = new FakeServer((frame, socket) => {
      if (frame.type === FrameType.PUBLISH) socket.reply(errorFrame(sluiceError("queue.full", "full"), frame.id));
      if (frame.type === FrameType.PING) socket.reply(pongFrame(frame.id));
    });
    const producer = new Producer({ url: "http://fake.test", queue: "q", WebSocket: server.WebSocket, fetch: server.fetch });
    void producer.publish(bytes("a"));
    const flushed = await producer.flush();
    expect(!flushed.ok && flushed.error.code).toBe("queue.full");
    expect(!flushed.ok && flushed.error.metadata?.failed).toBe(1);
    producer.close();
  });

  test("the connection drops before the PONG: unavailable", async () => {
    const { server, options } = holdingServer();
    const producer = new Producer(options);
    void producer.publish(bytes("a"));
    const flushing = producer.flush();
    await tick();
    server.sockets[0]!.drop();
    const flushed = await flushing;
    expect(!flushed.ok && flushed.error.code).toBe("unavailable");
  });

  test("a signal aborts the wait with `canceled`", async () => {
    const { options } = holdingServer();
    const producer = new Producer(options);
    void producer.publish(bytes("a"));
    await tick();
    const stop = new AbortController();
    const flushing = producer.flush({ signal: stop.signal });
    stop.abort();
    const flushed = await flushing;
    expect(!flushed.ok && flushed.error.code).toBe("canceled");
    producer.close();
  });
});

describe("client SDK: Consumer.flush() and DuplexProducer.flush()", () => {
  test("Consumer.flush sends a PING after the acks and resolves on its PONG", async () => {
    const server = new FakeServer((frame, socket) => {
      if (frame.type === FrameType.CREDIT && frame.arg === 4) socket.reply(deliverFrame(3, 1, bytes("x")));
      if (frame.type === FrameType.PING) socket.reply(pongFrame(frame.id));
    });
    const consumer = new Consumer({ url: "http://fake.test", queue: "q", credit: 4, WebSocket: server.WebSocket, fetch: server.fetch });
    const d = await consumer.receive();
    expect(d.ok && consumer.ack(d.value).ok).toBe(true);
    expect((await consumer.flush()).ok).toBe(true);
    expect(server.sockets[0]!.received.map((f) => f.type)).toEqual([FrameType.CREDIT, FrameType.ACK, FrameType.PING]);
    consumer.close();
    const closed = await consumer.flush();
    expect(!closed.ok && closed.error.code).toBe("unavailable");
  });

  test("DuplexProducer.flush resolves once every earlier publish has its receipt", async () => {
    const server = new FakeServer();
    const producer = new DuplexProducer({ url: "http://fake.test", queue: "q", fetch: server.fetch, WebSocket: server.WebSocket });
    const publishes = [1, 2, 3].map((i) => producer.publish(bytes(`d${i}`)));
    expect((await producer.flush()).ok).toBe(true);
    expect(producer.inFlight).toBe(0);
    expect((await Promise.all(publishes)).every((r) => r.ok)).toBe(true);
    expect(server.streamed.filter((f) => f.type === FrameType.PUBLISH).length).toBe(3);
    expect((await producer.end()).ok).toBe(true);
  });
});

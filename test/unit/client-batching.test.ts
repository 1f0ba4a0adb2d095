// SDK batching (issue 21), runtime-neutral (Bun and Deno): FrameBatch caps and reading a batch
// back; the Producer's PUBLISH frames of one turn leave as one message (flagged ReadsBatches),
// split at the frame cap, a flush() PING rides behind them; receipts arriving as one message,
// or as one RECEIPT range, settle every publish; `batch: false` keeps one frame per message; Consumer.close() sends the
// acks batched in its last turn before the socket closes.
import { describe, expect, test } from "../harness.ts";
import { Consumer, Producer } from "../../src/client/mod.ts";
import { RetryPolicy } from "../../src/result/retry-policy.ts";
import { FrameFlag, FrameType } from "../../src/protocol/frame-layout.ts";
import { eachFrame, FrameBatch } from "../../src/protocol/frame-batch.ts";
import { deliverFrame, pingFrame, receiptFrame } from "../../src/protocol/frame-builders.ts";
import { createJsFrameCodec } from "../../src/protocol/js-frame-codec.ts";
import { FrameWriter } from "../../src/protocol/frame-writer.ts";
import type { Frame } from "../../src/protocol/frames.ts";
import { FakeServer, type FakeSocket } from "./client-fakes.ts";

const bytes = (s: string) => new TextEncoder().encode(s);
const tick = () => new Promise((r) => setTimeout(r, 2));
const codec = createJsFrameCodec();
const options = (server: FakeServer) => ({ url: "http://fake.test", queue: "q", WebSocket: server.WebSocket, fetch: server.fetch, reconnect: RetryPolicy.fixed({ attempts: 2, delayMs: 1 }) });

function framesOf(message: Uint8Array): Frame[] {
  const out: Frame[] = [];
  eachFrame(message, codec, (f) => f.ok && out.push(f.value));
  return out;
}

describe("FrameBatch", () => {
  test("frames written and appended read back in order, with CRC when asked; take empties it", () => {
    const batch = new FrameBatch();
    batch.write(FrameType.PUBLISH, FrameFlag.Crc, 7, 0, bytes("hello"));
    batch.append(pingFrame(3));
    batch.write(FrameType.CREDIT, 0, 0, 16);
    expect(batch.frames).toBe(3);
    const message = batch.take();
    expect(batch.frames).toBe(0);
    const frames = framesOf(message);
    expect(frames.map((f) => [f.type, f.id, f.arg])).toEqual([[FrameType.PUBLISH, 7, 0], [FrameType.PING, 3, 0], [FrameType.CREDIT, 0, 16]]);
    expect(new TextDecoder().decode(frames[0]!.payload)).toBe("hello");
    expect(frames[0]!.flags & FrameFlag.Crc).toBe(FrameFlag.Crc);
  });

  test("caps: fits() refuses past maxBytes or maxFrames, but an empty batch takes any frame", () => {
    const batch = new FrameBatch({ maxBytes: 100, maxFrames: 3 });
    expect(batch.fits(1000)).toBe(true);
    batch.write(FrameType.ACK, 0, 1, 0);
    expect(batch.fits(24)).toBe(true);
    expect(batch.fits(77)).toBe(false);
    batch.write(FrameType.ACK, 0, 2, 0);
    batch.write(FrameType.ACK, 0, 3, 0);
    expect(batch.full).toBe(true);
    expect(batch.fits(24)).toBe(false);
    expect(() => new FrameBatch({ maxFrames: 0 })).toThrow();
  });

  test("eachFrame reports a frame cut short and stops there", () => {
    const batch = new FrameBatch();
    batch.write(FrameType.ACK, 0, 1, 0);
    batch.write(FrameType.PUBLISH, 0, 2, 0, bytes("abcdef"));
    const message = batch.take().subarray(0, 24 + 24 + 3);
    const seen: string[] = [];
    eachFrame(message, codec, (f) => seen.push(f.ok ? `ok ${f.value.id}` : f.error.code));
    expect(seen).toEqual(["ok 1", "frame.malformed"]);
  });
});

describe("client SDK: Producer batching", () => {
  test("the publishes of one turn leave as one message, flagged ReadsBatches; a flush PING rides behind them", async () => {
    const server = new FakeServer();
    const producer = new Producer(options(server));
    expect((await producer.publish(bytes("first"))).ok).toBe(true); // connects
    const socket = server.sockets[0]!;
    const before = socket.messages;
    const receipts = Array.from({ length: 20 }, (_, i) => producer.publish(bytes(`m${i}`)));
    const flushed = producer.flush();
    const results = await Promise.all(receipts);
    expect(results.every((r) => r.ok)).toBe(true);
    expect((await flushed).ok).toBe(true);
    expect(socket.messages - before).toBe(1);
    const tail = socket.received.slice(1);
    expect(tail.map((f) => f.type)).toEqual([...Array(20).fill(FrameType.PUBLISH), FrameType.PING]);
    expect(tail.slice(0, 20).every((f) => (f.flags & FrameFlag.ReadsBatches) !== 0)).toBe(true);
    producer.close();
  });

  test("a batch is sent at once when it reaches its frame cap", async () => {
    const server = new FakeServer();
    const producer = new Producer({ ...options(server), batch: { maxFrames: 8 } });
    await producer.publish(bytes("connect"));
    const socket = server.sockets[0]!;
    const before = socket.messages;
    const receipts = Array.from({ length: 20 }, (_, i) => producer.publish(bytes(`m${i}`)));
    expect(socket.messages - before).toBe(2); // 8 + 8 at once, the last 4 at the end of the turn
    await Promise.all(receipts);
    expect(socket.messages - before).toBe(3);
    producer.close();
  });

  test("batch: false sends one frame per message at once", async () => {
    const server = new FakeServer();
    const producer = new Producer({ ...options(server), batch: false });
    await producer.publish(bytes("connect"));
    const socket = server.sockets[0]!;
    const receipts = Array.from({ length: 5 }, (_, i) => producer.publish(bytes(`m${i}`)));
    expect(socket.messages).toBe(6);
    expect((await Promise.all(receipts)).every((r) => r.ok)).toBe(true);
    producer.close();
  });

  test("receipts that arrive as one message settle every publish", async () => {
    const held: Frame[] = [];
    let socketOf: FakeSocket | undefined;
    const server = new FakeServer((frame, socket) => {
      socketOf = socket;
      if (frame.type === FrameType.PUBLISH) held.push(frame);
    });
    const producer = new Producer(options(server));
    const receipts = Array.from({ length: 10 }, (_, i) => producer.publish(bytes(`m${i}`)));
    while (held.length < 10) await tick();
    const batch = new FrameBatch();
    held.forEach((f, i) => batch.append(receiptFrame(f.id, { sequenceId: i + 1, queue: "q", duplicate: false })));
    socketOf!.reply(batch.take());
    const results = await Promise.all(receipts);
    expect(results.map((r) => (r.ok ? r.value.sequenceId : 0))).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    producer.close();
  });

  test("a RECEIPT range (arg = count) settles that many publishes with consecutive sequence ids", async () => {
    const held: Frame[] = [];
    let socketOf: FakeSocket | undefined;
    const server = new FakeServer((frame, socket) => {
      socketOf = socket;
      if (frame.type === FrameType.PUBLISH) held.push(frame);
    });
    const producer = new Producer(options(server));
    const receipts = Array.from({ length: 6 }, (_, i) => producer.publish(bytes(`m${i}`)));
    while (held.length < 6) await tick();
    socketOf!.reply(FrameWriter.fresh().receipt(held[0]!.id, { sequenceId: 40, queue: "q", duplicate: false }, 6));
    const results = await Promise.all(receipts);
    expect(results.map((r) => (r.ok ? r.value.sequenceId : 0))).toEqual([40, 41, 42, 43, 44, 45]);
    producer.close();
  });
});

describe("client SDK: Consumer batching", () => {
  test("deliveries in one message are all received; close() sends the acks of its last turn first", async () => {
    const server = new FakeServer((frame, socket) => {
      if (frame.type !== FrameType.CREDIT || frame.arg !== 8) return;
      const batch = new FrameBatch();
      for (let token = 1; token <= 5; token++) batch.append(deliverFrame(token, 1, bytes(`d${token}`)));
      socket.reply(batch.take());
    });
    const consumer = new Consumer({ ...options(server), credit: 8 });
    const tokens: number[] = [];
    for (let i = 0; i < 5; i++) {
      const d = await consumer.receive();
      if (!d.ok) throw new Error(d.error.message);
      tokens.push(d.value.token);
      consumer.ack(d.value);
    }
    const socket = server.sockets[0]!;
    expect(socket.received.filter((f) => f.type === FrameType.ACK).length).toBe(0); // still batched
    consumer.close();
    expect(tokens).toEqual([1, 2, 3, 4, 5]);
    expect(socket.received.filter((f) => f.type === FrameType.ACK).map((f) => f.id)).toEqual([1, 2, 3, 4, 5]);
  });
});

describe("Replies.through (Producer.flush for publishes already written)", () => {
  test("resolves once every id up to `last` is answered, counting the failures among them", async () => {
    const { Replies } = await import("../../src/client/replies.ts");
    const { err, ok } = await import("../../src/result/result.ts");
    const replies = new Replies<number>(10);
    for (let id = 1; id <= 3; id++) {
      expect(replies.tryReserve()).toBe(true);
      void replies.expect(id);
    }
    let done: unknown;
    void replies.through(3).then((r) => (done = r));
    expect(replies.tryReserve()).toBe(true);
    void replies.expect(4); // registered later: not waited for
    replies.settle(2, err("queue.full", "full"));
    replies.settle(1, ok(1));
    await Promise.resolve();
    expect(done).toBeUndefined();
    replies.settle(3, ok(3));
    await Promise.resolve();
    expect(done).toMatchObject({ ok: false, error: { code: "queue.full", metadata: { failed: 1 } } });
    expect(await replies.through(0)).toEqual(ok());
  });

  test("failAll answers a waiting through() with every pending id up to `last` as failed", async () => {
    const { Replies } = await import("../../src/client/replies.ts");
    const { sluiceError } = await import("../../src/result/errors.ts");
    const replies = new Replies<number>(10);
    for (let id = 1; id <= 3; id++) {
      replies.tryReserve();
      void replies.expect(id);
    }
    const waiting = replies.through(2);
    replies.failAll(sluiceError("unavailable", "gone"));
    expect(await waiting).toMatchObject({ ok: false, error: { code: "unavailable", metadata: { failed: 2 } } });
  });
});

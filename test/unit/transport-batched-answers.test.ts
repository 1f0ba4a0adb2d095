// Batched answers (issue 21): a connection whose client sets FrameFlag.ReadsBatches gets the
// receipts of one incoming message as one message, and its deliveries of one flush as one message
// (split at 64 KiB); a client that never sets it still gets one frame per message; answers made
// outside a message leave within the microtask; close sends what waits; receipts of consecutive
// ids and sequence ids are one RECEIPT range (arg = count). HTTP duplex: the answers to one
// request chunk are one response chunk.
import { describe, expect, test } from "../harness.ts";
import { SafeTaskQueue } from "../../src/queue/mod.ts";
import { FrameFlag, FrameType } from "../../src/protocol/frame-layout.ts";
import { FrameBatch, eachFrame } from "../../src/protocol/frame-batch.ts";
import { ackFrame, creditFrame, pingFrame, publishFrame } from "../../src/protocol/frame-builders.ts";
import type { Frame } from "../../src/protocol/frames.ts";
import { ReplyBatcher } from "../../src/transport/reply-batcher.ts";
import { FrameWriter } from "../../src/protocol/frame-writer.ts";
import { decodeReceiptPayload } from "../../src/protocol/messages.ts";
import { duplexPublish } from "../../src/transport/duplex-publish.ts";
import { FrameStreamDecoder } from "../../src/protocol/frames.ts";
import { WsSession } from "../../src/transport/ws-session.ts";
import { createJsFrameCodec } from "../../src/wasm/mod.ts";

const codec = createJsFrameCodec();
const settle = async () => {
  for (let i = 0; i < 10; i++) await Promise.resolve();
};

/** A session whose peer records each message it is given as the frames in it. */
function session(options: { copies?: boolean } = {}) {
  const queue = SafeTaskQueue.create<Uint8Array>({ name: "t", capacity: 10_000, leaseMs: 60_000 });
  const messages: Frame[][] = [];
  let closed = "";
  const peer = {
    send: (message: Uint8Array) => {
      const frames: Frame[] = [];
      eachFrame(message, codec, (f) => {
        if (!f.ok) throw new Error(f.error.message);
        frames.push(f.value);
      });
      messages.push(frames);
    },
    close: (code: number, reason: string) => void (closed = `${code} ${reason}`),
    copiesOnSend: options.copies,
  };
  const s = new WsSession({ queue, codec, peer, accepting: () => true });
  return { queue, session: s, messages, closed: () => closed };
}

/** The PUBLISH ids and sequence ids a list of RECEIPT frames answers (a range counts `arg` of them). */
function receipted(frames: Frame[]): [number, number][] {
  const out: [number, number][] = [];
  for (const f of frames) {
    if (f.type !== FrameType.RECEIPT) continue;
    const r = decodeReceiptPayload(f.payload);
    if (!r.ok) throw new Error(r.error.message);
    for (let i = 0; i < Math.max(1, f.arg); i++) out.push([f.id + i, r.value.sequenceId + i]);
  }
  return out;
}

/** One message of PUBLISH frames (flagged when `flag`). */
function publishes(ids: number[], flag: boolean, size = 8): Uint8Array {
  const batch = new FrameBatch({ maxFrames: 10_000, maxBytes: 1 << 24 });
  for (const id of ids) batch.write(FrameType.PUBLISH, flag ? FrameFlag.ReadsBatches : 0, id, 0, new Uint8Array(size).fill(id & 0xff));
  return batch.take();
}

describe("WsSession batched answers", () => {
  test("a client that never sets ReadsBatches gets one receipt per message, as before", () => {
    const c = session();
    c.session.handleMessage(publishes([1, 2, 3], false));
    expect(c.messages.map((m) => m.length)).toEqual([1, 1, 1]);
    expect(c.messages.flat().map((f) => [f.type, f.id])).toEqual([[FrameType.RECEIPT, 1], [FrameType.RECEIPT, 2], [FrameType.RECEIPT, 3]]);
  });

  for (const copies of [false, true]) {
    test(`flagged publishes are answered with one message of receipts, in order (peer copies on send: ${copies})`, () => {
      const c = session({ copies });
      c.session.handleMessage(publishes([1, 2, 3, 4, 5], true));
      c.session.handleMessage(publishes([6, 7, 9], false)); // once on, the connection stays batched
      // Consecutive ids under consecutive sequence ids: one RECEIPT range; a gap starts another.
      expect(c.messages.map((m) => m.map((f) => [f.id, f.arg]))).toEqual([[[1, 5]], [[6, 2], [9, 0]]]);
      expect(receipted(c.messages.flat())).toEqual([[1, 1], [2, 2], [3, 3], [4, 4], [5, 5], [6, 6], [7, 7], [9, 8]]);
    });
  }

  test("a batch of answers is split at 256 frames (ids with gaps: no ranges)", () => {
    const c = session();
    const ids = Array.from({ length: 600 }, (_, i) => 2 * i + 1);
    c.session.handleMessage(publishes(ids, true));
    expect(c.messages.map((m) => m.length)).toEqual([256, 256, 88]);
    expect(c.messages.flat().map((f) => f.id)).toEqual(ids);
    expect(c.messages.flat().every((f) => f.arg === 0)).toBe(true);
  });

  test("600 consecutive publishes in one message: one RECEIPT range", () => {
    const c = session();
    c.session.handleMessage(publishes(Array.from({ length: 600 }, (_, i) => i + 1), true));
    expect(c.messages.map((m) => m.map((f) => [f.type, f.id, f.arg]))).toEqual([[[FrameType.RECEIPT, 1, 600]]]);
    expect(receipted(c.messages.flat()).at(-1)).toEqual([600, 600]);
  });

  test("deliveries of one flush to a batched consumer are one message, split at 64 KiB; acks settle them", async () => {
    const c = session();
    for (let i = 0; i < 40; i++) c.queue.tryEnqueue(new Uint8Array(4000).fill(i));
    c.session.handleMessage(creditFrameFlagged(40));
    await settle();
    const delivered = c.messages.flat().filter((f) => f.type === FrameType.DELIVER);
    expect(delivered.length).toBe(40);
    // 40 frames of 4,024 bytes: 16 fit in 64 KiB.
    expect(c.messages.map((m) => m.length)).toEqual([16, 16, 8]);
    expect(c.session.held).toBe(40);
    const acks = new FrameBatch();
    for (const d of delivered) acks.append(ackFrame(d.id));
    c.session.handleMessage(acks.take());
    expect(c.session.held).toBe(0);
    expect(c.queue.stats().acked).toBe(40);
  });

  test("an unflagged consumer still gets one DELIVER per message", async () => {
    const c = session();
    for (let i = 0; i < 5; i++) c.queue.tryEnqueue(new Uint8Array([i]));
    c.session.handleMessage(creditFrame(5));
    await settle();
    expect(c.messages.map((m) => m.length)).toEqual([1, 1, 1, 1, 1]);
  });

  test("a PING's PONG rides in the same message as the receipts before it; close sends what waits", () => {
    const c = session();
    const batch = new FrameBatch();
    batch.write(FrameType.PUBLISH, FrameFlag.ReadsBatches, 1, 0, new Uint8Array(3));
    batch.append(pingFrame(9));
    c.session.handleMessage(batch.take());
    expect(c.messages.map((m) => m.map((f) => f.type))).toEqual([[FrameType.RECEIPT, FrameType.PONG]]);
    expect(c.messages[0]![0]!.arg).toBe(0); // a run of one is a plain RECEIPT
  });
});

describe("ReplyBatcher", () => {
  test("frames sent outside a held message leave at the end of the microtask, together", async () => {
    const sent: number[] = [];
    const out = new ReplyBatcher({ send: (m) => void sent.push(m.byteLength), close: () => {} }, FrameWriter.fresh());
    out.send(pingFrame(1));
    expect(sent).toEqual([24]); // not batching yet: straight through
    out.enable();
    out.send(pingFrame(2));
    out.send(pingFrame(3));
    expect(sent).toEqual([24]);
    await Promise.resolve();
    expect(sent).toEqual([24, 48]);
  });

  test("close flushes first", () => {
    const log: string[] = [];
    const out = new ReplyBatcher({ send: (m) => void log.push(`send ${m.byteLength}`), close: (code) => void log.push(`close ${code}`) }, FrameWriter.fresh());
    out.enable();
    out.send(pingFrame(1));
    out.close(1013, "bye");
    expect(log).toEqual(["send 24", "close 1013"]);
  });
});

function creditFrameFlagged(n: number): Uint8Array {
  const batch = new FrameBatch();
  batch.write(FrameType.CREDIT, FrameFlag.ReadsBatches, 0, n);
  return batch.take();
}

describe("duplexPublish: one response chunk per request chunk", () => {
  test("3 request chunks of 50 PUBLISH frames → 3 response chunks of 50 receipts, in order", async () => {
    const queue = SafeTaskQueue.create<Uint8Array>({ name: "d", capacity: 10_000 });
    const chunks = [0, 1, 2].map((c) => publishes(Array.from({ length: 50 }, (_, i) => c * 50 + i + 1), false));
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        const next = chunks.shift();
        if (next === undefined) controller.close();
        else controller.enqueue(next);
      },
    });
    const reader = duplexPublish({ body, queue, codec, accepting: () => true }).getReader();
    const decoder = new FrameStreamDecoder(codec);
    const perChunk: number[] = [];
    const ids: number[] = [];
    for (let next = await reader.read(); !next.done; next = await reader.read()) {
      const frames = decoder.push(next.value).flatMap((f) => (f.ok ? [f.value] : []));
      perChunk.push(frames.length);
      ids.push(...frames.map((f) => f.id));
    }
    expect(perChunk).toEqual([50, 50, 50]);
    expect(ids).toEqual(Array.from({ length: 150 }, (_, i) => i + 1));
    expect(queue.stats().pending).toBe(150);
  });
});

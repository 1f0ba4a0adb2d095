// Issue 12: a producer that keeps publishing into a full queue is not served an unbounded
// stream of errors. WebSocket (PublishIntake): GOAWAY at the first refusal, close 1013 after a
// bounded number more. HTTP duplex with fullMode "reject": the stream ends and the body stops
// being read after a bounded number of refusals.
import { describe, expect, test } from "../harness.ts";
import { SafeTaskQueue } from "../../src/queue/mod.ts";
import { FrameType } from "../../src/protocol/frame-layout.ts";
import { decodeFrameMessage, type Frame, FrameStreamDecoder } from "../../src/protocol/frames.ts";
import { publishFrame } from "../../src/protocol/frame-builders.ts";
import { argToErrorCode } from "../../src/protocol/messages.ts";
import { FrameWriter } from "../../src/protocol/frame-writer.ts";
import { duplexPublish } from "../../src/transport/duplex-publish.ts";
import { PublishIntake } from "../../src/transport/publish-intake.ts";
import { createJsFrameCodec } from "../../src/wasm/mod.ts";

const codec = createJsFrameCodec();
const flush = async () => {
  for (let i = 0; i < 10; i++) await Promise.resolve();
};
const label = (f: Frame) =>
  f.type === FrameType.RECEIPT ? `receipt ${f.id}` : f.type === FrameType.GOAWAY ? `goaway ${f.id}` : `${argToErrorCode(f.arg).value ?? "?"} ${f.id}`;

function intake(fullMode: "wait" | "reject", capacity: number) {
  const queue = SafeTaskQueue.create<Uint8Array>({ name: "jobs", capacity, fullMode });
  const sent: Frame[] = [];
  const closes: Array<{ code: number; reason: string }> = [];
  const peer = {
    send: (bytes: Uint8Array) => {
      if (closes.length > 0) throw new Error("socket closed");
      const frame = decodeFrameMessage(bytes, codec);
      if (!frame.ok) throw new Error(frame.error.message);
      sent.push(frame.value);
    },
    close: (code: number, reason: string) => void closes.push({ code, reason }),
  };
  const stop = new AbortController();
  // maxRejected as the option; the default (64) applies when it is left out.
  const make = (maxRejected?: number) =>
    new PublishIntake({ queue, peer, frames: FrameWriter.fresh(), accepting: () => true, maxBacklog: 2, signal: stop.signal, maxRejected });
  return { queue, sent, closes, make, answers: () => sent.map(label) };
}

describe("a producer flooding a full queue", () => {
  test("WebSocket, backlog full (wait mode): GOAWAY at the first refusal, close 1013 after maxRejected more, held publishes dropped", async () => {
    const { queue, sent, closes, make, answers } = intake("wait", 2);
    const publisher = make(3);
    for (let id = 1; id <= 10_000; id++) publisher.publish(id, new Uint8Array([id & 0xff]));
    // 2 enqueued, 2 held (backlog), then 1 refusal + GOAWAY, 3 more refusals, then closed.
    expect(answers()).toEqual(["receipt 1", "receipt 2", "queue.full 5", "goaway 0", "queue.full 6", "queue.full 7", "queue.full 8"]);
    expect(closes).toEqual([{ code: 1013, reason: expect.stringContaining("try again later") }]);
    expect(publisher.closedForFlooding).toBe(true);
    // The held publishes (3, 4) were never enqueued: room appearing now enqueues nothing.
    queue.ack(queue.tryLease()!);
    queue.ack(queue.tryLease()!);
    await flush();
    expect(queue.stats().pending).toBe(0);
    expect(sent.length).toBe(7);
  });

  test("WebSocket, fullMode reject: the default bound is 64 refusals after the GOAWAY", () => {
    const { closes, make, answers } = intake("reject", 1);
    const publisher = make();
    for (let id = 1; id <= 100_000; id++) publisher.publish(id, new Uint8Array([1]));
    const errors = answers().filter((a) => a.startsWith("queue.full"));
    expect(errors.length).toBe(65);
    expect(answers().filter((a) => a === "goaway 0").length).toBe(1);
    expect(closes.map((c) => c.code)).toEqual([1013]);
  });

  test("a producer that backs off after queue.full is never closed", () => {
    const { queue, closes, make, answers } = intake("reject", 1);
    const publisher = make(3);
    let id = 0;
    for (let round = 0; round < 50; round++) {
      publisher.publish(++id, new Uint8Array([1])); // accepted (the queue has room)
      publisher.publish(++id, new Uint8Array([1])); // refused: full
      // It waits for room, then publishes a few that all get in.
      for (let i = 0; i < 3; i++) {
        queue.ack(queue.tryLease()!);
        publisher.publish(++id, new Uint8Array([1]));
      }
      queue.ack(queue.tryLease()!);
    }
    expect(closes).toEqual([]);
    expect(answers().filter((a) => a.startsWith("queue.full")).length).toBe(50);
  });

  test("HTTP duplex, fullMode reject: the stream ends and the body stops being read after a bounded number of refusals", async () => {
    const queue = SafeTaskQueue.create<Uint8Array>({ name: "jobs", capacity: 1, fullMode: "reject" });
    let pulled = 0;
    const chunk = (() => {
      const frames = Array.from({ length: 16 }, (_, i) => publishFrame(i + 1, new Uint8Array(32)));
      const out = new Uint8Array(frames.reduce((n, f) => n + f.byteLength, 0));
      let at = 0;
      for (const f of frames) (out.set(f, at), (at += f.byteLength));
      return out;
    })();
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        // 1,000,000 frames if nothing stops reading.
        if (pulled >= 1_000_000) return controller.close();
        pulled += 16;
        controller.enqueue(chunk);
      },
    });
    const response = duplexPublish({ body, queue, codec, accepting: () => true });
    const decoder = new FrameStreamDecoder(codec);
    const frames: Frame[] = [];
    const reader = response.getReader();
    for (let next = await reader.read(); !next.done; next = await reader.read()) {
      for (const item of decoder.push(next.value)) if (item.ok) frames.push(item.value);
    }
    const errors = frames.filter((f) => f.type === FrameType.ERROR);
    expect(frames.filter((f) => f.type === FrameType.RECEIPT).length).toBe(1);
    expect(frames.filter((f) => f.type === FrameType.GOAWAY).map((f) => f.id)).toEqual([0]);
    // 1 + 64 refusals answered, then the closing ERROR (id 0).
    expect(errors.length).toBe(66);
    expect(errors.at(-1)!.id).toBe(0);
    expect(pulled).toBeLessThan(200);
  });
});

import { describe, expect, test } from "../harness.ts";
import { MemoryBudget, SafeTaskQueue } from "../../src/queue/mod.ts";
import { FrameType } from "../../src/protocol/frame-layout.ts";
import { decodeFrameMessage, type Frame } from "../../src/protocol/frames.ts";
import { argToErrorCode } from "../../src/protocol/messages.ts";
import { FrameWriter } from "../../src/protocol/frame-writer.ts";
import { PublishIntake } from "../../src/transport/publish-intake.ts";
import { createJsFrameCodec } from "../../src/wasm/mod.ts";

const codec = createJsFrameCodec();
const flush = async () => {
  for (let i = 0; i < 10; i++) await Promise.resolve();
};

function setup(accepting = () => true) {
  const queue = SafeTaskQueue.create<Uint8Array>({ name: "jobs", capacity: 2, fullMode: "wait" });
  const sent: Frame[] = [];
  const stop = new AbortController();
  const peer = {
    send: (bytes: Uint8Array) => {
      const frame = decodeFrameMessage(bytes, codec);
      if (!frame.ok) throw new Error(frame.error.message);
      sent.push(frame.value);
    },
    close: () => {},
  };
  const intake = new PublishIntake({ queue, peer, frames: FrameWriter.fresh(), accepting, maxBacklog: 2, signal: stop.signal });
  const answers = () => sent.map((f) => `${f.type === FrameType.RECEIPT ? "receipt" : f.type === FrameType.GOAWAY ? "goaway" : (argToErrorCode(f.arg).value ?? "?")} ${f.id}`);
  return { queue, intake, stop, answers };
}
const payload = (n: number) => new Uint8Array([n]);

describe("PublishIntake", () => {
  test("a full queue holds up to maxBacklog publishes, refuses more, and answers the held ones in order as room appears", async () => {
    const { queue, intake, answers } = setup();
    for (let id = 1; id <= 5; id++) intake.publish(id, payload(id));
    // The first refusal also gets a connection-level GOAWAY (id 0): "publish elsewhere or later".
    expect(answers()).toEqual(["receipt 1", "receipt 2", "queue.full 5", "goaway 0"]);
    queue.ack(queue.tryLease()!);
    await flush();
    expect(answers()).toEqual(["receipt 1", "receipt 2", "queue.full 5", "goaway 0", "receipt 3"]);
    queue.ack(queue.tryLease()!);
    await flush();
    expect(answers().at(-1)).toBe("receipt 4");
    const order: number[] = [];
    for (let lease = queue.tryLease(); lease; lease = queue.tryLease()) order.push(lease.payload[0]!);
    expect(order).toEqual([3, 4]);
  });

  test("GOAWAY once the server stops accepting, and for held publishes when the queue closes", async () => {
    let accepting = true;
    const { queue, intake, answers } = setup(() => accepting);
    for (let id = 1; id <= 3; id++) intake.publish(id, payload(id));
    queue.close();
    await flush();
    expect(answers()).toEqual(["receipt 1", "receipt 2", "goaway 3"]);
    accepting = false;
    intake.publish(9, payload(9));
    expect(answers().at(-1)).toBe("goaway 9");
  });

  test("held publishes are dropped unanswered when the connection goes away", async () => {
    const { queue, intake, stop, answers } = setup();
    for (let id = 1; id <= 3; id++) intake.publish(id, payload(id));
    stop.abort();
    queue.ack(queue.tryLease()!);
    await flush();
    expect(answers()).toEqual(["receipt 1", "receipt 2"]);
    expect(queue.stats().pending).toBe(1); // only "2"; the held "3" was never enqueued
  });
  test("held publishes count against the server's memory budget: past it they are refused, and their bytes come back when the connection ends", async () => {
    const budget = new MemoryBudget(3000);
    const queue = SafeTaskQueue.create<Uint8Array>({ name: "jobs", capacity: 1, memoryBudget: budget });
    const sent: Frame[] = [];
    const stop = new AbortController();
    const peer = { send: (b: Uint8Array) => void sent.push((decodeFrameMessage(b, codec) as { value: Frame }).value), close: () => {} };
    const intake = new PublishIntake({ queue, peer, frames: FrameWriter.fresh(), accepting: () => true, maxBacklog: 1000, signal: stop.signal, memoryBudget: budget });
    for (let id = 1; id <= 6; id++) intake.publish(id, new Uint8Array(1000));
    // 1 in the queue (1000 bytes), 2 held (2000 bytes): the budget is spent, the rest refused.
    expect(budget.used).toBe(3000);
    expect(sent.filter((f) => f.type === FrameType.RECEIPT).map((f) => f.id)).toEqual([1]);
    expect(sent.filter((f) => f.type === FrameType.ERROR).map((f) => f.id)).toEqual([4, 5, 6]);
    stop.abort();
    await flush();
    expect(budget.used).toBe(1000); // only what the queue holds
  });
  test("one connection holds at most maxBacklogBytes while the queue is full, whatever the server's budget", () => {
    const queue = SafeTaskQueue.create<Uint8Array>({ name: "jobs", capacity: 1 });
    const sent: Frame[] = [];
    const stop = new AbortController();
    const peer = { send: (b: Uint8Array) => void sent.push((decodeFrameMessage(b, codec) as { value: Frame }).value), close: () => {} };
    const budget = new MemoryBudget(1 << 30);
    const intake = new PublishIntake({ queue, peer, frames: FrameWriter.fresh(), accepting: () => true, maxBacklog: 1000, signal: stop.signal, memoryBudget: budget, maxBacklogBytes: 2500 });
    for (let id = 1; id <= 5; id++) intake.publish(id, new Uint8Array(1000));
    expect(sent.filter((f) => f.type === FrameType.ERROR).map((f) => f.id)).toEqual([4, 5]); // 1 queued, 2 held (2000 bytes)
    expect(budget.used).toBe(2000);
  });
});

// WsSession delivery batching (issue 7): with a batching peer and a coalesce hook, a burst of
// ready messages leaves in one batch bounded by the credit, the first batch of a turn at once and
// the rest of the turn at its end (issue 21); a socket that closes while the loop coalesces gives
// its lease straight back; Uint8Array views (Bun's Buffers) decode in place.
import { describe, expect, test } from "../harness.ts";
import { SafeTaskQueue } from "../../src/queue/mod.ts";
import { FrameType } from "../../src/protocol/frame-layout.ts";
import { ackFrame, creditFrame, pingFrame, publishFrame } from "../../src/protocol/frame-builders.ts";
import { decodeFrameMessage, type Frame } from "../../src/protocol/frames.ts";
import { WsSession } from "../../src/transport/ws-session.ts";
import { createJsFrameCodec } from "../../src/wasm/mod.ts";

const codec = createJsFrameCodec();
const bytes = (s: string) => new TextEncoder().encode(s);
const flush = async () => {
  for (let i = 0; i < 10; i++) await Promise.resolve();
};

function consumer(options: { batching: boolean }) {
  const queue = SafeTaskQueue.create<Uint8Array>({ name: "t", capacity: 100 });
  const sent: Frame[] = [];
  const batches: number[] = [];
  let release: () => void = () => {};
  let coalescing = 0;
  const peer = {
    send: (frame: Uint8Array) => {
      const decoded = decodeFrameMessage(frame, codec);
      if (!decoded.ok) throw new Error(decoded.error.message);
      sent.push(decoded.value);
    },
    close: () => {},
    ...(options.batching
      ? {
          batch: (sends: () => void) => {
            const before = sent.length;
            sends();
            batches.push(sent.length - before);
          },
        }
      : {}),
  };
  const session = new WsSession({
    queue,
    codec,
    peer,
    accepting: () => true,
    ...(options.batching
      ? {
          coalesce: (run: () => void) => {
            coalescing++;
            release = run;
          },
        }
      : {}),
  });
  return { queue, session, sent, batches, release: () => release(), coalescing: () => coalescing };
}

describe("WsSession delivery batching", () => {
  test("a burst goes out as one batch, bounded by the credit; more credit sends the rest", async () => {
    const c = consumer({ batching: true });
    c.session.handleMessage(creditFrame(3));
    await flush();
    for (let i = 0; i < 5; i++) expect(c.queue.tryEnqueue(bytes(`m${i}`)).ok).toBe(true);
    await flush();
    // The turn's first batch leaves at the end of the task that made it ready, with all that is ready then.
    expect(c.batches).toEqual([3]);
    expect(c.sent.map((f) => new TextDecoder().decode(f.payload))).toEqual(["m0", "m1", "m2"]);
    expect(c.sent.every((f) => f.type === FrameType.DELIVER && f.arg === 1)).toBe(true);
    expect(c.session.credit).toBe(0);
    expect(c.session.held).toBe(3);
    c.release(); // the end of that turn: nothing more to send
    await flush();
    expect(c.batches).toEqual([3]);

    // More credit: the rest follows in the next batch, and acks settle by token.
    c.session.handleMessage(creditFrame(10));
    await flush();
    expect(c.batches).toEqual([3, 2]);
    for (const f of c.sent) c.session.handleMessage(ackFrame(f.id));
    expect(c.queue.stats()).toMatchObject({ acked: 5, active: 0, pending: 0 });
    await c.session.closed();
    c.queue.close();
  });

  test("a message published alone leaves at once; what follows in the same turn waits for its end and leaves as one batch", async () => {
    const c = consumer({ batching: true });
    c.session.handleMessage(creditFrame(10));
    await flush();
    c.queue.tryEnqueue(bytes("m0"));
    await flush();
    expect(c.batches).toEqual([1]); // no turn waited
    expect(c.coalescing()).toBe(1); // the end of this turn is scheduled once
    for (let i = 1; i < 4; i++) c.queue.tryEnqueue(bytes(`m${i}`));
    await flush();
    expect(c.batches).toEqual([1]); // nothing leaves before the burst is over
    expect(c.coalescing()).toBe(1);
    c.release();
    await flush();
    expect(c.batches).toEqual([1, 3]);
    // A new turn: its first message leaves at once again.
    c.queue.tryEnqueue(bytes("m4"));
    await flush();
    expect(c.batches).toEqual([1, 3, 1]);
    expect(c.coalescing()).toBe(2);
    expect(c.sent.map((f) => new TextDecoder().decode(f.payload))).toEqual(["m0", "m1", "m2", "m3", "m4"]);
    await c.session.closed();
    c.queue.close();
  });

  test("after a burst (a batch of 16 or more) a turn's deliveries all wait for its end; a small batch brings back the first at once", async () => {
    const c = consumer({ batching: true });
    c.session.handleMessage(creditFrame(100));
    await flush();
    for (let i = 0; i < 20; i++) c.queue.tryEnqueue(bytes(`b${i}`));
    await flush();
    expect(c.batches).toEqual([20]); // the first batch of the turn, at once
    c.release();
    await flush();
    c.queue.tryEnqueue(bytes("after-burst"));
    await flush();
    expect(c.batches).toEqual([20]); // under load: waits for the end of the turn
    c.release();
    await flush();
    expect(c.batches).toEqual([20, 1]);
    c.queue.tryEnqueue(bytes("quiet"));
    await flush();
    expect(c.batches).toEqual([20, 1, 1]); // the last batch was small: at once again
    await c.session.closed();
    c.queue.close();
  });

  test("without a batching peer every ready message is still delivered at once, in order", async () => {
    const c = consumer({ batching: false });
    for (let i = 0; i < 4; i++) c.queue.tryEnqueue(bytes(`m${i}`));
    c.session.handleMessage(creditFrame(8));
    await flush();
    expect(c.sent.map((f) => new TextDecoder().decode(f.payload))).toEqual(["m0", "m1", "m2", "m3"]);
    expect(c.session.credit).toBe(4);
    await c.session.closed();
    c.queue.close();
  });

  test("a socket that closes while the loop coalesces puts the lease straight back, not counted as an attempt", async () => {
    const c = consumer({ batching: true });
    c.session.handleMessage(creditFrame(2));
    await flush();
    c.queue.tryEnqueue(bytes("x")); // leaves at once
    await flush();
    c.queue.tryEnqueue(bytes("y")); // waits for the end of the turn
    await flush();
    expect(c.sent.map((f) => new TextDecoder().decode(f.payload))).toEqual(["x"]);
    expect(c.queue.stats().active).toBe(2);
    await c.session.closed();
    c.release();
    await flush();
    expect(c.sent.length).toBe(1);
    expect(c.queue.stats()).toMatchObject({ active: 0, pending: 2 });
    const again = [c.queue.tryLease(), c.queue.tryLease()].find((l) => l !== undefined && new TextDecoder().decode(l.payload) === "y");
    expect(again?.attempt).toBe(1);
    c.queue.close();
  });

  test("a DELIVER the runtime drops goes straight back, uncounted, and deliveries wait until the consumer speaks", async () => {
    const queue = SafeTaskQueue.create<Uint8Array>({ name: "t" });
    for (const word of ["a", "b", "c"]) await queue.enqueue(bytes(word));
    const delivered: Frame[] = [];
    let dropping = true;
    const session = new WsSession({
      queue,
      codec,
      peer: {
        send: (f) => {
          const frame = (decodeFrameMessage(f, codec) as { value: Frame }).value;
          if (frame.type === FrameType.DELIVER && dropping) return false; // what Bun's send returns 0 for
          delivered.push(frame);
          return true;
        },
        close: () => {},
      },
      accepting: () => true,
    });
    session.handleMessage(creditFrame(3));
    await new Promise<void>((r) => setTimeout(r, 0));
    expect(delivered.filter((f) => f.type === FrameType.DELIVER)).toEqual([]);
    expect(queue.stats()).toMatchObject({ pending: 3, active: 0, failed: 0 });
    expect(session.credit).toBe(3);
    dropping = false;
    session.handleMessage(pingFrame(1)); // any frame: the consumer reads again
    await new Promise<void>((r) => setTimeout(r, 0));
    const deliveries = delivered.filter((f) => f.type === FrameType.DELIVER);
    expect(deliveries.map((f) => f.arg)).toEqual([1, 1, 1]); // attempt 1: the drop did not count
    await session.closed();
  });
  test("a frame in a Uint8Array view with an offset (as Bun hands messages over) is read in place", async () => {
    const queue = SafeTaskQueue.create<Uint8Array>({ name: "t" });
    const sent: Frame[] = [];
    const session = new WsSession({
      queue,
      codec,
      peer: { send: (f) => void sent.push((decodeFrameMessage(f, codec) as { value: Frame }).value), close: () => {} },
      accepting: () => true,
    });
    const frame = publishFrame(7, bytes("hello"));
    const big = new Uint8Array(frame.byteLength + 16);
    big.set(frame, 8);
    session.handleMessage(big.subarray(8, 8 + frame.byteLength));
    expect(sent.map((f) => [f.type, f.id])).toEqual([[FrameType.RECEIPT, 7]]);
    expect(new TextDecoder().decode(queue.tryLease()!.payload)).toBe("hello");
    await session.closed();
    queue.close();
  });
});

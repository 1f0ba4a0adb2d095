// WsSession under faulty consumers (issue 12): ready items spread across consumers; a consumer
// that stops reading (runtime send buffer full, or no frame for a whole lease) gets nothing more
// and its leases go back; a consumer that dies holding several leases charges none of them —
// they come back as suspects and travel alone, so the next crash names the culprit; a stored
// queue writes a lease ahead of its DELIVER.
import { describe, expect, test } from "../harness.ts";
import { VirtualClock } from "../../src/result/mod.ts";
import { SafeTaskQueue } from "../../src/queue/mod.ts";
import { FrameType } from "../../src/protocol/frame-layout.ts";
import { ackFrame, creditFrame } from "../../src/protocol/frame-builders.ts";
import { decodeFrameMessage, type Frame } from "../../src/protocol/frames.ts";
import { WsSession } from "../../src/transport/ws-session.ts";
import { createJsFrameCodec } from "../../src/wasm/mod.ts";
import type { QueueJournal } from "../../src/queue/journal.ts";

const codec = createJsFrameCodec();
const bytes = (s: string) => new TextEncoder().encode(s);
const text = (f: Frame) => new TextDecoder().decode(f.payload);
const flush = async () => {
  for (let i = 0; i < 20; i++) await Promise.resolve();
};

function setup(options: { leaseMs?: number; journal?: QueueJournal<Uint8Array> } = {}) {
  const clock = new VirtualClock();
  const leaseMs = options.leaseMs ?? 1000;
  const queue = SafeTaskQueue.create<Uint8Array>({ name: "t", capacity: 1000, clock, leaseMs, heartbeatMs: leaseMs / 2, sweepMs: 100, maxStalls: 3, journal: options.journal });
  function attach() {
    const sent: Frame[] = [];
    let buffered = 0;
    const session = new WsSession({
      queue,
      codec,
      peer: {
        send: (frame: Uint8Array) => {
          const decoded = decodeFrameMessage(frame, codec);
          if (!decoded.ok) throw new Error(decoded.error.message);
          sent.push(decoded.value);
        },
        close: () => {},
        bufferedAmount: () => buffered,
      },
      accepting: () => true,
    });
    const c = {
      session,
      sent,
      delivered: () => sent.filter((f) => f.type === FrameType.DELIVER),
      setBuffered: (n: number) => (buffered = n),
      ackAll: () => {
        for (const f of sent.splice(0)) if (f.type === FrameType.DELIVER) session.handleMessage(ackFrame(f.id));
      },
    };
    return c;
  }
  return { clock, queue, attach };
}

describe("WsSession with faulty consumers", () => {
  test("ready items spread across consumers instead of filling the first one's credit", async () => {
    const { queue, attach } = setup();
    const a = attach();
    const b = attach();
    a.session.handleMessage(creditFrame(1000));
    b.session.handleMessage(creditFrame(1000));
    await flush();
    for (let i = 0; i < 200; i++) queue.tryEnqueue(bytes(`m${i}`));
    await flush();
    expect(a.delivered().length + b.delivered().length).toBe(200);
    expect(Math.min(a.delivered().length, b.delivered().length)).toBeGreaterThanOrEqual(60);
  });

  test("a consumer whose send buffer is full gets nothing more until it drains", async () => {
    const { queue, clock, attach } = setup();
    const slow = attach();
    slow.session.handleMessage(creditFrame(100));
    await flush();
    slow.setBuffered(4 << 20);
    queue.tryEnqueue(bytes("first"));
    await flush();
    expect(slow.delivered().map(text)).toEqual(["first"]);
    for (let i = 0; i < 5; i++) queue.tryEnqueue(bytes(`later${i}`));
    await flush();
    expect(slow.delivered().length).toBe(1); // paused: the runtime still holds what it was sent
    const healthy = attach();
    healthy.session.handleMessage(creditFrame(100));
    await flush();
    expect(healthy.delivered().length).toBe(5);
    slow.setBuffered(0);
    await clock.advance(50);
    queue.tryEnqueue(bytes("after-drain"));
    await flush();
    expect([...slow.delivered(), ...healthy.delivered()].map(text)).toContain("after-drain");
  });

  test("a consumer that reads nothing for a whole lease is stuck: its leases go back and it gets no more", async () => {
    const { queue, clock, attach } = setup({ leaseMs: 1000 });
    const stuck = attach();
    stuck.session.handleMessage(creditFrame(100));
    await flush();
    for (let i = 0; i < 3; i++) queue.tryEnqueue(bytes(`s${i}`));
    await flush();
    expect(stuck.delivered().length).toBe(3);
    await clock.advance(900); // not yet a whole lease
    const healthy = attach();
    healthy.session.handleMessage(creditFrame(100));
    await flush();
    await clock.advance(150); // the 3 leases expire: one stall each, requeued
    await flush();
    expect(stuck.delivered().length).toBe(3); // the stuck one was offered them back and refused
    expect(healthy.delivered().map(text).sort()).toEqual(["s0", "s1", "s2"]);
    healthy.ackAll();
    for (let i = 0; i < 3; i++) queue.tryEnqueue(bytes(`n${i}`));
    await flush();
    expect(healthy.delivered().length).toBe(3);
    expect(stuck.delivered().length).toBe(3);
    expect(queue.stats().poisoned).toBe(0);
  });

  test("a consumer that dies holding several leases charges none; suspects come back alone and the next crash names the culprit", async () => {
    const { queue, attach } = setup();
    for (const p of ["innocent-1", "killer", "innocent-2"]) queue.tryEnqueue(bytes(p));
    const first = attach();
    first.session.handleMessage(creditFrame(10));
    await flush();
    expect(first.delivered().length).toBe(3);
    await first.session.closed(); // crashed holding three
    // Each comes back alone: a consumer with credit 10 holds one suspect at a time.
    const deaths: string[] = [];
    let c = attach();
    c.session.handleMessage(creditFrame(10));
    for (let round = 0; round < 12 && queue.stats().pending + queue.stats().active > 0; round++) {
      await flush();
      const got = c.delivered();
      expect(got.length).toBeLessThanOrEqual(1);
      if (got.length === 0) break;
      if (text(got[0]!) === "killer") {
        deaths.push("killer");
        await c.session.closed(); // it kills this consumer too: now the stall is charged to it alone
        c = attach();
        c.session.handleMessage(creditFrame(10));
      } else c.ackAll();
    }
    expect(queue.stats().acked).toBe(2);
    const [entry] = queue.poison.list();
    expect(new TextDecoder().decode(entry!.payload)).toBe("killer");
    expect(entry!.exhausted).toBe("stalls");
    expect(deaths.length).toBe(3);
  });

  test("a consumer that was waiting while busy gets the suspects once it settles what it holds", async () => {
    const { queue, attach } = setup();
    const b = attach();
    b.session.handleMessage(creditFrame(2)); // no credit left after these two: not waiting
    await flush();
    queue.tryEnqueue(bytes("s1"));
    queue.tryEnqueue(bytes("s2"));
    await flush();
    expect(b.delivered().map(text)).toEqual(["s1", "s2"]);
    const a = attach();
    a.session.handleMessage(creditFrame(5));
    await flush();
    queue.tryEnqueue(bytes("a-work"));
    await flush();
    expect(a.delivered().map(text)).toEqual(["a-work"]); // a holds one and waits for more, busy
    await b.session.closed(); // b dies holding two: both suspects, neither charged
    await flush();
    expect(a.delivered().length).toBe(1); // busy: no suspect for a yet
    a.ackAll();
    await flush();
    expect(a.delivered().map(text)).toEqual(["s1"]); // free now: one suspect, alone
    a.ackAll();
    await flush();
    expect(a.delivered().map(text)).toEqual(["s2"]);
    a.ackAll();
    await flush();
    expect(queue.stats()).toMatchObject({ acked: 3, pending: 0, active: 0, poisoned: 0 });
  });

  test("on a stored queue, a DELIVER leaves only after its lease is committed", async () => {
    let committed = 0;
    const waiting: ((r: { ok: true; value: undefined }) => void)[] = [];
    const journal: QueueJournal<Uint8Array> = {
      recover: () => [],
      load: () => ({ items: 0, lastSequence: 0, poison: [], keys: [] }),
      page: () => [],
      added: () => {},
      changed: () => {},
      removed: () => {},
      poisoned: () => {},
      replayed: () => {},
      purged: () => {},
      sizeOf: (p) => p.byteLength,
      get dirty() {
        return true;
      },
      afterCommit: (done) => void waiting.push(done),
      failure: undefined,
    };
    const { queue, attach } = setup({ journal });
    const c = attach();
    c.session.handleMessage(creditFrame(5));
    await flush();
    queue.tryEnqueue(bytes("m"));
    await flush();
    expect(c.delivered().length).toBe(0);
    for (const done of waiting.splice(0)) (committed++, done({ ok: true, value: undefined }));
    await flush();
    expect(committed).toBeGreaterThan(0);
    expect(c.delivered().map(text)).toEqual(["m"]);
  });
  test("a client that sends only malformed frames gets 64 ERRORs, then the socket is closed with 1008", async () => {
    const queue = SafeTaskQueue.create<Uint8Array>({ name: "t" });
    const sent: Frame[] = [];
    const closes: number[] = [];
    const session = new WsSession({
      queue,
      codec,
      peer: { send: (b: Uint8Array) => void sent.push((decodeFrameMessage(b, codec) as { value: Frame }).value), close: (code: number) => void closes.push(code) },
      accepting: () => true,
    });
    for (let i = 0; i < 1000; i++) session.handleMessage(new Uint8Array([9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9]));
    expect(sent.filter((f) => f.type === FrameType.ERROR).length).toBe(64);
    expect(closes).toEqual([1008]);
    // One good frame between bad ones resets the run: a client with an occasional bad frame is not closed.
    const other = new WsSession({ queue, codec, peer: { send: () => {}, close: (code: number) => void closes.push(code) }, accepting: () => true });
    for (let i = 0; i < 200; i++) {
      other.handleMessage(new Uint8Array(24).fill(7));
      other.handleMessage(creditFrame(0));
    }
    expect(closes).toEqual([1008]);
  });
});

// Fencing on the wire (issue 17): real bridges with leadership fences, each through a real
// Downstream over an in-memory socket into a real WsSession of a receiving "Sluice" whose
// FenceTerms remember the highest term per scope. A deposed leader's bridge (term 1) that still
// believes it leads is refused once the new leader (term 2) announced itself: ERROR
// lease.inactive with the fence in its metadata; the old bridge is told (fenced), puts the lease
// back uncounted and sends nothing more. Also the plain WsSession rules: a stale FENCE is
// refused, a connection without FENCE is not checked, a term that was never announced is not
// accepted, and the Relay (Connect) refuses a lower term with FAILED_PRECONDITION.
import { describe, expect, test } from "../harness.ts";
import { create } from "@bufbuild/protobuf";
import { CommandSchema } from "../../src/gen/sluice/v1/command_pb.ts";
import { isFenceRefusal } from "../../src/protocol/fence.ts";
import { loadConfig } from "../../src/server/config.ts";
import { Broker } from "../../src/server/broker.ts";
import { createApp } from "../../src/server/app.ts";
import { RelayClient } from "../../src/transport/relay-client.ts";
import { SafeTaskQueue } from "../../src/queue/mod.ts";
import { delay } from "../../src/result/delay.ts";
import { encodeFrame, decodeFrameMessage, type Frame } from "../../src/protocol/frames.ts";
import { FrameType } from "../../src/protocol/frame-layout.ts";
import { publishFrame } from "../../src/protocol/frame-builders.ts";
import { fenceFrame } from "../../src/protocol/fence.ts";
import { decodeErrorPayload } from "../../src/protocol/messages.ts";
import { FenceTerms } from "../../src/mesh/leadership/fence-terms.ts";
import { WsSession } from "../../src/transport/ws-session.ts";
import { bridge, type BridgeFence } from "../../src/transport/bridge.ts";
import { Downstream } from "../../src/transport/downstream.ts";
import { createJsFrameCodec } from "../../src/wasm/mod.ts";
import { FakeNetwork, type FakeSocket } from "./fake-socket.ts";

const codec = createJsFrameCodec();
const bytes = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array) => new TextDecoder().decode(b);
const SCOPE = "bridge/jobs";

async function until(check: () => boolean, what: string, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await delay(2);
  }
}

/** A receiving Sluice in-process: one WsSession per socket into the `sink` queue, sharing FenceTerms. */
function receiver() {
  const sink = SafeTaskQueue.create<Uint8Array>({ name: "sink", capacity: 1000 });
  const fences = new FenceTerms();
  const sessions = new Map<FakeSocket, WsSession>();
  const network = new FakeNetwork((frame: Frame, socket: FakeSocket) => {
    let session = sessions.get(socket);
    if (session === undefined) {
      session = new WsSession({ queue: sink, codec, peer: { send: (f) => socket.reply(f), close: () => socket.kill() }, accepting: () => true, fences });
      sessions.set(socket, session);
    }
    session.handleMessage(encodeFrame({ type: frame.type, id: frame.id, arg: frame.arg, payload: frame.payload }));
  });
  const received = () => {
    const out: string[] = [];
    for (let lease = sink.tryLease(); lease !== undefined; lease = sink.tryLease()) {
      out.push(text(lease.payload));
      sink.ack(lease);
    }
    return out;
  };
  return { sink, fences, network, received };
}

function fenceOf(term: number) {
  const state = { current: true, fenced: [] as string[] };
  const fence: BridgeFence = { scope: SCOPE, term, isCurrent: () => state.current, fenced: (why) => state.fenced.push(why) };
  return { fence, state };
}

describe("fencing between a bridge and a receiving Sluice", () => {
  test("the deposed leader's send after the new leader's FENCE is refused by term, put back uncounted, and reported", async () => {
    const r = receiver();
    const oldQueue = SafeTaskQueue.create<Uint8Array>({ name: "jobs-a", maxRetries: 2 });
    const newQueue = SafeTaskQueue.create<Uint8Array>({ name: "jobs-b" });
    const oldLeader = fenceOf(1);
    const newLeader = fenceOf(2);
    const a = bridge(oldQueue, { wsUrl: "ws://sink/", socketFactory: r.network.factory, fence: oldLeader.fence, concurrency: 1, pingIntervalMs: 0 });
    await oldQueue.enqueue(bytes("a1"));
    await until(() => oldQueue.stats().acked === 1, "a1 delivered under term 1");

    const b = bridge(newQueue, { wsUrl: "ws://sink/", socketFactory: r.network.factory, fence: newLeader.fence, concurrency: 1, pingIntervalMs: 0 });
    await newQueue.enqueue(bytes("b1"));
    await until(() => newQueue.stats().acked === 1, "b1 delivered under term 2");
    expect(r.fences.highest(SCOPE)).toBe(2);

    // The old leader does not know yet: its next send goes out under term 1.
    await oldQueue.enqueue(bytes("a2"));
    await until(() => a.stats.fenced === 1, "the old bridge fenced");
    expect(oldLeader.state.fenced.length).toBe(1);
    expect(oldLeader.state.fenced[0]).toContain("superseded by term 2");
    expect(oldQueue.stats()).toMatchObject({ acked: 1, failed: 0, pending: 1, poisoned: 0 });
    expect(r.received()).toEqual(["a1", "b1"]);
    // Each connection said FENCE first.
    for (const socket of r.network.sockets) expect(socket.received[0]!.type).toBe(FrameType.FENCE);

    await a.stop();
    await b.stop();
    // The new leader's bridge takes over the old queue's message: it lands, under term 2.
    const c = bridge(oldQueue, { wsUrl: "ws://sink/", socketFactory: r.network.factory, fence: fenceOf(2).fence, concurrency: 1, pingIntervalMs: 0 });
    await until(() => oldQueue.stats().acked === 2, "a2 delivered by the new leader");
    expect(r.received()).toEqual(["a2"]);
    await c.stop();
  });

  test("a bridge whose fence is no longer current sends nothing and holds no lease", async () => {
    const r = receiver();
    const queue = SafeTaskQueue.create<Uint8Array>({ name: "jobs" });
    const leader = fenceOf(3);
    leader.state.current = false;
    const b = bridge(queue, { wsUrl: "ws://sink/", socketFactory: r.network.factory, fence: leader.fence, concurrency: 2, pingIntervalMs: 0 });
    await queue.enqueue(bytes("m1"));
    await until(() => b.stats.fenced >= 1, "stepped aside");
    expect(queue.stats()).toMatchObject({ pending: 1, active: 0, failed: 0 });
    expect(r.network.sockets.length).toBe(0);
    await b.stop();
  });
});

describe("Downstream fence", () => {
  test("FENCE goes first on every connection, and again on the open socket when the term changes", async () => {
    const r = receiver();
    const downstream = new Downstream({ url: "ws://sink/", socketFactory: r.network.factory, pingIntervalMs: 0, fence: { scope: SCOPE, term: 1 } });
    expect((await downstream.send(1, bytes("x"))).ok).toBe(true);
    downstream.fence({ scope: SCOPE, term: 2 });
    expect((await downstream.send(2, bytes("y"))).ok).toBe(true);
    r.network.last!.kill();
    await until(() => downstream.state !== "open", "the socket down");
    await delay(150); // the reconnect backoff
    expect((await downstream.send(3, bytes("z"))).ok).toBe(true);
    const frames = r.network.sockets.map((socket) => socket.received.map((f) => (f.type === FrameType.FENCE ? `FENCE` : `PUBLISH ${f.id}`)));
    expect(frames).toEqual([["FENCE", "PUBLISH 1", "FENCE", "PUBLISH 2"], ["FENCE", "PUBLISH 3"]]);
    expect(r.fences.highest(SCOPE)).toBe(2);
    await downstream.close();
  });
});

describe("WsSession fencing rules", () => {
  function session(fences = new FenceTerms()) {
    const queue = SafeTaskQueue.create<Uint8Array>({ name: "sink" });
    const sent: Frame[] = [];
    const s = new WsSession({
      queue,
      codec,
      peer: { send: (f) => void sent.push((decodeFrameMessage(f, codec) as { value: Frame }).value), close: () => {} },
      accepting: () => true,
      fences,
    });
    return { s, sent, queue, fences };
  }
  const errors = (sent: Frame[]) => sent.filter((f) => f.type === FrameType.ERROR).map((f) => ({ id: f.id, ...(decodeErrorPayload(f.payload) as { value: { code: string } }).value }));

  test("a stale FENCE is refused, and so is every PUBLISH of that connection; without FENCE nothing is checked", async () => {
    const fences = new FenceTerms();
    expect(fences.admit(SCOPE, 5).ok).toBe(true);
    const stale = session(fences);
    stale.s.handleMessage(fenceFrame({ scope: SCOPE, term: 4 }, 9));
    stale.s.handleMessage(publishFrame(1, bytes("x")));
    await delay(1);
    expect(errors(stale.sent).map((e) => [e.id, e.code])).toEqual([[9, "lease.inactive"], [1, "lease.inactive"]]);
    expect(stale.queue.stats().enqueued).toBe(0);

    const plain = session(fences);
    plain.s.handleMessage(publishFrame(1, bytes("y")));
    await delay(1);
    expect(plain.sent.map((f) => f.type)).toEqual([FrameType.RECEIPT]);

    const malformed = session(fences);
    malformed.s.handleMessage(encodeFrame({ type: FrameType.FENCE, id: 3, payload: new Uint8Array([0xff]) }));
    await delay(1);
    expect(errors(malformed.sent).map((e) => e.code)).toEqual(["frame.malformed"]);
  });
});


describe("Relay fencing (Sluice's own Relay service)", () => {
  function relayServer() {
    const loaded = loadConfig({ fileText: JSON.stringify({ queues: { jobs: {} } }) });
    if (!loaded.ok) throw new Error(loaded.error.message);
    const broker = new Broker({ config: loaded.value });
    const app = createApp(loaded.value, { broker });
    const fetch = ((input: string | URL | Request, init?: RequestInit) => app.fetch(new Request(input as string, init))) as typeof globalThis.fetch;
    return { broker, relay: new RelayClient({ baseUrl: "http://relay.test", fetch }), jobs: broker.queue("jobs")! };
  }
  const command = (id: number, payload: string) => create(CommandSchema, { queue: "jobs", id: { case: "sequenceId", value: BigInt(id) }, payload: bytes(payload), attempt: 1 });

  test("Send and Execute with a lower term than one seen are refused with failed_precondition (lease.inactive); nothing of them is enqueued", async () => {
    const { broker, relay, jobs } = relayServer();
    expect((await relay.send(command(1, "t5"), { fence: { scope: SCOPE, term: 5 } })).ok).toBe(true);
    expect((await relay.send(command(2, "t6"), { fence: { scope: SCOPE, term: 6 } })).ok).toBe(true);
    expect((await relay.send(command(3, "plain"))).ok).toBe(true); // no fence: not checked
    const late = await relay.send(command(4, "late"), { fence: { scope: SCOPE, term: 5 } });
    expect(!late.ok && late.error.code).toBe("lease.inactive");
    expect(!late.ok && late.error.metadata?.connectCode).toBe("FailedPrecondition");
    expect(!late.ok && isFenceRefusal(late.error)).toBe(true);
    const replies: [number, boolean][] = [];
    const batch = await relay.execute([command(5, "b1"), command(6, "b2")], { fence: { scope: SCOPE, term: 4 }, onReply: (id, r) => replies.push([id, r.ok]) });
    expect(!batch.ok && batch.error.code).toBe("lease.inactive");
    expect(replies).toEqual([[5, false], [6, false]]);
    expect(jobs.stats().enqueued).toBe(3);
    expect(broker.fences.highest(SCOPE)).toBe(6);
  });

  test("a bridge on the Relay path with a superseded term steps aside: fenced, the lease back uncounted", async () => {
    const { broker, relay, jobs } = relayServer();
    expect(broker.fences.admit(SCOPE, 9).ok).toBe(true);
    const queue = SafeTaskQueue.create<Uint8Array>({ name: "jobs" });
    const old = fenceOf(8);
    const b = bridge(queue, { relay, fence: old.fence, concurrency: 1, targetQueue: "jobs" });
    await queue.enqueue(bytes("m"));
    await until(() => b.stats.fenced === 1, "fenced on the Relay path");
    expect(old.state.fenced.length).toBe(1);
    expect(queue.stats()).toMatchObject({ failed: 0, pending: 1, acked: 0 });
    expect(jobs.stats().enqueued).toBe(0);
    await b.stop();
  });
});

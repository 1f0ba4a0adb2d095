// PendingAcks and Downstream against an in-memory socket on a VirtualClock: ACK/NACK matching by
// id, late ACKs, rollback, close failing everything pending, reconnect backoff, PING/PONG; a
// downstream Sluice's answers: RECEIPT confirms, GOAWAY(id) turns away, ERROR lease.inactive (its
// answer to a rollback NACK) settles nothing, and a peer that answers RECEIPT gets no NACK.
import { describe, expect, test } from "../harness.ts";
import { err, ok, sluiceError, VirtualClock, withTimeout } from "../../src/result/mod.ts";
import { RetryPolicy } from "../../src/result/retry-policy.ts";
import { FrameType } from "../../src/protocol/frame-layout.ts";
import { ackFrame, errorFrame, goawayFrame, nackFrame, pongFrame, receiptFrame } from "../../src/protocol/frame-builders.ts";
import { PendingAcks } from "../../src/transport/pending-acks.ts";
import { Downstream } from "../../src/transport/downstream.ts";
import { FakeNetwork } from "./fake-socket.ts";

const bytes = (s: string) => new TextEncoder().encode(s);

describe("PendingAcks", () => {
  test("settles by id, ignores unknown and late answers, fails all on close", async () => {
    const pending = new PendingAcks();
    const a = pending.wait(1);
    const b = pending.wait(2);
    expect(pending.settle(3, ok())).toBe(false);
    expect(pending.settle(1, ok())).toBe(true);
    expect(pending.settle(1, ok())).toBe(false);
    expect((await a).ok).toBe(true);
    expect(pending.failAll(sluiceError("unavailable", "socket closed"))).toBe(1);
    expect((await b).error?.code).toBe("unavailable");
    expect(pending.size).toBe(0);
  });
  test("an aborted waiter leaves; a drop (rollback) cancels; a second wait supersedes the first", async () => {
    const pending = new PendingAcks();
    const c = new AbortController();
    const aborted = pending.wait(1, c.signal);
    c.abort();
    expect((await aborted).error?.code).toBe("canceled");
    expect(pending.has(1)).toBe(false);
    const dropped = pending.wait(2);
    expect(pending.drop(2)).toBe(true);
    expect((await dropped).error?.code).toBe("canceled");
    const first = pending.wait(3);
    const second = pending.wait(3);
    expect((await first).error?.code).toBe("lease.inactive");
    pending.settle(3, err("timeout", "x"));
    expect((await second).error?.code).toBe("timeout");
  });
});

describe("Downstream", () => {
  const setup = (answer: "ack" | "silent" | "nack" | "error" = "ack", pingIntervalMs = 0) => {
    const clock = new VirtualClock();
    const net = new FakeNetwork((frame, socket) => {
      if (frame.type === FrameType.PING) return socket.reply(pongFrame(frame.id));
      if (frame.type !== FrameType.PUBLISH || answer === "silent") return;
      if (answer === "ack") socket.reply(ackFrame(frame.id));
      if (answer === "nack") socket.reply(nackFrame(frame.id, { code: "validation", message: "bad payload", requeue: false }));
      if (answer === "error") socket.reply(errorFrame(sluiceError("queue.full", "full"), frame.id));
    });
    const downstream = new Downstream({
      url: "ws://fake/",
      clock,
      pingIntervalMs,
      socketFactory: net.factory,
      reconnect: RetryPolicy.exponential({ attempts: 4, initialMs: 100 }),
    });
    return { clock, net, downstream };
  };

  test("connects lazily, sends PUBLISH (id, payload) and resolves on the matching ACK", async () => {
    const { net, downstream } = setup();
    expect(downstream.state).toBe("idle");
    const sent = await Promise.all([downstream.send(7, bytes("a")), downstream.send(8, bytes("b"))]);
    expect(sent.every((r) => r.ok)).toBe(true);
    expect(net.sockets.length).toBe(1);
    expect(net.last!.received.map((f) => [f.type, f.id, new TextDecoder().decode(f.payload)])).toEqual([
      [FrameType.PUBLISH, 7, "a"],
      [FrameType.PUBLISH, 8, "b"],
    ]);
    expect(downstream.stats).toMatchObject({ sent: 2, acked: 2 });
    await downstream.close();
    expect(downstream.state).toBe("closed");
  });

  test("NACK and ERROR frames fail the send with the downstream's code, marked as its verdict", async () => {
    for (const [answer, code] of [["nack", "validation"], ["error", "queue.full"]] as const) {
      const { downstream } = setup(answer);
      const r = await downstream.send(1, bytes("x"));
      expect(r.error?.code).toBe(code);
      expect(r.error?.metadata?.by).toBe("downstream");
      await downstream.close();
    }
  });

  test("a send timeout (withTimeout) removes the waiter; a late ACK changes nothing; rollback sends NACK(id)", async () => {
    const { clock, net, downstream } = setup("silent");
    const sent = withTimeout((signal) => downstream.send(5, bytes("x"), { signal }), 100, { clock });
    await clock.advance(100);
    expect((await sent).error?.code).toBe("timeout");
    expect(downstream.pending).toBe(0);
    net.last!.reply(ackFrame(5));
    await clock.flush();
    expect(downstream.stats.acked).toBe(0);
    downstream.rollback(5);
    expect(net.last!.received.at(-1)).toMatchObject({ type: FrameType.NACK, id: 5 });
    await downstream.close();
  });

  test("a dropped socket fails every pending send at once; sends fail fast during the backoff, then it reconnects", async () => {
    const { clock, net, downstream } = setup("silent");
    const pending = [downstream.send(1, bytes("a")), downstream.send(2, bytes("b"))];
    await clock.flush();
    expect(downstream.pending).toBe(2);
    net.up = false;
    net.last!.kill();
    const failed = await Promise.all(pending);
    expect(failed.map((r) => r.error?.code)).toEqual(["unavailable", "unavailable"]);
    expect(downstream.state).toBe("down");
    // First reconnect attempt runs right away and fails; the next waits out the backoff.
    expect((await downstream.send(3, bytes("c"))).error?.code).toBe("unavailable");
    const during = await downstream.send(4, bytes("d"));
    expect(during.error?.message).toContain("next connection attempt");
    expect(net.sockets.length).toBe(2);
    net.up = true;
    net.onFrame = (frame, socket) => socket.reply(ackFrame(frame.id));
    await clock.advance(100);
    expect((await downstream.send(5, bytes("e"))).ok).toBe(true);
    expect(net.sockets.length).toBe(3);
    expect(downstream.state).toBe("open");
    await downstream.close();
  });

  test("heartbeat: PING every interval; a missed PONG closes the socket and fails pending sends", async () => {
    const { clock, net, downstream } = setup("silent", 1000);
    expect((await downstream.connect()).ok).toBe(true);
    await clock.advance(1000);
    expect(net.last!.received.filter((f) => f.type === FrameType.PING).map((f) => f.id)).toEqual([1]);
    await clock.advance(1000); // PONG 1 came back: all good, PING 2 goes out
    expect(downstream.state).toBe("open");
    const inFlight = downstream.send(9, bytes("x"));
    net.onFrame = () => {}; // the peer hangs: no PONG, no ACK
    await clock.advance(1000); // PING 3 (PONG 2 arrived before the peer hung? it replied in a microtask: yes)
    await clock.advance(1000); // PONG 3 missing → down
    const r = await inFlight;
    expect(r.error?.code).toBe("unavailable");
    expect(r.error?.message).toContain("missed a PONG");
    expect(downstream.stats.missedPongs).toBe(1);
    expect(downstream.state).toBe("down");
    expect(clock.pendingTimers).toBe(0); // the ticker released its timer
    await downstream.close();
  });

  test("a downstream Sluice: RECEIPT confirms like ACK; rollback sends it no NACK; its ERROR lease.inactive settles nothing", async () => {
    const { clock, net, downstream } = setup("silent");
    const receipt = (id: number) => receiptFrame(id, { sequenceId: 1000 + id, queue: "jobs", duplicate: false });
    const first = downstream.send(1, bytes("a"));
    await clock.flush();
    net.last!.reply(receipt(1));
    expect((await first).ok).toBe(true);
    expect(downstream.stats).toMatchObject({ acked: 1, receipts: 1 });
    // A send that timed out is withdrawn: no NACK to a peer that answered RECEIPT (a Sluice
    // would read it as a lease settlement and answer ERROR lease.inactive).
    const slow = withTimeout((signal) => downstream.send(2, bytes("b"), { signal }), 100, { clock });
    await clock.advance(100);
    expect((await slow).error?.code).toBe("timeout");
    downstream.rollback(2);
    expect(net.last!.received.filter((f) => f.type === FrameType.NACK)).toEqual([]);
    // The same id sent again: a stray ERROR lease.inactive for it is not an answer to a PUBLISH.
    const again = downstream.send(2, bytes("b"));
    await clock.flush();
    net.last!.reply(errorFrame(sluiceError("lease.inactive", "lease 2 is not held by this connection"), 2));
    await clock.flush();
    expect(downstream.pending).toBe(1);
    net.last!.reply(receipt(2));
    expect((await again).ok).toBe(true);
    expect(downstream.stats).toMatchObject({ acked: 2, receipts: 2, refused: 0 });
    await downstream.close();
  });

  test("GOAWAY(id): that send fails unavailable (not taken, not a verdict); GOAWAY 0 settles nothing", async () => {
    const { clock, net, downstream } = setup("silent");
    const a = downstream.send(1, bytes("a"));
    const b = downstream.send(2, bytes("b"));
    await clock.flush();
    net.last!.reply(goawayFrame(0));
    net.last!.reply(goawayFrame(1));
    const r = await a;
    expect(r.error?.code).toBe("unavailable");
    expect(r.error?.metadata?.by).toBeUndefined();
    expect(r.error?.message).toContain("GOAWAY");
    expect(downstream.pending).toBe(1);
    net.last!.reply(ackFrame(2));
    expect((await b).ok).toBe(true);
    expect(downstream.stats).toMatchObject({ turnedAway: 1, acked: 1 });
    await downstream.close();
  });
});

// The gossip pumps of issue #16 through GossipService, on the virtual clock with fake peers:
// ack on success, retry then poison (a hint, never a verdict), supersede, the concurrency bound,
// inbound answered at once and merged in the pump, full → 429, stop drains inbound, leave.
import { describe, expect, test } from "../harness.ts";
import { err, ok, type Result, sluiceError, VirtualClock } from "../../src/result/mod.ts";
import { MetricsRegistry } from "../../src/queue/mod.ts";
import { statusForCode } from "../../src/server/http-errors.ts";
import {
  GOSSIP_PUMP_DEFAULTS,
  decodeGossipEnvelope,
  encodeGossipEnvelope,
  type GossipEnvelope,
  type GossipOptions,
  GossipService,
  InboundPump,
  LocalHealth,
  Membership,
  GossipMetrics,
  memberRecord,
  type MemberRecord,
  type SendEnvelope,
} from "../../src/mesh/gossip/mod.ts";

const url = (id: string) => `http://${id}:8787`;
const rec = (id: string, incarnation = 1, status: "alive" | "suspect" = "alive"): MemberRecord =>
  memberRecord({ id, url: url(id), status, incarnation });
const envelope = (id: string, members: MemberRecord[] = [rec(id)]): GossipEnvelope => ({ fromId: id, fromUrl: url(id), members });

interface Call {
  url: string;
  envelope: GossipEnvelope;
  at: number;
}

function service(options: Partial<GossipOptions> & { send?: SendEnvelope } = {}) {
  const clock = new VirtualClock(1_000_000);
  const calls: Call[] = [];
  const registry = new MetricsRegistry();
  const send: SendEnvelope = options.send ?? (async (to) => ok(envelope(to.slice(7, -5))));
  const gossip = GossipService.create({
    nodeId: "self",
    url: url("self"),
    clock,
    metrics: registry,
    random: seeded(7),
    incarnation: 5,
    ...options,
    send: (to, e, signal) => {
      calls.push({ url: to, envelope: e, at: clock.now() });
      return send(to, e, signal);
    },
  });
  return { clock, calls, registry, gossip };
}

function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A send that never answers: it settles only when its signal aborts (the exchange timeout). */
const hang: SendEnvelope = (_url, _e, signal) =>
  new Promise<Result<GossipEnvelope>>((resolve) => signal.addEventListener("abort", () => resolve(err(sluiceError("canceled", "aborted"))), { once: true }));

const metric = (registry: MetricsRegistry, name: string, labels: Record<string, string>) => registry.value(name, labels);
const OUT = { queue: "gossip.outbound", role: "gossip" };

describe("gossip outbound", () => {
  test("a lone node (no peers, no seeds) runs its rounds and sends nothing", async () => {
    const { gossip, clock, calls } = service();
    gossip.start();
    await clock.advance(10_000);
    expect(gossip.round).toBe(10);
    expect(calls).toEqual([]);
    await gossip.stop();
  });

  test("contacts seeds until it knows peers; a reply is merged and the item acked", async () => {
    const { gossip, clock, calls, registry } = service({
      seeds: [url("seed"), url("self")],
      send: async () => ok(envelope("seed", [rec("seed", 3), rec("other", 4)])),
    });
    gossip.start();
    await clock.advance(1_000);
    expect(calls.map((c) => c.url)).toEqual([url("seed")]); // never its own url
    expect(calls[0]!.envelope.members[0]).toMatchObject({ id: "self", incarnation: 5 });
    expect(gossip.membership.record("seed")).toMatchObject({ status: "alive", incarnation: 3 });
    expect(gossip.membership.record("other")).toMatchObject({ status: "alive", incarnation: 4 });
    expect(metric(registry, "sluice_acked_total", OUT)).toBe(1);
    await clock.advance(1_000);
    expect(calls.slice(1).map((c) => c.url).sort()).toEqual([url("other"), url("seed")]); // known peers now
    await gossip.stop();
  });

  test("a failing peer is retried requeueDelayMs apart, then poisoned as a hint; the sweep (not the pump) suspects it, then declares it dead", async () => {
    const { gossip, clock, calls, registry } = service({
      fanout: 1,
      send: async () => err(sluiceError("unavailable", "connection refused")),
      outbound: { maxRetries: 3, requeueDelayMs: 100 },
      localHealth: { enabled: false }, // exact timers (Lifeguard's stretch is tested with Membership)
    });
    gossip.membership.restore([rec("b")]);
    gossip.start();
    await clock.advance(1_000);
    await clock.advance(250);
    expect(calls.map((c) => c.at - 1_001_000)).toEqual([0, 100, 200]);
    expect(gossip.outbound.queue.poison.size).toBe(1);
    expect(metric(registry, "sluice_mesh_suspect_hints_total", {})).toBe(1);
    expect(gossip.membership.record("b")?.status).toBe("alive"); // a hint, not a verdict
    await clock.advance(4_750); // 4.8 s after the hint (t = 1,001,200); every round probed b again
    expect(gossip.membership.record("b")?.status).toBe("alive");
    expect(calls.filter((c) => c.envelope.round === 5).length).toBe(3);
    await clock.advance(1_000);
    expect(gossip.membership.record("b")?.status).toBe("suspect");
    await clock.advance(15_000);
    expect(gossip.membership.record("b")?.status).toBe("dead");
    const roundsSeen = new Set(calls.map((c) => c.envelope.round));
    expect(roundsSeen.size).toBeGreaterThan(5);
    await gossip.stop();
  });

  test("a transient failure is retried and then succeeds: no hint", async () => {
    let n = 0;
    const { gossip, clock, registry } = service({
      fanout: 1,
      send: async () => (++n < 3 ? err(sluiceError("timeout", "slow")) : ok(envelope("b", [rec("b")]))),
    });
    gossip.membership.restore([rec("b")]);
    gossip.start();
    await clock.advance(1_500);
    expect(n).toBe(3);
    expect(metric(registry, "sluice_acked_total", OUT)).toBe(1);
    expect(metric(registry, "sluice_failed_total", OUT)).toBe(2);
    expect(gossip.outbound.queue.poison.size).toBe(0);
    expect(metric(registry, "sluice_mesh_suspect_hints_total", {})).toBe(0);
    await gossip.stop();
  });

  test("a send that throws, or a queueDepths callback that throws, is a failed exchange / a skipped update — gossip goes on", async () => {
    const { gossip, clock, registry } = service({
      fanout: 1,
      send: () => {
        throw new Error("bug in send");
      },
      queueDepths: () => {
        throw new Error("bug in depths");
      },
    });
    gossip.membership.restore([rec("b")]);
    gossip.start();
    await clock.advance(3_000);
    expect(gossip.round).toBe(3);
    expect(metric(registry, "sluice_failed_total", OUT)).toBeGreaterThanOrEqual(3);
    expect(gossip.outbound.queue.poison.list()[0]?.lastError.code).toBe("internal");
    await gossip.stop();
  });

  test("a newer round supersedes a stale retry for the same target", async () => {
    const { gossip, clock, calls, registry } = service({
      fanout: 1,
      timeoutMs: 600,
      send: hang,
      outbound: { maxRetries: 5, requeueDelayMs: 500 },
      localHealth: { enabled: false },
    });
    gossip.membership.restore([rec("b")]);
    gossip.start();
    await clock.advance(3_500);
    // Round 1's first attempt timed out at 1.6 s; its retry was due at 2.1 s, after round 2 began.
    const byRound = (r: number) => calls.filter((c) => c.envelope.round === r).length;
    expect(byRound(1)).toBe(1);
    expect(metric(registry, "sluice_pump_superseded_total", { role: "gossip", pump: "gossip.outbound" })).toBeGreaterThanOrEqual(1);
    expect(gossip.outbound.queue.poison.size).toBe(0);
    await gossip.stop();
  });

  test("in-flight sends never exceed the pump's concurrency (= the fan-out)", async () => {
    let inFlight = 0;
    let peak = 0;
    const { gossip, clock } = service({
      fanout: 3,
      timeoutMs: 2_500,
      send: (u, e, signal) => {
        inFlight++;
        peak = Math.max(peak, inFlight);
        return hang(u, e, signal).then((r) => {
          inFlight--;
          return r;
        });
      },
    });
    gossip.membership.restore(Array.from({ length: 10 }, (_, i) => rec(`p${i}`)));
    expect(gossip.outbound.concurrency).toBe(3);
    gossip.start();
    await clock.advance(6_000);
    expect(peak).toBe(3);
    expect(gossip.outbound.queue.stats().pending).toBeGreaterThan(0); // the rest waited their turn
    await gossip.stop();
    expect(inFlight).toBe(0); // stop canceled the sends in flight
  });
});

describe("gossip inbound", () => {
  test("answers at once with this node's envelope; the merge runs in the pump", async () => {
    const { gossip, clock } = service();
    gossip.start();
    const reply = gossip.receive(envelope("x", [rec("x", 9), rec("y", 2)]));
    expect(reply.ok).toBe(true);
    expect(reply.value!.fromId).toBe("self");
    expect(reply.value!.members[0]).toMatchObject({ id: "self", status: "alive" });
    expect(gossip.membership.record("x")).toBeUndefined(); // not merged yet
    await clock.flush();
    expect(gossip.membership.record("x")).toMatchObject({ incarnation: 9 });
    expect(gossip.membership.record("y")).toMatchObject({ incarnation: 2 });
    await gossip.stop();
  });

  test("refuses bad envelopes (validation → 400) and its own id; unavailable before start and after stop", async () => {
    const { gossip } = service();
    expect(gossip.receive(envelope("x")).error?.code).toBe("unavailable");
    gossip.start();
    expect(gossip.receive({ fromId: "", fromUrl: url("x"), members: [] }).error?.code).toBe("validation");
    expect(gossip.receive(envelope("self")).error?.code).toBe("validation");
    expect(statusForCode("validation")).toBe(400);
    await gossip.stop();
    expect(gossip.receive(envelope("x")).error?.code).toBe("unavailable");
  });

  test("a full inbound queue refuses with queue.full, which the route maps to 429", async () => {
    const { gossip, registry } = service({ inbound: { capacity: 2, concurrency: 1 } });
    gossip.start();
    const answers = Array.from({ length: 5 }, (_, i) => gossip.receive(envelope(`x${i}`)));
    expect(answers.map((a) => a.ok)).toEqual([true, true, false, false, false]);
    expect(answers[2]!.error!.code).toBe("queue.full");
    expect(statusForCode(answers[2]!.error!.code)).toBe(429);
    expect(metric(registry, "sluice_pump_rejected_total", { role: "gossip", pump: "gossip.inbound" })).toBe(3);
    await gossip.stop();
  });

  test("stop drains the inbound pump: every accepted envelope is merged", async () => {
    const { gossip } = service({ inbound: { capacity: 256, concurrency: 2 } });
    gossip.start();
    for (let i = 0; i < 100; i++) expect(gossip.receive(envelope(`x${i}`)).ok).toBe(true);
    expect(gossip.inbound.merged).toBe(0); // all still queued when stop begins
    const stopped = await gossip.stop();
    expect(stopped.ok).toBe(true);
    expect(stopped.value!.inboundLeft).toBe(0);
    expect(gossip.inbound.merged).toBe(100);
    for (let i = 0; i < 100; i++) expect(gossip.membership.record(`x${i}`)?.status).toBe("alive");
  });

  test("receiveBytes: protobuf in, protobuf out; undecodable bytes are a validation error", async () => {
    const { gossip } = service();
    gossip.start();
    const out = gossip.receiveBytes(encodeGossipEnvelope({ ...envelope("x", [rec("x", 3)]), round: 4 }));
    expect(out.ok).toBe(true);
    const reply = decodeGossipEnvelope(out.value!);
    expect(reply.value).toMatchObject({ fromId: "self", fromUrl: url("self") });
    expect(gossip.receiveBytes(new Uint8Array([0xff, 0xff, 0xff])).error?.code).toBe("validation");
    await gossip.stop();
  });
});

describe("gossip config", () => {
  test("defaults: role gossip, queues gossip.outbound / gossip.inbound refusing when full; outbound concurrency = fan-out; the rest from ROLE_DEFAULTS.gossip", async () => {
    const { gossip } = service({ fanout: 5 });
    const out = gossip.outbound.queue.options;
    const inn = gossip.inbound.queue.options;
    expect([out.name, out.role, out.fullMode, out.capacity, out.maxRetries, out.requeueDelayMs, out.leaseMs]).toEqual(["gossip.outbound", "gossip", "reject", 64, 3, 100, 4000]);
    expect(gossip.outbound.concurrency).toBe(5);
    expect([inn.name, inn.role, inn.fullMode, inn.capacity, inn.maxRetries, inn.poisonQueueName]).toEqual(["gossip.inbound", "gossip", "reject", 256, 3, "gossip.inbound.poison"]);
    expect(gossip.inbound.concurrency).toBe(4);
    expect(gossip.timers).toEqual({ intervalMs: 1000, fanout: 5, suspectAfterMs: 5000, deadAfterMs: 15000, timeoutMs: 500 });
    expect(GOSSIP_PUMP_DEFAULTS.outbound.capacity).toBe(64);
    const tuned = service({ outbound: { concurrency: 2, maxRetries: 5, capacity: undefined }, inbound: { concurrency: 1 } }).gossip;
    expect([tuned.outbound.concurrency, tuned.outbound.queue.options.maxRetries, tuned.outbound.queue.options.capacity, tuned.inbound.concurrency]).toEqual([2, 5, 64, 1]);
    expect(() => service({ fanout: 0 })).toThrow(RangeError);
    expect(() => service({ inbound: { capacity: 0 } })).toThrow(RangeError);
  });

  test("InboundPump.drain waits for the merges on the queue's events (the clock never moves here)", async () => {
    const clock = new VirtualClock();
    const membership = new Membership({ id: "self", url: url("self"), clock });
    const health = new LocalHealth();
    const metrics = new GossipMetrics(new MetricsRegistry(), membership, health);
    const inbound = new InboundPump({ peer: { membership, health }, clock, metrics });
    inbound.start();
    for (let i = 0; i < 50; i++) expect(inbound.offer(envelope(`x${i}`)).ok).toBe(true);
    expect(await inbound.drain(60_000)).toEqual({ merged: 50, left: 0 });
    expect(membership.size).toBe(50);
    expect(inbound.offer(envelope("late")).error?.code).toBe("unavailable");
  });
});

describe("gossip lifecycle and metrics", () => {
  test("leave: left at a raised incarnation, one last round to live peers, no rounds after", async () => {
    const { gossip, clock, calls } = service({ fanout: 2 });
    gossip.membership.restore([rec("b"), rec("c"), rec("d")]);
    gossip.start();
    await clock.advance(1_000);
    const before = calls.length;
    const left = gossip.leave();
    await clock.advance(100);
    expect((await left).ok).toBe(true);
    expect(gossip.membership.self).toMatchObject({ status: "left", incarnation: 6 });
    const last = calls.slice(before);
    expect(last.length).toBe(2);
    for (const c of last) expect(c.envelope.members[0]).toMatchObject({ id: "self", status: "left", incarnation: 6 });
    expect(gossip.peerUrls().sort()).toEqual([url("b"), url("c"), url("d")]);
    await clock.advance(5_000);
    expect(calls.length).toBe(before + 2);
    // Still answering (with its `left` record) until stopped.
    expect(gossip.receive(envelope("b")).value!.members[0]).toMatchObject({ id: "self", status: "left" });
    await gossip.stop();
  });

  test("metrics: members by status, pump series labelled role=gossip, and the members listing", async () => {
    let depths = { jobs: 4 };
    const { gossip, clock, registry } = service({ queueDepths: () => depths });
    gossip.membership.restore([rec("b"), rec("c", 1, "suspect")]);
    gossip.start();
    await clock.advance(1_000);
    const text = registry.render();
    expect(text).toContain('sluice_mesh_members{status="alive"} 2');
    expect(text).toContain('sluice_mesh_members{status="suspect"} 1');
    expect(text).toContain('sluice_pump_duration_seconds_count{queue="gossip.outbound",role="gossip"}');
    expect(text).toContain('sluice_mesh_gossip_rounds_total 1');
    const listing = gossip.members();
    expect(listing.self).toBe("self");
    expect(listing.members[0]).toMatchObject({ id: "self", url: url("self"), status: "alive", incarnation: 5, queues: { jobs: 4 } });
    expect(Object.keys(listing.members[1]!).sort()).toEqual(["id", "incarnation", "lastSeenAtMs", "queues", "status", "url"]);
    expect(JSON.parse(JSON.stringify(listing)).members.map((m: { id: string }) => m.id)).toEqual(["self", "b", "c"]);
    depths = { jobs: 7 };
    await clock.advance(1_000); // changed depths ride in a new incarnation
    expect(gossip.membership.self).toMatchObject({ incarnation: 6, queues: { jobs: 7 } });
    await gossip.stop();
  });
});

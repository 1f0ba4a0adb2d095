// Membership rules of issue #16 on the virtual clock: the total order, merge (idempotent and
// order-independent, as a property over random permutations), refutation, no resurrection,
// restarts, the sweep timers with Lifeguard's multiplier, tombstones, and envelope selection.
import { describe, expect, test } from "../harness.ts";
import { VirtualClock } from "../../src/result/mod.ts";
import {
  compareRecords,
  type GossipEnvelope,
  LocalHealth,
  type MemberChange,
  memberRecord,
  type MemberRecord,
  Membership,
  type MemberStatus,
  type MembershipOptions,
  withStatus,
} from "../../src/mesh/gossip/mod.ts";
import { mulberry32 } from "../seeded-random.ts";

const rec = (id: string, status: MemberStatus, incarnation: number, queues?: Record<string, number>): MemberRecord =>
  memberRecord({ id, url: `http://${id}:8787`, status, incarnation, queues });

function table(options: Partial<MembershipOptions> = {}) {
  const clock = new VirtualClock(1_000);
  const changes: MemberChange[] = [];
  const m = new Membership({ id: "self", url: "http://self:8787", clock, incarnation: 10, onChange: (c) => changes.push(c), ...options });
  return { clock, m, changes };
}
const envelopeFrom = (fromId: string, members: MemberRecord[]): GossipEnvelope => ({ fromId, fromUrl: `http://${fromId}:8787`, members });
/** What must agree between tables (lastSeenAtMs is local observation, not merged state). */
const state = (m: Membership) => m.list().map(({ lastSeenAtMs: _, ...rest }) => rest);

describe("member order", () => {
  test("incarnation first, then alive < suspect < dead < left; ties broken deterministically", () => {
    const a = rec("n1", "alive", 5);
    expect(compareRecords(withStatus(a, "suspect"), a)).toBeGreaterThan(0);
    expect(compareRecords(withStatus(a, "dead"), withStatus(a, "suspect"))).toBeGreaterThan(0);
    expect(compareRecords(withStatus(a, "left"), withStatus(a, "dead"))).toBeGreaterThan(0);
    expect(compareRecords(rec("n1", "alive", 6), rec("n1", "left", 5))).toBeGreaterThan(0);
    expect(compareRecords(rec("n1", "alive", 5, { q: 1 }), rec("n1", "alive", 5, { q: 1 }))).toBe(0);
    const x = rec("n1", "alive", 5, { q: 1 });
    const y = rec("n1", "alive", 5, { q: 2 });
    expect(Math.sign(compareRecords(x, y))).toBe(-Math.sign(compareRecords(y, x)));
  });
});

describe("merge", () => {
  test("a new member is added alive and reported; an older or equal record changes nothing", () => {
    const { m, changes } = table();
    expect(m.merge(rec("n1", "alive", 5))).toBe(true);
    expect(changes.at(-1)).toMatchObject({ id: "n1", from: undefined, to: "alive", cause: "gossip" });
    expect(m.merge(rec("n1", "alive", 5))).toBe(false);
    expect(m.merge(rec("n1", "alive", 4))).toBe(false);
    expect(m.record("n1")).toMatchObject({ status: "alive", incarnation: 5 });
  });

  test("no resurrection: a lower-or-equal incarnation never overrides suspect, dead or left", () => {
    const { m } = table();
    for (const status of ["suspect", "dead", "left"] as const) {
      const id = `m-${status}`;
      m.merge(rec(id, status, 7));
      expect(m.merge(rec(id, "alive", 7))).toBe(false);
      expect(m.merge(rec(id, "alive", 3))).toBe(false);
      expect(m.record(id)?.status).toBe(status);
    }
    // The member itself, alive again at a higher incarnation (a refutation or a restart), wins.
    expect(m.merge(rec("m-dead", "alive", 8))).toBe(true);
    expect(m.record("m-dead")?.status).toBe("alive");
  });

  test("property: merging any multiset of records in any order gives the same table, and again changes nothing", () => {
    const random = mulberry32(16);
    const statuses: MemberStatus[] = ["alive", "suspect", "dead", "left"];
    for (let trial = 0; trial < 200; trial++) {
      const records: MemberRecord[] = [];
      const n = 1 + Math.floor(random() * 30);
      for (let i = 0; i < n; i++) {
        const id = random() < 0.15 ? "self" : `n${Math.floor(random() * 6)}`;
        const queues = random() < 0.2 ? { q: Math.floor(random() * 3) } : undefined;
        records.push(rec(id, statuses[Math.floor(random() * 4)]!, 8 + Math.floor(random() * 5), queues));
      }
      const views: string[] = [];
      for (let p = 0; p < 6; p++) {
        const order = [...records];
        for (let i = order.length - 1; i > 0; i--) {
          const j = Math.floor(random() * (i + 1));
          [order[i], order[j]] = [order[j]!, order[i]!];
        }
        const { m } = table();
        const half = Math.floor(order.length / 2);
        m.receive(envelopeFrom("x", order.slice(0, half)));
        for (const r of order.slice(half)) m.merge(r);
        const once = JSON.stringify(state(m));
        for (const r of order) m.merge(r); // idempotent: everything again changes nothing
        expect(JSON.stringify(state(m))).toBe(once);
        views.push(once);
      }
      expect(new Set(views).size).toBe(1);
    }
  });
});

describe("refutation and restarts", () => {
  test("a suspicion (or death) of this node at its incarnation makes it outbid that record", () => {
    const { m } = table();
    expect(m.merge(rec("self", "suspect", 10))).toBe(true);
    expect(m.self).toMatchObject({ status: "alive", incarnation: 11 });
    expect(m.refutations).toBe(1);
    expect(m.merge(rec("self", "dead", 14))).toBe(true);
    expect(m.self).toMatchObject({ status: "alive", incarnation: 15 });
    expect(m.merge(rec("self", "suspect", 12))).toBe(false); // older: nothing to refute
    expect(m.merge(m.self)).toBe(false);
    // Its refutation beats the suspicion everywhere else.
    const other = table({ id: "other", url: "http://other:8787" }).m;
    other.merge(rec("self", "suspect", 14));
    other.merge(m.self);
    expect(other.record("self")).toMatchObject({ status: "alive", incarnation: 15 });
  });

  test("a leaving node stays left, outranking or outbidding what others say of it", () => {
    const { m, changes } = table();
    m.leave();
    expect(m.self).toMatchObject({ status: "left", incarnation: 11 });
    expect(changes.at(-1)).toMatchObject({ id: "self", from: "alive", to: "left", cause: "self" });
    expect(m.merge(rec("self", "dead", 11))).toBe(false); // its own `left` outranks `dead`
    m.merge(rec("self", "alive", 13)); // a stale life above it: `left` at 13 outranks it
    expect(m.self).toMatchObject({ status: "left", incarnation: 13 });
    m.merge(rec("self", "dead", 13));
    expect(m.self).toMatchObject({ status: "left", incarnation: 13 });
    m.merge(rec("self", "suspect", 15)); // `left` is the top rank: matching the incarnation is enough
    expect(m.self).toMatchObject({ status: "left", incarnation: 15 });
  });

  test("a restarted node starts above its earlier life (incarnation from the clock's ms) and is alive again", async () => {
    const clock = new VirtualClock(1_700_000_000_000);
    const first = new Membership({ id: "n1", url: "http://n1:8787", clock });
    const peer = new Membership({ id: "n2", url: "http://n2:8787", clock });
    peer.merge(first.self);
    first.leave();
    peer.merge(first.self);
    expect(peer.record("n1")?.status).toBe("left");
    await clock.advance(5_000);
    const second = new Membership({ id: "n1", url: "http://n1:8787", clock });
    expect(second.self.incarnation).toBeGreaterThan(first.self.incarnation);
    peer.merge(second.self);
    expect(peer.record("n1")).toMatchObject({ status: "alive", incarnation: second.self.incarnation });
  });

  test("queue depths ride in a new incarnation only when they change", () => {
    const { m } = table();
    expect(m.updateQueues({})).toBe(false);
    expect(m.updateQueues({ jobs: 3 })).toBe(true);
    expect(m.self).toMatchObject({ incarnation: 11, queues: { jobs: 3 } });
    expect(m.updateQueues({ jobs: 3 })).toBe(false);
  });
});

describe("sweep", () => {
  test("a hinted member turns suspect after suspectAfterMs unless heard from; dead after deadAfterMs; then forgotten", async () => {
    const { m, clock, changes } = table({ suspectAfterMs: 5000, deadAfterMs: 15000, forgetAfterMs: 60000 });
    m.merge(rec("n1", "alive", 5));
    await clock.advance(60_000);
    m.sweep();
    expect(m.record("n1")?.status).toBe("alive"); // quiet alone is not a suspicion
    m.unreachable("n1");
    await clock.advance(4_999);
    m.sweep();
    expect(m.record("n1")?.status).toBe("alive");
    m.heard("n1"); // a later exchange worked: hint cleared
    await clock.advance(10_000);
    m.sweep();
    expect(m.record("n1")?.status).toBe("alive");
    m.unreachable("n1");
    await clock.advance(5_000);
    m.sweep();
    expect(m.record("n1")).toMatchObject({ status: "suspect", incarnation: 5 });
    expect(changes.at(-1)).toMatchObject({ id: "n1", from: "alive", to: "suspect", cause: "sweep" });
    await clock.advance(14_999);
    m.sweep();
    expect(m.record("n1")?.status).toBe("suspect");
    await clock.advance(1);
    m.sweep();
    expect(m.record("n1")?.status).toBe("dead");
    await clock.advance(60_000);
    m.sweep();
    expect(m.record("n1")).toBeUndefined();
    // Forgotten, but its last incarnation is remembered: stale gossip does not bring it back.
    expect(m.merge(rec("n1", "alive", 5))).toBe(false);
    expect(m.merge(rec("n1", "alive", 6))).toBe(true);
  });

  test("direct contact with a suspect postpones its death; only its own refutation clears the suspicion", async () => {
    const { m, clock } = table({ suspectAfterMs: 5000, deadAfterMs: 15000 });
    m.merge(rec("n1", "suspect", 5));
    await clock.advance(10_000);
    m.heard("n1");
    await clock.advance(10_000);
    m.sweep();
    expect(m.record("n1")?.status).toBe("suspect");
    m.merge(rec("n1", "alive", 6));
    expect(m.record("n1")?.status).toBe("alive");
  });

  test("Lifeguard: a node with a poor local health stretches its own suspicion timers", async () => {
    const { m, clock } = table({ suspectAfterMs: 5000, deadAfterMs: 15000 });
    const health = new LocalHealth();
    health.roundStarted(3_000, 1_000); // three rounds missed
    health.refuted();
    expect(health.multiplier).toBe(5);
    m.merge(rec("n1", "alive", 5));
    m.unreachable("n1");
    await clock.advance(5_000);
    m.sweep(health.multiplier);
    expect(m.record("n1")?.status).toBe("alive");
    await clock.advance(20_000);
    m.sweep(health.multiplier);
    expect(m.record("n1")?.status).toBe("suspect");
    for (let i = 0; i < 10; i++) health.exchangeSucceeded();
    expect(health.multiplier).toBe(1);
    health.roundStarted(400, 1_000); // on time: no change
    expect(health.score).toBe(0);
    for (let i = 0; i < 20; i++) health.exchangeFailed();
    expect(health.multiplier).toBe(8); // bounded
  });
});

describe("envelopes", () => {
  test("bounded, this node first, the target's suspicion of itself next, recent changes before the rotation", () => {
    const { m } = table({ maxEnvelopeMembers: 8 });
    m.restore(Array.from({ length: 50 }, (_, i) => rec(`n${i}`, "alive", 1)));
    m.merge(rec("n7", "suspect", 1));
    m.merge(rec("new", "alive", 1));
    const e = m.envelope("n7", 3);
    expect(e).toMatchObject({ fromId: "self", fromUrl: "http://self:8787", round: 3 });
    expect(e.members.length).toBe(8);
    expect(e.members[0]).toBe(m.self);
    expect(e.members[1]).toMatchObject({ id: "n7", status: "suspect" });
    expect(e.members.map((r) => r.id)).toContain("new");
    expect(new Set(e.members.map((r) => r.id)).size).toBe(8);
  });

  test("the rotation carries every member in turn, not always the first ones", () => {
    const { m } = table({ maxEnvelopeMembers: 32 });
    m.restore(Array.from({ length: 100 }, (_, i) => rec(`n${i}`, "alive", 1)));
    const seen = new Set<string>();
    for (let i = 0; i < 4; i++) for (const r of m.envelope().members) seen.add(r.id);
    expect(seen.size).toBe(101);
  });

  test("rumors retire after their retransmission budget", () => {
    const { m } = table({ maxEnvelopeMembers: 4, retransmitMult: 1 });
    m.restore(Array.from({ length: 40 }, (_, i) => rec(`n${i}`, "alive", 1)));
    m.merge(rec("n3", "suspect", 1)); // budget: 1 × ⌈log10(42)⌉ = 2 envelopes
    const carried = () => m.envelope().members.some((r) => r.id === "n3" && r.status === "suspect");
    expect(carried()).toBe(true);
    expect(carried()).toBe(true);
    const later = Array.from({ length: 5 }, carried);
    expect(later.filter(Boolean).length).toBeLessThanOrEqual(1); // only when the rotation passes it
  });

  test("targets: live peers only; a peer whose exchange failed is probed again first", () => {
    const { m } = table();
    m.restore([rec("a", "alive", 1), rec("b", "suspect", 1), rec("c", "dead", 1), rec("d", "left", 1)]);
    const random = mulberry32(3);
    for (let i = 0; i < 20; i++) {
      const ids = m.pickTargets(3, random).map((r) => r.id).sort();
      expect(ids).toEqual(["a", "b"]);
    }
    m.restore(Array.from({ length: 30 }, (_, i) => rec(`p${i}`, "alive", 1)));
    m.unreachable("p17");
    for (let i = 0; i < 5; i++) expect(m.pickTargets(3, random)[0]?.id).toBe("p17");
    expect(table().m.pickTargets(3)).toEqual([]);
  });
});

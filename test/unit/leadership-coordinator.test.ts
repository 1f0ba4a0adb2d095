// LeadershipCoordinator on the memory store and a virtual clock (issue 17, Must show 1):
// acquire, renew, expiry, takeover with a higher term, step-down on store failure (never before
// its deadline, never after), single-flight per scope, and a paused leader whose late send is
// refused downstream by term.
import { describe, expect, test } from "../harness.ts";
import { VirtualClock } from "../../src/result/virtual-clock.ts";
import { MetricsRegistry } from "../../src/queue/metrics/registry.ts";
import {
  FenceTerms,
  type LeaderLease,
  LeadershipCoordinator,
  type LeadershipEvent,
  type LeaseLookup,
  type LeaseResult,
  type LeaseStore,
  MemoryLeaseStore,
  type LeadershipOptions,
  storeUnavailable,
} from "../../src/mesh/leadership/mod.ts";

const SCOPE = "bridge/jobs";
const TIMERS = { ttlMs: 10_000, renewMarginMs: 3_000, evaluationIntervalMs: 1_000 };

/** A store that can go down (answers unavailable) or stall (calls wait for `resume()`), and counts calls. */
class TestStore implements LeaseStore {
  down = false;
  calls = 0;
  inFlight = 0;
  peakInFlight = 0;
  #stalled: Promise<void> | undefined;
  #resume: (() => void) | undefined;
  constructor(readonly inner: LeaseStore) {}
  stall(): void {
    this.#stalled = new Promise((r) => (this.#resume = r));
  }
  resume(): void {
    this.#resume?.();
    this.#stalled = undefined;
  }
  async #run<R>(op: () => Promise<R>): Promise<R | ReturnType<typeof storeUnavailable>> {
    this.calls++;
    this.peakInFlight = Math.max(this.peakInFlight, ++this.inFlight);
    try {
      if (this.#stalled) await this.#stalled;
      return this.down ? storeUnavailable("store down (test)") : await op();
    } finally {
      this.inFlight--;
    }
  }
  get(scope: string): Promise<LeaseLookup> {
    return this.#run(() => this.inner.get(scope));
  }
  tryAcquire(scope: string, holder: string, ttlMs: number): Promise<LeaseResult> {
    return this.#run(() => this.inner.tryAcquire(scope, holder, ttlMs));
  }
  tryRenew(scope: string, holder: string, term: number, ttlMs: number): Promise<LeaseResult> {
    return this.#run(() => this.inner.tryRenew(scope, holder, term, ttlMs));
  }
  release(scope: string, holder: string, term: number): Promise<LeaseResult> {
    return this.#run(() => this.inner.release(scope, holder, term));
  }
}

function node(id: string, store: LeaseStore, clock: VirtualClock, extra: Partial<LeadershipOptions> = {}) {
  const events: LeadershipEvent[] = [];
  const coordinator = LeadershipCoordinator.create({ nodeId: id, store, scopes: [SCOPE], clock, ...TIMERS, ...extra });
  coordinator.subscribe((e) => events.push(e));
  return { coordinator, events, kinds: () => events.map((e) => `${e.type}:${e.term}`) };
}

/** Advances the clock 1 ms at a time, checking that at most one node leads at every instant. */
async function run(clock: VirtualClock, ms: number, nodes: LeadershipCoordinator[], step = 50): Promise<void> {
  for (let t = 0; t < ms; t += step) {
    await clock.advance(step);
    expect(nodes.filter((n) => n.isLeader(SCOPE)).length).toBeLessThanOrEqual(1);
  }
}

describe("LeadershipCoordinator (memory store, virtual clock)", () => {
  test("acquire at start, renew every interval with the same term; metrics per scope and role", async () => {
    const clock = new VirtualClock(1_000_000);
    const metrics = new MetricsRegistry();
    const a = node("a", new MemoryLeaseStore({ clock }), clock, { metrics });
    a.coordinator.start();
    await clock.advance(0);
    expect(a.kinds()).toEqual(["elected:1"]);
    expect(a.coordinator.isLeader(SCOPE)).toBe(true);
    expect(a.coordinator.fence(SCOPE)?.term).toBe(1);
    await clock.advance(3_000);
    expect(a.kinds()).toEqual(["elected:1", "renewed:1", "renewed:1", "renewed:1"]);
    expect(a.coordinator.leaders()).toEqual([{ scope: SCOPE, leader: "a", term: 1, expiresAtMs: 1_013_000 }]);
    expect(metrics.value("sluice_leadership_term", { scope: SCOPE })).toBe(1);
    expect(metrics.value("sluice_leadership_leader", { scope: SCOPE })).toBe(1);
    expect(metrics.value("sluice_leadership_events_total", { scope: SCOPE, event: "renewed" })).toBe(3);
    expect(metrics.value("sluice_acked_total", { queue: "leadership.evaluate", role: "leadership" })).toBe(4);
    await a.coordinator.stop();
    expect(a.kinds().at(-1)).toBe("lost:1");
    expect(a.events.at(-1)!.reason).toBe("stopped");
    expect(metrics.value("sluice_leadership_leader", { scope: SCOPE })).toBe(0);
  });

  test("a second node observes the leader; when the leader stops renewing it takes over after expiry with a higher term", async () => {
    const clock = new VirtualClock(0);
    const shared = new MemoryLeaseStore({ clock });
    const aStore = new TestStore(shared);
    const a = node("a", aStore, clock);
    const b = node("b", shared, clock);
    a.coordinator.start();
    await clock.advance(0);
    b.coordinator.start();
    await run(clock, 2_000, [a.coordinator, b.coordinator]);
    expect(b.kinds()).toEqual(["observed:1"]);
    expect(b.coordinator.leaders()[0]).toMatchObject({ leader: "a", term: 1 });

    // A's store calls fail from now on: its last renew started at t = 2000.
    aStore.down = true;
    const lastRenewAt = 2_000;
    await run(clock, 12_000, [a.coordinator, b.coordinator]);
    const lost = a.events.find((e) => e.type === "lost")!;
    const elected = b.events.find((e) => e.type === "elected")!;
    expect(lost.at).toBe(lastRenewAt + TIMERS.ttlMs - TIMERS.renewMarginMs); // stops on its own clock, before expiry
    expect(elected.at).toBeGreaterThanOrEqual(lastRenewAt + TIMERS.ttlMs); // takes over only after expiry
    expect(elected.at).toBeLessThanOrEqual(lastRenewAt + TIMERS.ttlMs + TIMERS.evaluationIntervalMs);
    expect(elected.term).toBe(2);
    expect(a.coordinator.isLeader(SCOPE)).toBe(false);
    expect(b.coordinator.isLeader(SCOPE)).toBe(true);

    // A's store comes back: A sees B's lease and stays a follower.
    aStore.down = false;
    await run(clock, 2_000, [a.coordinator, b.coordinator]);
    expect(a.kinds().slice(-1)).toEqual(["observed:2"]);
    await a.coordinator.stop();
    await b.coordinator.stop();
  });

  test("step-down on store failure: retried in place, never extended by assumption, stepped down at the deadline", async () => {
    const clock = new VirtualClock(0);
    const store = new TestStore(new MemoryLeaseStore({ clock }));
    const a = node("a", store, clock, { evaluate: { maxRetries: 3, requeueDelayMs: 250 } });
    a.coordinator.start();
    await clock.advance(1_000); // elected at 0, renewed at 1000
    store.down = true;
    const callsBefore = store.calls;
    await clock.advance(6_999); // deadline = 1000 + 10000 - 3000 = 8000
    expect(a.coordinator.isLeader(SCOPE)).toBe(true);
    expect(a.events.some((e) => e.type === "lost")).toBe(false);
    expect(store.calls - callsBefore).toBeGreaterThan(5); // each tick retried 250 ms apart
    await clock.advance(1);
    expect(a.coordinator.isLeader(SCOPE)).toBe(false);
    expect(a.kinds()).toEqual(["elected:1", "renewed:1", "lost:1"]);
    expect(a.events.at(-1)!.reason).toContain("not renewed before its deadline");
    expect(a.coordinator.queue.poison.size).toBeGreaterThan(0); // evaluations that ran out of retries
    // Back: nobody else took the scope, and a holder may take its own lease again — in a new term.
    store.down = false;
    await clock.advance(1_000);
    expect(a.kinds().slice(2, 4)).toEqual(["lost:1", "elected:2"]);
    await a.coordinator.stop();
  });

  test("single-flight: a slow store never gets two evaluations of one scope at once", async () => {
    const clock = new VirtualClock(0);
    const store = new TestStore(new MemoryLeaseStore({ clock }));
    const a = node("a", store, clock, { scopes: [SCOPE, "bridge/other", "bridge/third"], storeTimeoutMs: 5_000 });
    a.coordinator.start();
    store.stall();
    await clock.advance(4_500); // four ticks while the first calls hang
    expect(store.peakInFlight).toBe(3); // one per scope, whatever the ticks
    expect(a.coordinator.queue.stats().pending + a.coordinator.queue.stats().active).toBe(3);
    store.resume();
    await clock.advance(1_000);
    expect(a.coordinator.leaders().map((l) => l.leader)).toEqual(["a", "a", "a"]);
    await a.coordinator.stop();
  });

  test("a paused leader's late send is refused downstream by term; it steps down when it wakes", async () => {
    const clock = new VirtualClock(0);
    const shared = new MemoryLeaseStore({ clock });
    const aStore = new TestStore(shared);
    const a = node("a", aStore, clock);
    const b = node("b", shared, clock);
    const downstream = new FenceTerms();
    const accepted: { term: number; id: string }[] = [];
    const rejected: { term: number; id: string; code: string }[] = [];
    // A send as a bridge does it: the fence must be current when it starts; the downstream checks the term.
    const send = async (fence: { scope: string; term: number; isCurrent(): boolean }, id: string, pause?: Promise<void>) => {
      if (!fence.isCurrent()) return false;
      await pause;
      const admitted = downstream.admit(fence.scope, fence.term);
      if (admitted.ok) accepted.push({ term: fence.term, id });
      else rejected.push({ term: fence.term, id, code: admitted.error.code });
      return admitted.ok;
    };

    a.coordinator.start();
    await clock.advance(0);
    b.coordinator.start();
    const fenceA = a.coordinator.fence(SCOPE)!;
    expect(await send(fenceA, "m1")).toBe(true);

    // A's process stalls for longer than the ttl: a send in the middle of going out, and its store calls.
    let wake!: () => void;
    const paused = new Promise<void>((r) => (wake = r));
    const late = send(fenceA, "m2", paused);
    aStore.stall();
    await run(clock, 15_000, [a.coordinator, b.coordinator]);
    const fenceB = b.coordinator.fence(SCOPE)!;
    expect(fenceB.term).toBe(2);
    expect(await send(fenceB, "m3")).toBe(true);

    // A wakes up: its late send reaches the downstream under term 1 and is refused.
    wake();
    aStore.resume();
    expect(await late).toBe(false);
    expect(rejected).toEqual([{ term: 1, id: "m2", code: "lease.inactive" }]);
    expect(accepted).toEqual([{ term: 1, id: "m1" }, { term: 2, id: "m3" }]);
    // Its own clock already ended its leadership, and nothing it sends now goes out.
    expect(a.coordinator.isLeader(SCOPE)).toBe(false);
    expect(fenceA.isCurrent()).toBe(false);
    expect(await send(fenceA, "m4")).toBe(false);
    await run(clock, 2_000, [a.coordinator, b.coordinator]);
    expect(a.kinds()).toEqual(["elected:1", "lost:1", "observed:2"]);
    // Terms never went down at the downstream.
    for (let i = 1; i < accepted.length; i++) expect(accepted[i]!.term).toBeGreaterThanOrEqual(accepted[i - 1]!.term);
    await a.coordinator.stop();
    await b.coordinator.stop();
  });

  test("a fenced leader steps down at once; options are checked", async () => {
    const clock = new VirtualClock(0);
    const a = node("a", new MemoryLeaseStore({ clock }), clock);
    a.coordinator.start();
    await clock.advance(0);
    a.coordinator.fence(SCOPE)!.fenced("downstream saw term 9");
    expect(a.coordinator.isLeader(SCOPE)).toBe(false);
    expect(a.events.at(-1)).toMatchObject({ type: "lost", term: 1, reason: "fenced: downstream saw term 9" });
    await a.coordinator.stop();
    const store = new MemoryLeaseStore();
    expect(() => LeadershipCoordinator.create({ nodeId: "a", store, ttlMs: 3000, renewMarginMs: 3000 })).toThrow(RangeError);
    expect(() => LeadershipCoordinator.create({ nodeId: "a", store, ttlMs: 3000, renewMarginMs: 1000, evaluationIntervalMs: 2000 })).toThrow(RangeError);
    expect(() => LeadershipCoordinator.create({ nodeId: "", store })).toThrow(TypeError);
    expect(() => LeadershipCoordinator.create({ nodeId: "a", store, scopes: ["bad scope"] })).toThrow(TypeError);
  });
});

// Silence "unused" for the type-only import on runtimes that check it.
export type { LeaderLease };

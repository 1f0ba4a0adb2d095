import { describe, expect, test } from "../harness.ts";
import { err, RetryPolicy, sluiceError, VirtualClock, type Result } from "../../src/result/mod.ts";
import { SafeTaskQueue, type Lease, type SafeTaskQueueOptions } from "../../src/queue/mod.ts";

function setup(options: SafeTaskQueueOptions = {}) {
  const clock = new VirtualClock();
  const queue = SafeTaskQueue.create<string>({ clock, leaseMs: 1000, heartbeatMs: 400, sweepMs: 100, ...options });
  return { clock, queue };
}
function value<T>(r: Result<T>): T {
  if (!r.ok) throw new Error(`expected ok, got ${r.error.code}: ${r.error.message}`);
  return r.value;
}
const boom = sluiceError("unavailable", "downstream down");

describe("SafeTaskQueue transitions", () => {
  test("success: enqueue, lease, ack", async () => {
    const { queue } = setup();
    const { sequenceId } = value(await queue.enqueue("a"));
    const lease = value(await queue.lease());
    expect(lease).toMatchObject({ payload: "a", attempt: 1, sequenceId, isPoisoned: false, lastError: undefined });
    expect(queue.stats()).toMatchObject({ pending: 0, active: 1 });
    expect(queue.ack(lease).ok).toBe(true);
    expect(queue.stats()).toMatchObject({ pending: 0, active: 0, enqueued: 1, acked: 1 });
  });
  test("leaseWith: called back at once when ready, else inside the enqueue; canceled and closed like lease()", async () => {
    const { queue } = setup();
    const seen: string[] = [];
    const record = (r: Result<Lease<string>>) => seen.push(r.ok ? `lease ${r.value.payload}` : r.error.code);
    await queue.enqueue("a");
    queue.leaseWith(record);
    expect(seen).toEqual(["lease a"]); // synchronously
    const controller = new AbortController();
    queue.leaseWith(record, controller.signal);
    queue.leaseWith(record);
    expect(seen).toEqual(["lease a"]);
    queue.tryEnqueue("b"); // served inside the enqueue, first parked first
    expect(seen).toEqual(["lease a", "lease b"]);
    expect(queue.stats()).toMatchObject({ pending: 0, active: 2 });
    queue.leaseWith(record, controller.signal);
    controller.abort();
    expect(seen).toEqual(["lease a", "lease b", "canceled"]);
    queue.leaseWith(record, controller.signal); // already aborted
    expect(seen.at(-1)).toBe("canceled");
    queue.close(); // the one still parked (no signal) ends with queue.closed
    expect(seen.at(-1)).toBe("queue.closed");
    queue.leaseWith(record);
    expect(seen.at(-1)).toBe("queue.closed");
    expect(seen.length).toBe(6);
  });
  test("FIFO for fresh items", async () => {
    const { queue } = setup();
    for (const p of ["a", "b", "c"]) await queue.enqueue(p);
    const order = [];
    for (let i = 0; i < 3; i++) order.push(value(await queue.lease()).payload);
    expect(order).toEqual(["a", "b", "c"]);
  });
  test("retry then success", async () => {
    const { queue } = setup();
    await queue.enqueue("a");
    const first = value(await queue.lease());
    expect(queue.fail(first, boom, { requeue: true }).ok).toBe(true);
    const second = value(await queue.lease());
    expect(second.attempt).toBe(2);
    expect(second.lastError?.code).toBe("unavailable");
    expect(queue.ack(second).ok).toBe(true);
    expect(queue.stats()).toMatchObject({ acked: 1, failed: 1, requeued: 1, poisoned: 0 });
  });
  test("poison after maxRetries: exactly 3 deliveries, then poison with the last error", async () => {
    const { queue } = setup({ maxRetries: 3 });
    await queue.enqueue("a");
    const attempts: number[] = [];
    for (let i = 0; i < 3; i++) {
      const lease = value(await queue.lease());
      attempts.push(lease.attempt);
      expect(lease.isPoisoned).toBe(i === 2);
      queue.fail(lease, sluiceError("unavailable", `failure ${i + 1}`), { requeue: !lease.isPoisoned });
    }
    expect(attempts).toEqual([1, 2, 3]);
    expect(queue.tryLease()).toBeUndefined();
    const [entry] = queue.poison.list();
    expect(entry).toMatchObject({ payload: "a", attempts: 3 });
    expect(entry!.lastError.message).toBe("failure 3");
    expect(entry!.history.map((h) => h.attempt)).toEqual([1, 2, 3]);
    expect(queue.stats()).toMatchObject({ poisoned: 1, poisonedTotal: 1, pending: 0, active: 0 });
  });
  test("requeue: false poisons at once", async () => {
    const { queue } = setup({ maxRetries: 5 });
    await queue.enqueue("a");
    const lease = value(await queue.lease());
    queue.fail(lease, boom, { requeue: false });
    expect(queue.poison.size).toBe(1);
    expect(queue.stats().pending).toBe(0);
  });
  test("moveToPoison sends a live lease to the poison queue", async () => {
    const { queue } = setup();
    await queue.enqueue("a");
    const lease = value(await queue.lease());
    expect(queue.moveToPoison(lease, boom).ok).toBe(true);
    expect(queue.poison.list()[0]!.lastError).toEqual(boom);
    expect(queue.moveToPoison(lease, boom).error?.code).toBe("lease.inactive");
  });
  test("expiry redelivers with attempt + 1 and lease.expired as lastError", async () => {
    const { queue, clock } = setup();
    await queue.enqueue("a");
    const first = value(await queue.lease());
    await clock.advance(1000);
    expect(queue.stats()).toMatchObject({ expired: 1, pending: 1, active: 0 });
    const second = value(await queue.lease());
    expect(second.attempt).toBe(2);
    expect(second.lastError?.code).toBe("lease.expired");
    expect(second.token).not.toBe(first.token);
  });
  test("a sweep that expires several leases while consumers wait re-leases each item once", async () => {
    // The requeue of the first expired item serves a waiting lease() at once, which takes a
    // free slot — possibly one the same sweep has yet to process. Found by bench/load/alloc-probe.ts.
    const { queue, clock } = setup();
    const payloads = ["a", "b", "c", "d"];
    for (const p of payloads) await queue.enqueue(p);
    const first = await Promise.all(payloads.map(() => queue.lease()));
    const waiting = payloads.map(() => queue.lease());
    await clock.advance(1000);
    const second = (await Promise.all(waiting)).map(value);
    expect(second.map((l) => l.payload).sort()).toEqual(payloads);
    expect(second.every((l) => l.attempt === 2 && l.lastError?.code === "lease.expired")).toBe(true);
    expect(queue.stats()).toMatchObject({ expired: 4, pending: 0, active: 4 });
    for (const l of first) expect(queue.ack(value(l)).error?.code).toBe("lease.inactive");
    for (const l of second) expect(queue.ack(l).ok).toBe(true);
    expect(queue.stats()).toMatchObject({ expired: 4, pending: 0, active: 0, acked: 4 });
  });
  test("expiry is a stall: the last allowed stall poisons (exhausted: stalls), whatever maxRetries says", async () => {
    const { queue, clock } = setup({ maxRetries: 1, maxStalls: 1 });
    await queue.enqueue("a");
    value(await queue.lease());
    await clock.advance(1000);
    expect(queue.poison.list()[0]!.lastError.code).toBe("lease.expired");
  });
  test("heartbeats keep a lease alive past leaseMs", async () => {
    const { queue, clock } = setup();
    await queue.enqueue("a");
    const lease = value(await queue.lease());
    for (let i = 0; i < 5; i++) {
      await clock.advance(600);
      expect(queue.heartbeat(lease).ok).toBe(true);
    }
    expect(clock.now()).toBe(3000);
    expect(queue.stats().expired).toBe(0);
    expect(queue.ack(lease).ok).toBe(true);
  });
  test("double ack and ack after expiry are lease.inactive and change nothing", async () => {
    const { queue, clock } = setup();
    await queue.enqueue("a");
    const lease = value(await queue.lease());
    queue.ack(lease);
    const before = queue.stats();
    expect(queue.ack(lease).error?.code).toBe("lease.inactive");
    expect(queue.fail(lease, boom).error?.code).toBe("lease.inactive");
    expect(queue.heartbeat(lease).error?.code).toBe("lease.inactive");
    expect(queue.stats()).toEqual(before);

    await queue.enqueue("b");
    const late = value(await queue.lease());
    await clock.advance(1000);
    const afterExpiry = queue.stats();
    expect(queue.ack(late).error?.code).toBe("lease.inactive");
    expect(queue.stats()).toEqual(afterExpiry);
  });
  test("an ack past the deadline fails even before the sweeper runs", async () => {
    const { queue, clock } = setup({ sweepMs: 10_000, leaseMs: 1000, heartbeatMs: 500 });
    await queue.enqueue("a");
    const lease = value(await queue.lease());
    await clock.advance(1000);
    expect(queue.ack(lease).error?.code).toBe("lease.inactive");
    expect(queue.stats()).toMatchObject({ expired: 1, pending: 1, acked: 0 });
  });
  test("fencing: the token of an old delivery cannot ack or fail the redelivered item", async () => {
    const { queue } = setup();
    await queue.enqueue("a");
    const old = value(await queue.lease());
    queue.fail(old, boom);
    const current = value(await queue.lease());
    const before = queue.stats();
    expect(queue.ack(old).error?.code).toBe("lease.inactive");
    expect(queue.fail(old, boom).error?.code).toBe("lease.inactive");
    expect(queue.stats()).toEqual(before);
    expect(queue.leaseByToken(old.token)).toBeUndefined();
    expect(queue.leaseByToken(current.token)).toBe(current);
    expect(queue.ack(current).ok).toBe(true);
  });
  test("requeue waits requeueDelayMs", async () => {
    const { queue, clock } = setup({ requeueDelayMs: 250 });
    await queue.enqueue("a");
    queue.fail(value(await queue.lease()), boom);
    expect(queue.tryLease()).toBeUndefined();
    expect(queue.stats().pending).toBe(1);
    await clock.advance(249);
    expect(queue.tryLease()).toBeUndefined();
    await clock.advance(1);
    expect(queue.tryLease()?.attempt).toBe(2);
  });
  test("requeue follows a per-attempt RetryPolicy backoff", async () => {
    const policy = RetryPolicy.exponential({ attempts: 5, initialMs: 100, factor: 2, maxMs: 300 });
    const { queue, clock } = setup({ requeueDelayMs: policy, maxRetries: 5 });
    await queue.enqueue("a");
    const redeliveredAt: number[] = [];
    const waiting = (async () => {
      for (let i = 0; i < 4; i++) {
        const lease = value(await queue.lease());
        if (i > 0) redeliveredAt.push(clock.now());
        queue.fail(lease, boom);
      }
    })();
    await clock.advance(1000);
    await waiting;
    expect(redeliveredAt).toEqual([100, 300, 600]);
  });
  test("a waiting lease is woken by enqueue", async () => {
    const { queue } = setup();
    const pending = queue.lease();
    await queue.enqueue("late");
    expect(value(await pending).payload).toBe("late");
  });
  test("lease is canceled by its signal", async () => {
    const { queue } = setup();
    const c = new AbortController();
    const pending = queue.lease({ signal: c.signal });
    c.abort();
    expect((await pending).error?.code).toBe("canceled");
    await queue.enqueue("a");
    expect(queue.stats().pending).toBe(1); // nothing was handed to the canceled waiter
  });
  test("close wakes waiting lease calls with queue.closed", async () => {
    const { queue } = setup();
    const waiting = [queue.lease(), queue.lease()];
    queue.close();
    for (const w of waiting) expect((await w).error?.code).toBe("queue.closed");
    expect((await queue.enqueue("x")).error?.code).toBe("queue.closed");
  });
  test("full queue: reject mode fails queue.full", async () => {
    const { queue } = setup({ capacity: 2, fullMode: "reject" });
    await queue.enqueue("a");
    await queue.enqueue("b");
    const r = await queue.enqueue("c");
    expect(r.error?.code).toBe("queue.full");
    expect(queue.stats()).toMatchObject({ pending: 2, enqueued: 2 });
  });
  test("full queue: wait mode waits for room, and its signal cancels the wait", async () => {
    const { queue } = setup({ capacity: 1 });
    await queue.enqueue("a");
    let added = false;
    const waiting = queue.enqueue("b").then((r) => ((added = r.ok), r));
    await Promise.resolve();
    expect(added).toBe(false);
    queue.ack(value(await queue.lease()));
    expect((await waiting).ok).toBe(true);
    const c = new AbortController();
    const canceled = queue.enqueue("c", { signal: c.signal });
    c.abort();
    expect((await canceled).error?.code).toBe("canceled");
  });
  test("an idempotency key dedups while the item is held", async () => {
    const { queue } = setup();
    const first = value(await queue.enqueue("a", { key: "k1" }));
    const dup = value(await queue.enqueue("a-again", { key: "k1" }));
    expect(dup).toEqual({ sequenceId: first.sequenceId, duplicate: true });
    expect(queue.stats().pending).toBe(1);
    queue.ack(value(await queue.lease()));
    expect(value(await queue.enqueue("a", { key: "k1" })).duplicate).toBe(false);
  });
  test("drain waits for in-flight work and stops new enqueues", async () => {
    const { queue, clock } = setup();
    await queue.enqueue("a");
    await queue.enqueue("b");
    const lease = value(await queue.lease());
    const draining = queue.drain({ deadlineMs: 5000 });
    expect((await queue.enqueue("c")).error?.code).toBe("queue.closed");
    await clock.advance(100);
    queue.ack(lease);
    const report = value(await draining);
    expect(report).toEqual({ pending: 1, requeuedInFlight: 0, poisoned: 0 });
  });
  test("drain wakes as soon as the sweeper expires the last lease, not at its deadline", async () => {
    const { queue, clock } = setup({ leaseMs: 1000, sweepMs: 100 });
    await queue.enqueue("a");
    value(await queue.lease());
    let doneAt = -1;
    const drained = queue.drain({ deadlineMs: 60_000 }).then((r) => ((doneAt = clock.now()), r));
    await clock.advance(1100); // the sweep at t=1000 expires the only lease (deadline 1000)
    await Promise.resolve();
    expect(doneAt).toBe(1000);
    expect(value(await drained)).toMatchObject({ pending: 1, requeuedInFlight: 0 });
  });
  test("tokens are unique across queues: 64 queues' live tokens never coincide, however often slots are reused", async () => {
    const clock = new VirtualClock();
    const queues = Array.from({ length: 64 }, (_, i) => SafeTaskQueue.create<string>({ name: `q${i}`, clock }));
    const seen = new Set<number>();
    for (let round = 0; round < 20; round++) {
      for (const q of queues) {
        await q.enqueue("x");
        const lease = value(await q.lease());
        expect(seen.has(lease.token)).toBe(false);
        seen.add(lease.token);
        q.ack(lease);
      }
    }
  });
  test("a lease of queue A cannot settle queue B's item (tokens differ; the guard holds anyway)", async () => {
    const clock = new VirtualClock();
    const a = SafeTaskQueue.create<string>({ name: "a", clock, leaseMs: 1000, heartbeatMs: 400 });
    const b = SafeTaskQueue.create<string>({ name: "b", clock, leaseMs: 1000, heartbeatMs: 400 });
    await a.enqueue("from-a");
    await b.enqueue("from-b");
    const leaseA = value(await a.lease());
    const leaseB = value(await b.lease());
    expect(leaseA.token).not.toBe(leaseB.token); // token lanes: a token names its queue
    expect(b.leaseByToken(leaseA.token)).toBeUndefined();
    for (const settle of [() => b.ack(leaseA), () => b.fail(leaseA, boom), () => b.heartbeat(leaseA), () => b.moveToPoison(leaseA, boom)]) {
      const r = settle();
      expect(!r.ok && r.error.code).toBe("lease.inactive");
    }
    expect(b.stats()).toMatchObject({ active: 1, acked: 0, failed: 0, poisoned: 0 });
    expect(b.ack(leaseB).ok).toBe(true);
    expect(a.ack(leaseA).ok).toBe(true);
  });
  test("drain puts leases still running at the deadline back, attempt not counted", async () => {
    const { queue, clock } = setup({ leaseMs: 10_000, heartbeatMs: 1000 });
    await queue.enqueue("a");
    const lease = value(await queue.lease());
    const draining = queue.drain({ deadlineMs: 500 });
    await clock.advance(500);
    expect(value(await draining)).toEqual({ pending: 1, requeuedInFlight: 1, poisoned: 0 });
    expect(queue.ack(lease).error?.code).toBe("lease.inactive");
    expect(queue.stats()).toMatchObject({ pending: 1, active: 0, failed: 0 });
  });
  test("a canceled delivery (countAttempt: false) does not use up an attempt", async () => {
    const { queue } = setup({ maxRetries: 2 });
    await queue.enqueue("a");
    for (let i = 0; i < 3; i++) queue.fail(value(await queue.lease()), err("canceled", "stop").error, { countAttempt: false });
    const lease = value(await queue.lease());
    expect(lease.attempt).toBe(1);
  });
});

describe("PoisonQueue", () => {
  test("replay puts items back with attempt 1 and keeps their history", async () => {
    const { queue } = setup({ maxRetries: 2 });
    await queue.enqueue("a");
    await queue.enqueue("b");
    for (let i = 0; i < 4; i++) {
      const lease: Lease<string> = value(await queue.lease());
      queue.fail(lease, sluiceError("unavailable", `${lease.payload}${lease.attempt}`));
    }
    expect(queue.poison.list().map((e) => e.payload)).toEqual(["a", "b"]);
    const [a] = queue.poison.list();
    expect(queue.poison.replay([a!.sequenceId])).toBe(1);
    const again = value(await queue.lease());
    expect(again).toMatchObject({ payload: "a", attempt: 1 });
    expect(again.lastError?.message).toBe("a2");
    queue.fail(again, sluiceError("unavailable", "a-replayed"), { requeue: false });
    const entry = queue.poison.list().find((e) => e.payload === "a")!;
    expect(entry.history.map((h) => h.message)).toEqual(["a1", "a2", "a-replayed"]);
    expect(queue.poison.purge()).toBe(2);
    expect(queue.stats().poisoned).toBe(0);
  });
});

describe("options", () => {
  test("bad options throw RangeError/TypeError naming the option", () => {
    const bad: Array<[SafeTaskQueueOptions, string]> = [
      [{ capacity: 0 }, "capacity"],
      [{ leaseMs: -1 }, "leaseMs"],
      [{ maxRetries: 0 }, "maxRetries"],
      [{ sweepMs: 0 }, "sweepMs"],
      [{ requeueDelayMs: -5 }, "requeueDelayMs"],
      [{ leaseMs: 100, heartbeatMs: 200 }, "heartbeatMs"],
      [{ fullMode: "drop" as "wait" }, "fullMode"],
      [{ capacity: 10, highWatermark: 11 }, "highWatermark"],
      [{ capacity: 10, highWatermark: 5, lowWatermark: 5 }, "lowWatermark"],
      [{ name: "" }, "name"],
    ];
    for (const [options, name] of bad) expect(() => SafeTaskQueue.create(options)).toThrow(name);
  });
});

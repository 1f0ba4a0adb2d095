// SafeTaskQueue changed live (issue 18): `reconfigure` keeps every item and lease — a lower
// capacity drops nothing, producers wait — and `seal` refuses publishes while delivering on.
import { describe, expect, test } from "../harness.ts";
import { VirtualClock } from "../../src/result/virtual-clock.ts";
import { SafeTaskQueue } from "../../src/queue/safe-task-queue.ts";
import { MemoryBudget } from "../../src/queue/memory-budget.ts";

describe("SafeTaskQueue.reconfigure", () => {
  test("a lower capacity keeps items and leases; producers wait until there is room again", async () => {
    const clock = new VirtualClock();
    const q = SafeTaskQueue.create<number>({ capacity: 10, clock, leaseMs: 10_000 });
    for (let i = 0; i < 8; i++) expect((await q.enqueue(i)).ok).toBe(true);
    const l1 = (await q.lease()).value!;
    const l2 = (await q.lease()).value!;
    expect(q.reconfigure({ capacity: 3, leaseMs: 10_000 }).ok).toBe(true);
    expect(q.stats()).toMatchObject({ pending: 6, active: 2, held: 8, capacity: 3 });
    expect(q.tryEnqueue(99).ok).toBe(false);
    let added = false;
    const waiting = q.enqueue(99).then((r) => (added = r.ok));
    await clock.advance(0);
    expect(added).toBe(false);
    // The leases taken before still ack (their tokens survive the change).
    expect(q.ack(l1).ok).toBe(true);
    expect(q.ack(l2).ok).toBe(true);
    for (let i = 0; i < 4; i++) q.ack((await q.lease()).value!);
    expect(q.stats().held).toBe(2);
    await waiting;
    expect(added).toBe(true);
    expect(q.stats()).toMatchObject({ held: 3, acked: 6, enqueued: 9, poisoned: 0 });
  });

  test("a higher capacity wakes waiting producers at once", async () => {
    const q = SafeTaskQueue.create<number>({ capacity: 1 });
    await q.enqueue(1);
    let done = 0;
    const waiting = [q.enqueue(2), q.enqueue(3)].map((p) => p.then(() => done++));
    expect(q.reconfigure({ capacity: 5 }).ok).toBe(true);
    await Promise.all(waiting);
    expect(done).toBe(2);
    expect(q.stats().held).toBe(3);
  });

  test("new leases use the new leaseMs and retry budget; bad options change nothing", async () => {
    const clock = new VirtualClock();
    const q = SafeTaskQueue.create<string>({ clock, leaseMs: 1000, maxRetries: 5 });
    await q.enqueue("a");
    const bad = q.reconfigure({ leaseMs: 100, heartbeatMs: 200 });
    expect(bad.ok).toBe(false);
    expect(!bad.ok && bad.error.code).toBe("validation");
    expect(q.options.leaseMs).toBe(1000);
    expect(q.reconfigure({ leaseMs: 50_000, maxRetries: 1 }).ok).toBe(true);
    const lease = (await q.lease()).value!;
    expect(lease.isPoisoned).toBe(true); // one failure poisons now
    await clock.advance(40_000);
    expect(q.heartbeat(lease).ok).toBe(true); // alive: its lease is 50 s
    expect(q.options.name).toBe("default");
  });

  test("a lower maxBytes on a memory queue drops nothing; a resized memory budget likewise", async () => {
    const budget = new MemoryBudget(1000);
    const q = SafeTaskQueue.create<Uint8Array>({ maxBytes: 1000, memoryBudget: budget });
    await q.enqueue(new Uint8Array(400));
    await q.enqueue(new Uint8Array(400));
    q.reconfigure({ maxBytes: 500 });
    budget.resize(500);
    expect(q.stats().held).toBe(2);
    expect(q.tryEnqueue(new Uint8Array(10)).ok).toBe(false);
    q.ack((await q.lease()).value!);
    q.ack((await q.lease()).value!);
    expect(q.tryEnqueue(new Uint8Array(300)).ok).toBe(true);
    expect(budget.limitBytes).toBe(500);
  });
});

describe("SafeTaskQueue.seal", () => {
  test("refuses publishes (waiting producers too) while leases, acks and fails go on; undefined reopens", async () => {
    const q = SafeTaskQueue.create<number>({ capacity: 2 });
    await q.enqueue(1);
    await q.enqueue(2);
    const waiting = q.enqueue(3);
    q.seal("queue 'default' was removed from the configuration");
    const refused = await waiting;
    expect(!refused.ok && refused.error.code).toBe("queue.closed");
    const again = q.tryEnqueue(4);
    expect(!again.ok && again.error.message).toContain("removed");
    const lease = (await q.lease()).value!;
    expect(q.fail(lease, { code: "unavailable", message: "x" }).ok).toBe(true);
    q.ack((await q.lease()).value!);
    q.ack((await q.lease()).value!);
    expect(q.stats()).toMatchObject({ held: 0, acked: 2 });
    q.seal(undefined);
    expect(q.tryEnqueue(5).ok).toBe(true);
  });
});

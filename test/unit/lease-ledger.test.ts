import { describe, expect, test } from "../harness.ts";
import { sluiceError, VirtualClock } from "../../src/result/mod.ts";
import { SafeTaskQueue } from "../../src/queue/mod.ts";
import { LeaseLedger } from "../../src/transport/lease-ledger.ts";

describe("LeaseLedger", () => {
  test("prune drops leases that ended on the queue's side; live ones stay", async () => {
    const clock = new VirtualClock();
    const queue = SafeTaskQueue.create<string>({ clock, leaseMs: 1000, heartbeatMs: 500, sweepMs: 100 });
    await queue.enqueue("a");
    await queue.enqueue("b");
    const ledger = new LeaseLedger(queue);
    const a = queue.tryLease()!;
    ledger.hold(a);
    await clock.advance(600);
    const b = queue.tryLease()!;
    ledger.hold(b);
    await clock.advance(500); // a expired, b still live
    expect(ledger.prune()).toBe(1);
    expect(ledger.get(a.token)).toBeUndefined();
    expect(ledger.get(b.token)).toBe(b);
  });
  test("releaseAll fails held leases back at once, even with a requeue delay", async () => {
    const clock = new VirtualClock();
    const queue = SafeTaskQueue.create<string>({ clock, requeueDelayMs: 10_000 });
    await queue.enqueue("a");
    const ledger = new LeaseLedger(queue);
    ledger.hold(queue.tryLease()!);
    expect(await ledger.releaseAll(sluiceError("unavailable", "consumer disconnected"))).toBe(1);
    const again = queue.tryLease();
    expect(again?.attempt).toBe(2);
    expect(again?.lastError?.code).toBe("unavailable");
  });
  test("a newer lease in the slot of an ended one replaces it; the old token neither finds nor settles it", async () => {
    const clock = new VirtualClock();
    const queue = SafeTaskQueue.create<string>({ clock, leaseMs: 1000, heartbeatMs: 500, sweepMs: 100 });
    await queue.enqueue("a");
    const ledger = new LeaseLedger(queue);
    const old = queue.tryLease()!;
    ledger.hold(old);
    await clock.advance(1000); // expired and requeued; the slot is free again
    const renewed = queue.tryLease()!;
    expect(renewed.token % 2 ** 24).toBe(old.token % 2 ** 24); // same slot, new generation
    ledger.hold(renewed);
    expect(ledger.size).toBe(1);
    expect(ledger.get(old.token)).toBeUndefined();
    ledger.settle(old.token);
    expect(ledger.get(renewed.token)).toBe(renewed);
    ledger.settle(renewed.token);
    expect(ledger.size).toBe(0);
  });
});

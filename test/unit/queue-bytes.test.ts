// Byte budgets (issue 12): a memory queue is bounded in payload bytes (maxBytes) as well as in
// items, and every queue of a server counts against one shared MemoryBudget; a stored queue
// leaves what does not fit in its store instead of refusing it.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "../harness.ts";
import { VirtualClock } from "../../src/result/mod.ts";
import { MemoryBudget, SafeTaskQueue } from "../../src/queue/mod.ts";
import { bytesCodec, SqlStore } from "../../src/store/mod.ts";
import { openSqlite } from "../../src/runtime/sqlite.ts";

const kib = (n: number) => new Uint8Array(n * 1024);

describe("byte budgets", () => {
  test("a memory queue past maxBytes refuses (reject) or holds producers back (wait) until bytes are acked", async () => {
    const clock = new VirtualClock();
    const reject = SafeTaskQueue.create<Uint8Array>({ clock, capacity: 1000, maxBytes: 100 * 1024, fullMode: "reject" });
    for (let i = 0; i < 10; i++) expect(reject.tryEnqueue(kib(10)).ok).toBe(true);
    const refused = reject.tryEnqueue(kib(10));
    expect(!refused.ok && refused.error.code).toBe("queue.full");
    expect(reject.metrics.registry.render()).toContain('sluice_held_bytes{queue="default",role="dispatcher"} 102400');

    const wait = SafeTaskQueue.create<Uint8Array>({ clock, capacity: 1000, maxBytes: 100 * 1024 });
    for (let i = 0; i < 10; i++) await wait.enqueue(kib(10));
    let added = false;
    const pending = wait.enqueue(kib(10)).then((r) => (added = r.ok));
    await Promise.resolve();
    expect(added).toBe(false);
    wait.ack(wait.tryLease()!);
    await pending;
    expect(added).toBe(true);
  });

  test("one payload larger than maxBytes still gets through when the queue holds nothing", () => {
    const queue = SafeTaskQueue.create<Uint8Array>({ maxBytes: 1024, fullMode: "reject" });
    expect(queue.tryEnqueue(kib(4)).ok).toBe(true);
    expect(queue.tryEnqueue(kib(1)).ok).toBe(false);
  });

  test("queues of one server share its memory budget", () => {
    const budget = new MemoryBudget(64 * 1024);
    const a = SafeTaskQueue.create<Uint8Array>({ name: "a", memoryBudget: budget, fullMode: "reject" });
    const b = SafeTaskQueue.create<Uint8Array>({ name: "b", memoryBudget: budget, fullMode: "reject" });
    for (let i = 0; i < 4; i++) expect(a.tryEnqueue(kib(10)).ok).toBe(true);
    for (let i = 0; i < 2; i++) expect(b.tryEnqueue(kib(10)).ok).toBe(true);
    expect(budget.used).toBe(60 * 1024);
    expect(b.tryEnqueue(kib(10)).ok).toBe(false);
    a.ack(a.tryLease()!);
    expect(budget.used).toBe(50 * 1024);
    expect(b.tryEnqueue(kib(10)).ok).toBe(true);
  });

  test("a stored queue past its budget keeps new messages in the store, not in memory, and serves them in order", async () => {
    const dir = mkdtempSync(join(tmpdir(), "sluice-bytes-"));
    const path = join(dir, "sluice.db");
    const opened = SqlStore.open({ driver: await openSqlite(path), path });
    if (!opened.ok) throw new Error(opened.error.message);
    const budget = new MemoryBudget(50 * 1024);
    const queue = SafeTaskQueue.create<Uint8Array>({ name: "s", capacity: 1000, memoryBudget: budget, journal: opened.value.journal("s", bytesCodec) });
    for (let i = 0; i < 20; i++) expect(queue.tryEnqueue(kib(10).fill(i)).ok).toBe(true);
    expect(budget.used).toBeLessThanOrEqual(50 * 1024);
    expect(queue.stats()).toMatchObject({ pending: 20, stored: 15 });
    const order: number[] = [];
    for (let lease = queue.tryLease(); lease !== undefined; lease = queue.tryLease()) {
      order.push(lease.payload[0]!);
      queue.ack(lease);
      expect(budget.used).toBeLessThanOrEqual(50 * 1024);
      await Promise.resolve();
    }
    expect(order).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(budget.used).toBe(0);
    opened.value.close();
    rmSync(dir, { recursive: true, force: true });
  });
});

/**
 * The SQLite store under a SafeTaskQueue, on each runtime's own driver (bun:sqlite on Bun,
 * node:sqlite on Deno): what is committed comes back after a "crash" (the connection closed
 * without draining the queue), in order, with attempts, stalls and poison history intact.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, test } from "../harness.ts";
import { sluiceError, VirtualClock } from "../../src/result/mod.ts";
import { SafeTaskQueue, type SafeTaskQueueOptions } from "../../src/queue/mod.ts";
import { bytesCodec, jsonCodec, SqlStore, type SqlDriver } from "../../src/store/mod.ts";
import { openSqlite } from "../../src/runtime/sqlite.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tempPath(): string {
  const dir = mkdtempSync(join(tmpdir(), "sluice-store-"));
  dirs.push(dir);
  return join(dir, "sluice.db");
}

async function openStore(path: string, clock: VirtualClock, wrap: (d: SqlDriver) => SqlDriver = (d) => d): Promise<SqlStore> {
  const opened = SqlStore.open({ driver: wrap(await openSqlite(path)), path, clock });
  if (!opened.ok) throw new Error(opened.error.message);
  return opened.value;
}

function queueOn(store: SqlStore, clock: VirtualClock, options: SafeTaskQueueOptions = {}): SafeTaskQueue<string> {
  return SafeTaskQueue.create<string>({ name: "jobs", clock, leaseMs: 1000, heartbeatMs: 500, ...options, journal: store.journal("jobs", jsonCodec<string>()) });
}

function drainAll(queue: SafeTaskQueue<string>): string[] {
  const out: string[] = [];
  for (let lease = queue.tryLease(); lease !== undefined; lease = queue.tryLease()) {
    out.push(lease.payload);
    queue.ack(lease);
  }
  return out;
}

describe("SqlStore under SafeTaskQueue", () => {
  test("committed items come back in order after a crash; acked ones do not; sequence ids go on", async () => {
    const path = tempPath();
    const clock = new VirtualClock();
    let store = await openStore(path, clock);
    let queue = queueOn(store, clock);
    for (const p of ["a", "b", "c", "d"]) await queue.enqueue(p);
    const first = queue.tryLease()!;
    queue.ack(first);
    let receipted = false;
    queue.afterCommit((r) => (receipted = r.ok));
    expect(receipted).toBe(false); // nothing is durable before the commit window closes
    await clock.advance(0);
    expect(receipted).toBe(true);
    store.close(); // the process dies: no drain, no snapshot

    store = await openStore(path, clock);
    queue = queueOn(store, clock);
    expect(queue.stats().pending).toBe(3);
    expect(drainAll(queue)).toEqual(["b", "c", "d"]);
    const next = await queue.enqueue("e");
    expect(next.ok && next.value.sequenceId).toBe(5);
    store.close();
  });

  test("an item enqueued and acked within one commit window never reaches the disk", async () => {
    const path = tempPath();
    const clock = new VirtualClock();
    const store = await openStore(path, clock);
    const queue = queueOn(store, clock);
    await queue.enqueue("x");
    queue.ack(queue.tryLease()!);
    expect(queue.journal!.dirty).toBe(true);
    store.flush();
    expect(queue.journal!.dirty).toBe(false);
    store.close();
    const again = await openStore(path, clock);
    expect(queueOn(again, clock).stats().pending).toBe(0);
    again.close();
  });

  test("a lease live at the crash comes back as attempt + 1, counted as a stall; maxStalls crashes poison it", async () => {
    const path = tempPath();
    const clock = new VirtualClock();
    let store = await openStore(path, clock);
    let queue = queueOn(store, clock, { maxStalls: 3 });
    await queue.enqueue("crashes-the-server");
    for (let crash = 1; crash <= 3; crash++) {
      const lease = queue.tryLease()!;
      expect(lease.attempt).toBe(crash);
      store.close(); // the delivery kills the process
      store = await openStore(path, clock);
      queue = queueOn(store, clock, { maxStalls: 3 });
    }
    expect(queue.stats().pending).toBe(0);
    const [entry] = queue.poison.list();
    expect(entry!.payload).toBe("crashes-the-server");
    expect(entry!.exhausted).toBe("stalls");
    expect(entry!.history.map((h) => h.attempt)).toEqual([1, 2, 3]);
    store.close();
  });

  test("poison entries, replay and purge are durable", async () => {
    const path = tempPath();
    const clock = new VirtualClock();
    let store = await openStore(path, clock);
    let queue = queueOn(store, clock, { maxRetries: 1 });
    for (const p of ["p1", "p2", "p3"]) await queue.enqueue(p);
    for (let i = 0; i < 3; i++) queue.fail(queue.tryLease()!, sluiceError("validation", `bad ${i}`));
    expect(queue.poison.size).toBe(3);
    store.close();

    store = await openStore(path, clock);
    queue = queueOn(store, clock, { maxRetries: 1 });
    const entries = queue.poison.list();
    expect(entries.map((e) => [e.payload, e.lastError.code, e.exhausted])).toEqual([
      ["p1", "validation", "failures"],
      ["p2", "validation", "failures"],
      ["p3", "validation", "failures"],
    ]);
    expect(queue.poison.replay([entries[0]!.sequenceId])).toBe(1);
    expect(queue.poison.purge([entries[1]!.sequenceId])).toBe(1);
    store.close();

    store = await openStore(path, clock);
    queue = queueOn(store, clock, { maxRetries: 1 });
    expect(queue.poison.list().map((e) => e.payload)).toEqual(["p3"]);
    const replayed = queue.tryLease()!;
    expect([replayed.payload, replayed.attempt]).toEqual(["p1", 1]);
    expect(queue.poison.list()[0]!.history.length).toBe(1);
    store.close();
  });

  test("more stored items than capacity: the restart serves them all in order while producers wait for room", async () => {
    const path = tempPath();
    const clock = new VirtualClock();
    let store = await openStore(path, clock);
    let queue = queueOn(store, clock, { capacity: 5000 });
    for (let i = 0; i < 3000; i++) queue.tryEnqueue(`m${i}`);
    store.close();

    store = await openStore(path, clock);
    queue = queueOn(store, clock, { capacity: 1000 });
    expect(queue.tryEnqueue("late").ok).toBe(false); // full: 3000 held, capacity 1000
    const waiting = queue.enqueue("late");
    const got: string[] = [];
    for (let i = 0; i < 2001; i++) {
      const lease = queue.tryLease()!;
      got.push(lease.payload);
      queue.ack(lease);
      await Promise.resolve();
    }
    expect((await waiting).ok).toBe(true);
    got.push(...drainAll(queue));
    expect(got.length).toBe(3001);
    expect(got.slice(0, 3000)).toEqual(Array.from({ length: 3000 }, (_, i) => `m${i}`));
    expect(got[3000]).toBe("late");
    store.close();
  });

  test("memory is a window: past maxBytes new items wait in the store and are paged in, in order", async () => {
    const path = tempPath();
    const clock = new VirtualClock();
    const store = await openStore(path, clock);
    const queue = SafeTaskQueue.create<Uint8Array>({ name: "big", clock, capacity: 10_000, maxBytes: 64 * 1024, journal: store.journal("big", bytesCodec) });
    for (let i = 0; i < 200; i++) queue.tryEnqueue(new Uint8Array(1024).fill(i % 251));
    const seen: number[] = [];
    for (let lease = queue.tryLease(); lease !== undefined; lease = queue.tryLease()) {
      seen.push(lease.payload[0]!);
      queue.ack(lease);
      await Promise.resolve();
    }
    expect(seen).toEqual(Array.from({ length: 200 }, (_, i) => i % 251));
    store.close();
  });

  test("a second store on the same file is refused, naming the file", async () => {
    const path = tempPath();
    const clock = new VirtualClock();
    const store = await openStore(path, clock);
    const second = SqlStore.open({ driver: await openSqlite(path), path, clock });
    expect(second.ok).toBe(false);
    if (!second.ok) expect(second.error.message).toContain(path);
    store.close();
  });

  test("a corrupt database is refused, naming the file and the cause", async () => {
    const path = tempPath();
    writeFileSync(path, "this is not a database, just text that is long enough to have a header".repeat(100));
    let opened;
    try {
      opened = SqlStore.open({ driver: await openSqlite(path), path });
    } catch (thrown) {
      opened = { ok: false as const, error: { message: `${path}: ${String(thrown)}` } };
    }
    expect(opened.ok).toBe(false);
    if (!opened.ok) expect(opened.error.message).toMatch(new RegExp(`${path.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}.*(not a database|malformed|corrupt)`, "i"));
  });

  test("a failing disk refuses producers with unavailable, consumers keep acking, nothing receipted is lost", async () => {
    const path = tempPath();
    const clock = new VirtualClock();
    let broken = false;
    const lines: string[] = [];
    const failing = (d: SqlDriver): SqlDriver => ({
      ...d,
      exec: (sql) => {
        if (broken && sql === "COMMIT") throw new Error("database or disk is full");
        d.exec(sql);
      },
    });
    const opened = SqlStore.open({ driver: failing(await openSqlite(path)), path, clock, retryMs: 1000, log: (l) => lines.push(l) });
    if (!opened.ok) throw new Error(opened.error.message);
    const store = opened.value;
    const queue = queueOn(store, clock);
    for (const p of ["kept1", "kept2", "kept3"]) await queue.enqueue(p);
    await clock.advance(0); // receipted: committed
    broken = true;
    queue.ack(queue.tryLease()!);
    let answer: string | undefined;
    queue.afterCommit((r) => (answer = r.ok ? "ok" : r.error.code));
    await clock.advance(0);
    expect(answer).toBe("unavailable");
    const refused = queue.tryEnqueue("new");
    expect(!refused.ok && refused.error.code).toBe("unavailable");
    expect(lines.join("\n")).toContain("disk is full");
    const lease = queue.tryLease()!; // consumers keep working
    expect(queue.ack(lease).ok).toBe(true);
    broken = false;
    await clock.advance(1000); // the retry commits both acks
    expect(store.failure).toBeUndefined();
    expect(queue.tryEnqueue("new").ok).toBe(true);
    store.close();
    const again = await openStore(path, clock);
    expect(drainAll(queueOn(again, clock))).toEqual(["kept3", "new"]);
    again.close();
  });

  test("idempotency keys outlive a restart for their window, and not beyond", async () => {
    const path = tempPath();
    const clock = new VirtualClock();
    let store = await openStore(path, clock);
    store.rememberKey("jobs", "order-17", 42, clock.now() + 60_000);
    expect(store.findKey("jobs", "order-17", clock.now())).toBe(42);
    store.close();
    store = await openStore(path, clock);
    expect(store.findKey("jobs", "order-17", clock.now())).toBe(42);
    expect(store.findKey("other", "order-17", clock.now())).toBeUndefined();
    expect(store.findKey("jobs", "order-17", clock.now() + 60_000)).toBeUndefined();
    store.close();
  });
  test("a page-in reads only the payloads that fit the byte budget (large payloads are not read and dropped)", async () => {
    const path = tempPath();
    const clock = new VirtualClock();
    let store = await openStore(path, clock);
    let queue = SafeTaskQueue.create<Uint8Array>({ name: "big", clock, capacity: 1000, journal: store.journal("big", bytesCodec) });
    for (let i = 0; i < 40; i++) queue.tryEnqueue(new Uint8Array(1 << 20).fill(i));
    store.close();
    let payloadBytesRead = 0;
    const counting = (d: SqlDriver): SqlDriver => ({
      ...d,
      prepare: (sql) => {
        const statement = d.prepare(sql);
        return {
          run: statement.run,
          all: (...params) => {
            const rows = statement.all(...params);
            for (const row of rows) if (row.payload instanceof Uint8Array) payloadBytesRead += row.payload.byteLength;
            return rows;
          },
        };
      },
    });
    store = await openStore(path, clock, counting);
    queue = SafeTaskQueue.create<Uint8Array>({ name: "big", clock, capacity: 1000, maxBytes: 8 << 20, journal: store.journal("big", bytesCodec) });
    expect(payloadBytesRead).toBeLessThanOrEqual(8 << 20);
    for (let i = 0; i < 40; i++) {
      const lease = queue.tryLease()!;
      expect(lease.payload[0]).toBe(i);
      queue.ack(lease);
      await Promise.resolve();
    }
    expect(payloadBytesRead).toBeLessThanOrEqual(41 << 20); // each payload read about once, not a page of 256 per ack
    store.close();
  });
});

// A lease of an item stored in an earlier window is written as a lease mark, not a row update
// (src/store/queue-journal.ts): what a crash finds must be the same as with leased rows.
describe("SqlStore lease marks", () => {
  async function crash(store: SqlStore, path: string, clock: VirtualClock, options: SafeTaskQueueOptions = {}) {
    store.close(); // committed what was pending: the process dies here
    const reopened = await openStore(path, clock);
    return { store: reopened, queue: queueOn(reopened, clock, options) };
  }

  test("leases held across many commit windows (mark rows folded into the items) still come back as stalls", async () => {
    const path = tempPath();
    const clock = new VirtualClock();
    let store = await openStore(path, clock);
    let queue = queueOn(store, clock, { leaseMs: 60_000 });
    for (let i = 0; i < 40; i++) await queue.enqueue(`m${i}`);
    store.flush();
    const held: number[] = [];
    for (let i = 0; i < 40; i++) {
      const lease = queue.tryLease()!;
      // Every other lease is acked a window later; the rest stay leased through every fold.
      if (i % 2 === 0) held.push(i);
      else queue.afterCommit(() => queue.ack(lease));
      store.flush();
    }
    store.flush();
    ({ store, queue } = await crash(store, path, clock, { leaseMs: 60_000 }));
    expect(queue.stats().pending).toBe(held.length);
    const back: [string, number][] = [];
    for (let lease = queue.tryLease(); lease !== undefined; lease = queue.tryLease()) back.push([lease.payload, lease.attempt]);
    expect(back).toEqual(held.map((i) => [`m${i}`, 2]));
    store.close();
  });

  test("a lease given back without counting (attempts - 1) is not taken for a lease at the next start", async () => {
    const path = tempPath();
    const clock = new VirtualClock();
    let store = await openStore(path, clock);
    let queue = queueOn(store, clock);
    await queue.enqueue("x");
    store.flush(); // stored: the lease that follows is a mark
    const lease = queue.tryLease()!;
    store.flush(); // the lease is a mark
    queue.fail(lease, sluiceError("canceled", "consumer gone"), { requeue: true, countAttempt: false, delayMs: 0 });
    store.flush();
    ({ store, queue } = await crash(store, path, clock));
    const again = queue.tryLease()!;
    expect(again.attempt).toBe(1);
    queue.fail(again, sluiceError("timeout", "slow"));
    expect(queue.poison.size).toBe(0);
    store.close();
  });

  test("a poison entry replayed (attempts back to 0) is not taken for a lease at the next start", async () => {
    const path = tempPath();
    const clock = new VirtualClock();
    let store = await openStore(path, clock);
    let queue = queueOn(store, clock, { maxRetries: 1 });
    await queue.enqueue("p");
    store.flush();
    const lease = queue.tryLease()!;
    store.flush(); // leased as a mark (attempt 1)
    queue.fail(lease, sluiceError("validation", "bad"));
    store.flush();
    expect(queue.poison.replay()).toBe(1);
    store.flush();
    ({ store, queue } = await crash(store, path, clock, { maxRetries: 1 }));
    expect(queue.stats().pending).toBe(1);
    const again = queue.tryLease()!;
    expect(again.attempt).toBe(1);
    store.close();
  });

  test("a lease resumed at start-up stays leased through the next restart", async () => {
    const path = tempPath();
    const clock = new VirtualClock();
    let store = await openStore(path, clock);
    let queue = queueOn(store, clock);
    await queue.enqueue("r");
    store.flush();
    const lease = queue.tryLease()!;
    store.flush();
    store.close();
    store = await openStore(path, clock);
    queue = SafeTaskQueue.create<string>({
      name: "jobs", clock, leaseMs: 1000, heartbeatMs: 500, journal: store.journal("jobs", jsonCodec<string>()),
      resumeLease: (seq) => (seq === lease.sequenceId ? { token: lease.token, deadline: clock.now() + 1000 } : undefined),
    });
    expect(queue.stats().active).toBe(1);
    ({ store, queue } = await crash(store, path, clock));
    const again = queue.tryLease()!;
    expect(again.attempt).toBe(2);
    store.close();
  });
});

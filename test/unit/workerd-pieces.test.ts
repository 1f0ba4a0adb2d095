// The runtime-neutral pieces of Sluice on workerd, without workerd: the lease table that takes
// back tokens after a rebuild, the clock on a single alarm, the lease book (on this runtime's own
// SQLite), the Prometheus merge, and a queue resuming leases over a store with a backlog (no
// duplicate when a resumed lease is failed back). The real thing: test/integration/workerd-*.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, test } from "../harness.ts";
import { sluiceError, VirtualClock } from "../../src/result/mod.ts";
import { SafeTaskQueue } from "../../src/queue/mod.ts";
import { bytesCodec, SqlStore } from "../../src/store/mod.ts";
import { openSqlite } from "../../src/runtime/sqlite.ts";
import { ResumableLeaseTable } from "../../src/runtime/workerd/lease-table.ts";
import { AlarmClock } from "../../src/runtime/workerd/alarm-clock.ts";
import { LeaseBook } from "../../src/runtime/workerd/lease-book.ts";
import { mergePrometheus } from "../../src/runtime/workerd/prometheus-merge.ts";
import { LEASE_SLOT_SPAN } from "../../src/wasm/mod.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
function tempPath(): string {
  const dir = mkdtempSync(join(tmpdir(), "sluice-workerd-"));
  dirs.push(dir);
  return join(dir, "do.db");
}

describe("ResumableLeaseTable", () => {
  test("restored tokens stay valid; new leases never reuse a token of the previous incarnation; expiry is earliest first", () => {
    const old = new ResumableLeaseTable({ index: 0, count: 64 });
    const issued = Array.from({ length: 5 }, (_, i) => old.acquire(1, 1000 + i));
    old.release(issued[1]!);
    const kept = [issued[0]!, issued[3]!, issued[4]!];
    const table = new ResumableLeaseTable({ index: 1, count: 64 });
    for (const token of kept) expect(table.restore(token, 1, old.deadlineOf(token))).toBe(true);
    expect(table.restore(kept[0]!, 1, 5)).toBe(false); // its slot is taken
    expect(kept.map((t) => table.isActive(t))).toEqual([true, true, true]);
    const fresh = Array.from({ length: 6 }, () => table.acquire(2, 5000));
    for (const token of fresh) expect(issued).not.toContain(token);
    expect(table.restore(issued[1]!, 1, 1)).toBe(false); // only before the first acquire
    expect(table.size).toBe(9);
    const out = new Float64Array(16);
    expect(table.nextDeadline()).toBe(1000);
    const n = table.expireUpTo(1003, out);
    expect([...out.subarray(0, n)]).toEqual([issued[0]!, issued[3]!]);
    expect(table.release(issued[4]!)).toBe(true);
    expect(table.take(fresh[0]!)).toBe(5000); // release returning the deadline
    expect(table.take(fresh[0]!)).toBe(-1);
    expect(table.isActive(fresh[0]!)).toBe(false);
    const reused = table.acquire(3, 9000);
    expect([...issued, ...fresh]).not.toContain(reused);
    expect(Math.floor(reused / LEASE_SLOT_SPAN) % 64).toBe(2); // this incarnation's lane: index 1 + 1
  });
});

describe("AlarmClock", () => {
  test("one alarm, set to the earliest timer; fire() runs what is due and re-arms for the next", async () => {
    const alarms: number[] = [];
    const clock = new AlarmClock((at) => alarms.push(at));
    const ran: string[] = [];
    const t0 = clock.now();
    clock.setTimeout(() => ran.push("late"), 60_000);
    const cancelled = clock.setTimeout(() => ran.push("cancelled"), 10_000);
    clock.setTimeout(() => ran.push("soon"), 20_000);
    expect(alarms.length).toBe(2); // 60 s, then the earlier 10 s; 20 s is later than the armed one
    expect(alarms[1]! - t0).toBeGreaterThanOrEqual(10_000);
    clock.clearTimeout(cancelled);
    clock.fire(); // rang early (nothing due): re-arms for the earliest left
    expect(ran).toEqual([]);
    expect(alarms.at(-1)! - t0).toBeGreaterThanOrEqual(20_000);
    expect(clock.pending).toBe(2);
    let immediate = false;
    clock.setTimeout(() => (immediate = true), 0); // due now: an ordinary timer, no alarm
    await new Promise((r) => setTimeout(r, 5));
    expect(immediate).toBe(true);
  });
});

describe("LeaseBook", () => {
  test("saves only differences, survives a reopen, bumps the epoch", async () => {
    const path = tempPath();
    let book = LeaseBook.open(await openSqlite(path));
    expect(book.epoch).toBe(1);
    book.setMeta("queue", "jobs");
    const a = { token: LEASE_SLOT_SPAN + 1, seq: 7, attempt: 1, deadline: 5000 };
    const b = { token: LEASE_SLOT_SPAN + 2, seq: 8, attempt: 2, deadline: 6000 };
    expect(book.save(new Map([["c1", { credit: 3, leases: [a, b] }], ["c2", { credit: 1, leases: [] }]]))).toBe(4);
    expect(book.save(new Map([["c1", { credit: 3, leases: [a, b] }], ["c2", { credit: 1, leases: [] }]]))).toBe(0);
    expect(book.save(new Map([["c1", { credit: 2, leases: [{ ...b, deadline: 9000 }] }]]))).toBe(4); // credit, deadline, a gone, c2 gone
    book = LeaseBook.open(await openSqlite(path));
    expect(book.epoch).toBe(2);
    expect(book.meta("queue")).toBe("jobs");
    expect([...book.consumers]).toEqual([["c1", { credit: 2, leases: [{ ...b, deadline: 9000 }] }]]);
  });
});

describe("mergePrometheus", () => {
  test("each family once, every queue's samples, object-wide series summed", () => {
    const text = (q: string, n: number) =>
      `# HELP sluice_acked_total Acked\n# TYPE sluice_acked_total counter\nsluice_acked_total{queue="${q}",role="dispatcher"} ${n}\n` +
      `# HELP sluice_websocket_connections Open\n# TYPE sluice_websocket_connections gauge\nsluice_websocket_connections ${n}\n`;
    const merged = mergePrometheus([text("a", 1), text("b", 2)]);
    expect(merged).toBe(
      "# HELP sluice_acked_total Acked\n# TYPE sluice_acked_total counter\n" +
        'sluice_acked_total{queue="a",role="dispatcher"} 1\nsluice_acked_total{queue="b",role="dispatcher"} 2\n' +
        "# HELP sluice_websocket_connections Open\n# TYPE sluice_websocket_connections gauge\nsluice_websocket_connections 3\n",
    );
  });
});

describe("SafeTaskQueue.resumeLease (a Durable Object rebuilt with its consumers connected)", () => {
  test("resumed leases keep token and deadline; the backlog is paged in without them; failing one back never duplicates it", async () => {
    const path = tempPath();
    const clock = new VirtualClock();
    const open = async () => {
      const store = SqlStore.open({ driver: await openSqlite(path), path, clock });
      if (!store.ok) throw new Error(store.error.message);
      return store.value;
    };
    let store = await open();
    const table1 = new ResumableLeaseTable({ index: 0, count: 64 });
    const q1 = SafeTaskQueue.create<Uint8Array>({ name: "jobs", clock, leaseMs: 10_000, maxBytes: 64, journal: store.journal("jobs", bytesCodec), leaseTable: table1 });
    for (let i = 1; i <= 12; i++) q1.tryEnqueue(new Uint8Array(16).fill(i)); // 4 fit in memory (maxBytes 64): the rest wait in the store
    // Four deliveries; the last one (the highest sequence id in memory) outlives the object.
    const [, , , l2] = [q1.tryLease()!, q1.tryLease()!, q1.tryLease()!, q1.tryLease()!];
    store.flush();
    const kept = { token: l2!.token, deadline: table1.deadlineOf(l2!.token) };
    store.close(); // the object is evicted: three consumers went away, l2's is still connected

    store = await open();
    const table2 = new ResumableLeaseTable({ index: 1, count: 64 });
    expect(table2.restore(kept.token, 1, kept.deadline)).toBe(true);
    const q2 = SafeTaskQueue.create<Uint8Array>({
      name: "jobs", clock, leaseMs: 10_000, maxBytes: 64, journal: store.journal("jobs", bytesCodec), leaseTable: table2,
      resumeLease: (seq) => (seq === l2!.sequenceId ? kept : undefined),
    });
    const resumed = q2.leaseByToken(kept.token)!;
    expect(resumed).toMatchObject({ sequenceId: l2!.sequenceId, attempt: 1 });
    expect(q2.stats()).toMatchObject({ active: 1, held: 12 });
    expect(q2.fail(resumed, sluiceError("internal", "retry"), { delayMs: 0 }).ok).toBe(true);
    const seen: number[] = [];
    for (let lease = q2.tryLease(); lease !== undefined || q2.stats().pending > 0; lease = q2.tryLease()) {
      if (lease === undefined) {
        store.flush();
        await clock.advance(1);
        continue;
      }
      seen.push(lease.sequenceId);
      q2.ack(lease);
    }
    expect(seen.toSorted((a, b) => a - b)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1)); // each once; the other three came back as crashes
    store.close();
  });
});

/**
 * Randomized model test: thousands of random operations and clock advances against a simple
 * reference model. The queue's lifecycle events drive the model's view of expiries, requeues and
 * poisonings, and every event is checked against what the model allows. Fixed seed, so a failure
 * replays; change SEED to explore.
 */
import { describe, expect, test } from "../harness.ts";
import { sluiceError, VirtualClock } from "../../src/result/mod.ts";
import { SafeTaskQueue, type Lease } from "../../src/queue/mod.ts";
import { mulberry32 } from "../seeded-random.ts";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { QueueJournal } from "../../src/queue/journal.ts";
import { jsonCodec, SqlStore } from "../../src/store/mod.ts";
import { openSqlite } from "../../src/runtime/sqlite.ts";

const SEED = 0x5eed1;
const OPS = 20_000;


type State = "pending" | "inflight" | "acked" | "poisoned" | "ended";
interface ModelItem {
  state: State;
  attempt: number;
  token: number;
  deadline: number;
  ackedTimes: number;
  /** Explicit failures and stalls (expiries) since enqueue or replay: the two poison budgets. */
  failures: number;
  stalls: number;
  /** The last `fail` asked for no requeue. */
  rejected: boolean;
}

describe("SafeTaskQueue model", () => {
  test(`random operations never lose or double-ack an item (seed ${SEED})`, () => runModel(SEED, false));
  // With consumers parked in lease(): a requeue (by fail, expiry or replay) hands the item
  // straight to one of them, in the middle of whatever the queue was doing.
  test(`…also with consumers waiting in lease() (seed ${SEED + 1})`, () => runModel(SEED + 1, true), 60_000);
  // With the SQLite store: after every step the store is copied and a fresh queue loaded from the
  // copy (a crash at that instant) must hold exactly the model's pending + in-flight items, each
  // next delivered as attempt + 1, and exactly its poison set.
  test(`…also journaled to the store, reloaded after every step (seed ${SEED + 2})`, () => runStoredModel(SEED + 2), 120_000);
});

async function runStoredModel(seed: number): Promise<void> {
  // tmpfs where there is one: the check copies the database after every step.
  const dir = mkdtempSync(join(existsSync("/dev/shm") ? "/dev/shm" : tmpdir(), "sluice-model-"));
  const path = join(dir, "live.db");
  const clock = new VirtualClock();
  const opened = SqlStore.open({ driver: await openSqlite(path), path, clock });
  if (!opened.ok) throw new Error(opened.error.message);
  const store = opened.value;
  let step = 0;
  try {
    await runModel(seed, false, {
      ops: 300,
      journal: store.journal("model", jsonCodec<number>()),
      async check(model, fail) {
        const copy = join(dir, `copy-${step++ % 2}.db`);
        rmSync(copy, { force: true });
        store.backupTo(copy);
        const reopened = SqlStore.open({ driver: await openSqlite(copy), path: copy, clock: new VirtualClock(clock.now()) });
        if (!reopened.ok) return fail(reopened.error.message);
        const fresh = SafeTaskQueue.create<number>({ name: "model", capacity: 1000, maxStalls: 1000, journal: reopened.value.journal("model", jsonCodec<number>()) });
        const want = [...model].filter(([, i]) => i.state === "pending" || i.state === "inflight").map(([id]) => id).sort((a, b) => a - b);
        const got: number[] = [];
        for (let lease = fresh.tryLease(); lease !== undefined; lease = fresh.tryLease()) {
          got.push(lease.sequenceId);
          if (lease.attempt !== model.get(lease.sequenceId)!.attempt + 1) fail(`reloaded ${lease.sequenceId} as attempt ${lease.attempt}, model says ${model.get(lease.sequenceId)!.attempt} so far`);
        }
        if (got.join() !== want.join()) fail(`reloaded pending+inflight [${got}] but the model holds [${want}]`);
        const poisoned = fresh.poison.list().map((e) => e.sequenceId).sort((a, b) => a - b);
        const wantPoison = [...model].filter(([, i]) => i.state === "poisoned").map(([id]) => id).sort((a, b) => a - b);
        if (poisoned.join() !== wantPoison.join()) fail(`reloaded poison [${poisoned}] but the model holds [${wantPoison}]`);
        reopened.value.close();
      },
    });
  } finally {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

interface StoredModel {
  readonly ops: number;
  readonly journal: QueueJournal<number>;
  check(model: Map<number, ModelItem>, fail: (message: string) => void): Promise<void>;
}

async function runModel(SEED: number, withWaiters: boolean, stored?: StoredModel): Promise<void> {
  {
    const random = mulberry32(SEED);
    // Mostly recent leases (likely live), sometimes any earlier one (likely stale).
    const pick = <T>(xs: T[]): T => xs[xs.length - 1 - Math.floor(random() * (random() < 0.8 ? Math.min(16, xs.length) : xs.length))]!;
    const clock = new VirtualClock();
    const leaseMs = 1000;
    const maxRetries = 3;
    const maxStalls = 2;
    const capacity = 64;
    const queue = SafeTaskQueue.create<number>({ name: "model", clock, leaseMs, heartbeatMs: 300, sweepMs: 100, maxRetries, maxStalls, capacity, fullMode: "reject", journal: stored?.journal });
    const model = new Map<number, ModelItem>();
    const issued: Lease<number>[] = [];
    const problems: string[] = [];
    const fail = (message: string) => problems.push(`seed ${SEED}, t=${clock.now()}: ${message}`);

    queue.events.subscribe((e) => {
      const item = e.sequenceId === undefined ? undefined : model.get(e.sequenceId);
      if (item === undefined) return;
      if (e.type === "expired") {
        if (item.state !== "inflight" || item.attempt !== e.attempt) fail(`expired event for ${e.sequenceId} in state ${item.state}`);
        if (e.at < item.deadline) fail(`item ${e.sequenceId} expired at ${e.at} before its deadline ${item.deadline}`);
        item.state = "ended";
        item.stalls++;
      } else if (e.type === "failed") {
        item.state = "ended";
        item.failures++;
      } else if (e.type === "requeued") {
        if (item.state !== "ended") fail(`requeued event for ${e.sequenceId} in state ${item.state}`);
        // The retry/poison boundary: requeued only while both budgets have room and no reject.
        if (item.failures >= maxRetries || item.stalls >= maxStalls || item.rejected) {
          fail(`item ${e.sequenceId} requeued with ${item.failures} failures, ${item.stalls} stalls, rejected=${item.rejected}`);
        }
        item.state = "pending";
      } else if (e.type === "poisoned") {
        if (item.state !== "ended" && item.state !== "inflight") fail(`poisoned event for ${e.sequenceId} in state ${item.state}`);
        if (item.failures < maxRetries && item.stalls < maxStalls && !item.rejected) {
          fail(`item ${e.sequenceId} poisoned with only ${item.failures} failures and ${item.stalls} stalls`);
        }
        item.state = "poisoned";
      }
    });

    const count = (s: State) => [...model.values()].filter((i) => i.state === s).length;
    const took = (lease: Lease<number>) => {
      const item = model.get(lease.sequenceId)!;
      if (item.state !== "pending") fail(`leased item ${lease.sequenceId} in state ${item.state}`);
      if (lease.attempt !== item.attempt + 1) fail(`attempt ${lease.attempt} after ${item.attempt}`);
      Object.assign(item, { state: "inflight", attempt: lease.attempt, token: lease.token, deadline: clock.now() + leaseMs });
      issued.push(lease);
    };
    let parked = 0;
    const current = (lease: Lease<number>) => {
      const item = model.get(lease.sequenceId)!;
      return item.state === "inflight" && item.token === lease.token && clock.now() < item.deadline;
    };

    for (let op = 0; op < (stored?.ops ?? OPS) && problems.length === 0; op++) {
      const roll = random();
      // With waiters, fewer enqueues: consumers only park while nothing is pending.
      if (roll < (withWaiters ? 0.1 : 0.25)) {
        const held = count("pending") + count("inflight");
        const r = queue.tryEnqueue(op);
        if (held >= capacity) {
          if (r.ok || r.error.code !== "queue.full") fail(`enqueue beyond capacity: ${JSON.stringify(r)}`);
        } else if (!r.ok) fail(`enqueue failed: ${r.error.code}`);
        else model.set(r.value.sequenceId, { state: "pending", attempt: 0, token: -1, deadline: 0, ackedTimes: 0, failures: 0, stalls: 0, rejected: false });
      } else if (withWaiters && roll < 0.35) {
        if (parked >= 8) continue;
        parked++;
        // The lease is handed over synchronously; its promise settles a few microtasks later.
        queue.lease().then((r) => {
          parked--;
          if (!r.ok) fail(`parked lease failed: ${r.error.code}`);
          else took(r.value);
        });
        await clock.advance(0);
      } else if (roll < 0.45) {
        const lease = queue.tryLease();
        if (lease === undefined) {
          if (count("pending") > 0) fail(`tryLease found nothing with ${count("pending")} pending`);
          continue;
        }
        took(lease);
      } else if (roll < 0.65 && issued.length > 0) {
        const lease = pick(issued);
        const expected = current(lease);
        const r = queue.ack(lease);
        if (r.ok !== expected) fail(`ack of ${lease.sequenceId} gave ${r.ok ? "ok" : r.error.code}, expected ${expected}`);
        if (r.ok) {
          const item = model.get(lease.sequenceId)!;
          item.state = "acked";
          item.ackedTimes++;
        }
      } else if (roll < 0.8 && issued.length > 0) {
        const lease = pick(issued);
        const expected = current(lease);
        const requeue = random() < 0.9;
        if (expected) model.get(lease.sequenceId)!.rejected = !requeue;
        const r = queue.fail(lease, sluiceError("unavailable", `op ${op}`), { requeue });
        if (r.ok !== expected) fail(`fail of ${lease.sequenceId} gave ${r.ok ? "ok" : r.error.code}, expected ${expected}`);
      } else if (roll < 0.88 && issued.length > 0) {
        const lease = pick(issued);
        const expected = current(lease);
        const r = queue.heartbeat(lease);
        if (r.ok !== expected) fail(`heartbeat of ${lease.sequenceId} gave ${r.ok ? "ok" : r.error.code}, expected ${expected}`);
        if (r.ok) model.get(lease.sequenceId)!.deadline = clock.now() + leaseMs;
      } else if (roll < 0.99) {
        await clock.advance(Math.floor(random() * 400));
      } else {
        const replayed = queue.poison.replay();
        if (replayed !== count("poisoned")) fail(`replayed ${replayed} of ${count("poisoned")}`);
        for (const item of model.values()) {
          if (item.state === "poisoned") Object.assign(item, { state: "pending", attempt: 0, failures: 0, stalls: 0, rejected: false });
        }
      }
      if (issued.length > 500) issued.splice(0, 250);
      // Let parked lease() promises settle (they were served synchronously) before comparing.
      if (withWaiters) await clock.advance(0);
      const s = queue.stats();
      if (s.pending !== count("pending") || s.active !== count("inflight") || s.poisoned !== count("poisoned") || s.acked !== count("acked")) {
        fail(`stats ${JSON.stringify(s)} vs model pending=${count("pending")} inflight=${count("inflight")} poisoned=${count("poisoned")} acked=${count("acked")}`);
      }
      if (stored !== undefined) await stored.check(model, fail);
    }

    expect(problems.slice(0, 5)).toEqual([]);
    expect(model.size).toBeGreaterThan(stored === undefined ? 1000 : 50);
    for (const item of model.values()) {
      expect(["pending", "inflight", "acked", "poisoned"]).toContain(item.state);
      expect(item.ackedTimes).toBeLessThanOrEqual(1);
    }
    const s = queue.stats();
    expect(s.pending + s.active + s.poisoned + s.acked).toBe(model.size);
    expect(s.enqueued).toBe(model.size);
    expect(s.expired).toBeGreaterThan(0);
    expect(s.poisonedTotal).toBeGreaterThan(0);
  }
}

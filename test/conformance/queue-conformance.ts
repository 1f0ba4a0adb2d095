/**
 * The queue conformance suite: the lifecycle of DESIGN.md "SafeTaskQueue semantics", run
 * against every `RelayQueue` backend (memory, SQLite, JetStream). Timing cases are written in
 * multiples of the backend's `leaseMs`, so they run on a VirtualClock or, bounded, on real time.
 *
 * @module
 */
import { describe, expect, test } from "../harness.ts";
import { RetryPolicy, sluiceError, type Result } from "../../src/result/mod.ts";
import type { Lease } from "../../src/queue/lease.ts";
import type { Enqueued } from "../../src/queue/relay-queue.ts";
import type { ConformanceBackend, QueueUnderTest } from "./backend.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const bytes = (text: string) => encoder.encode(text);
const text = (lease: Lease<Uint8Array>) => decoder.decode(lease.payload);
const boom = sluiceError("unavailable", "downstream down");

function value<T>(r: Result<T>): T {
  if (!r.ok) throw new Error(`expected ok, got ${r.error.code}: ${r.error.message}`);
  return r.value;
}

/**
 * Registers the suite for `backend`.
 *
 * @example
 * ```ts
 * queueConformance(memoryBackend());
 * ```
 */
export function queueConformance(backend: ConformanceBackend, timeoutMs = 30_000): void {
  const L = backend.leaseMs;
  const { settle, elapse } = backend;
  const options = { leaseMs: L, heartbeatMs: L / 4, sweepMs: backend.sweepMs };

  // Opens a queue, runs `body`, closes it whatever happens.
  const withQueue = (extra: Parameters<ConformanceBackend["open"]>[0], body: (q: QueueUnderTest) => Promise<void>) => async () => {
    const q = await backend.open({ ...options, ...extra });
    try {
      await body(q);
    } finally {
      await q.close();
    }
  };
  // Levels settle: an outside engine applies acks and naks a moment after they are sent.
  const expectStats = async (q: QueueUnderTest, expected: Record<string, number>) => {
    for (let waited = 0; ; waited += backend.sweepMs) {
      const stats = await q.stats();
      if (Object.entries(expected).every(([k, v]) => (stats as unknown as Record<string, number>)[k] === v) || waited > 4 * L) {
        return expect(stats).toMatchObject(expected);
      }
      await elapse(backend.sweepMs);
    }
  };
  const lease = async (q: QueueUnderTest) => value(await settle(q.queue.lease(), 10 * L));
  const poisonCount = async (q: QueueUnderTest) => (await q.queue.poison.list()).length;
  // Waits (bounded) for the poison queue to hold `n` entries, keeping a consumer waiting so a
  // backend that poisons on redelivery (JetStream) gets the message delivered.
  const poisonedEventually = async (q: QueueUnderTest, n: number) => {
    const stop = new AbortController();
    const waiting = q.queue.lease({ signal: stop.signal });
    try {
      for (let waited = 0; (await poisonCount(q)) < n; waited += L / 4) {
        if (waited > 8 * L) throw new Error(`poison queue did not reach ${n}`);
        await elapse(L / 4);
      }
    } finally {
      stop.abort();
      const leftover = await waiting;
      if (leftover.ok) q.queue.fail(leftover.value, boom, { countAttempt: false });
    }
  };

  describe(`queue conformance: ${backend.name}`, () => {
    test("enqueue, lease, ack; FIFO for fresh items", withQueue({}, async (q) => {
      const first = value(await q.queue.enqueue(bytes("a")));
      await q.queue.enqueue(bytes("b"));
      const a = await lease(q);
      expect({ text: text(a), attempt: a.attempt, sequenceId: a.sequenceId, isPoisoned: a.isPoisoned, lastError: a.lastError }).toEqual({
        text: "a", attempt: 1, sequenceId: first.sequenceId, isPoisoned: false, lastError: undefined,
      });
      expect(q.queue.leaseByToken(a.token)?.sequenceId).toBe(a.sequenceId);
      expect(q.queue.ack(a).ok).toBe(true);
      expect(q.queue.leaseByToken(a.token)).toBeUndefined();
      const b = await lease(q);
      expect(text(b)).toBe("b");
      expect(q.queue.ack(b).ok).toBe(true);
      await expectStats(q, { pending: 0, active: 0, poisoned: 0 });
    }), timeoutMs);

    test("receipts: whenStored answers each tryEnqueue in call order with its sequence id", withQueue({}, async (q) => {
      const answers: Enqueued[] = [];
      const all = new Promise<void>((resolve) => {
        for (const t of ["x", "y", "z"]) {
          q.queue.whenStored(q.queue.tryEnqueue(bytes(t)), (r) => {
            answers.push(value(r));
            if (answers.length === 3) resolve();
          });
        }
      });
      await settle(all);
      expect(answers.map((a) => a.duplicate)).toEqual([false, false, false]);
      expect(answers[0].sequenceId).toBeLessThan(answers[1].sequenceId);
      expect(answers[1].sequenceId).toBeLessThan(answers[2].sequenceId);
    }), timeoutMs);

    test("fail requeues with attempt + 1 and the error as lastError; then success", withQueue({}, async (q) => {
      await q.queue.enqueue(bytes("a"));
      const first = await lease(q);
      expect(q.queue.fail(first, boom).ok).toBe(true);
      const second = await lease(q);
      expect({ attempt: second.attempt, code: second.lastError?.code, seq: second.sequenceId }).toEqual({ attempt: 2, code: "unavailable", seq: first.sequenceId });
      expect(q.queue.ack(second).ok).toBe(true);
    }), timeoutMs);

    test("poison after maxRetries failures, with the last error, history and exhausted: failures", withQueue({ maxRetries: 3 }, async (q) => {
      await q.queue.enqueue(bytes("bad"));
      for (let i = 1; i <= 3; i++) {
        const l = await lease(q);
        expect({ attempt: l.attempt, isPoisoned: l.isPoisoned }).toEqual({ attempt: i, isPoisoned: i === 3 });
        expect(q.queue.fail(l, sluiceError("internal", `failure ${i}`)).ok).toBe(true);
      }
      await poisonedEventually(q, 1);
      const [entry] = await q.queue.poison.list();
      expect({ text: decoder.decode(entry.payload), message: entry.lastError.message, exhausted: entry.exhausted, history: entry.history.map((h) => h.message) }).toEqual({
        text: "bad", message: "failure 3", exhausted: "failures", history: ["failure 1", "failure 2", "failure 3"],
      });
      await expectStats(q, { pending: 0, active: 0, poisoned: 1 });
    }), timeoutMs);

    test("requeue: false and moveToPoison poison at once (exhausted: rejected)", withQueue({}, async (q) => {
      await q.queue.enqueue(bytes("a"));
      await q.queue.enqueue(bytes("b"));
      expect(q.queue.fail(await lease(q), boom, { requeue: false }).ok).toBe(true);
      expect(q.queue.moveToPoison(await lease(q), sluiceError("validation", "bad payload")).ok).toBe(true);
      await poisonedEventually(q, 2);
      const entries = await q.queue.poison.list();
      expect(entries.map((e) => [decoder.decode(e.payload), e.exhausted, e.lastError.code]).sort()).toEqual([["a", "rejected", "unavailable"], ["b", "rejected", "validation"]]);
    }), timeoutMs);

    test("poison replay puts an entry back (attempt 1); purge drops the rest", withQueue({}, async (q) => {
      for (const t of ["a", "b", "c"]) await q.queue.enqueue(bytes(t));
      for (let i = 0; i < 3; i++) q.queue.fail(await lease(q), boom, { requeue: false });
      await poisonedEventually(q, 3);
      const entries = await q.queue.poison.list();
      const b = entries.find((e) => decoder.decode(e.payload) === "b")!;
      expect(await q.queue.poison.replay([b.sequenceId])).toBe(1);
      const again = await lease(q);
      expect({ text: text(again), attempt: again.attempt }).toEqual({ text: "b", attempt: 1 });
      expect(q.queue.ack(again).ok).toBe(true);
      expect(await q.queue.poison.purge()).toBe(2);
      expect(await poisonCount(q)).toBe(0);
    }), timeoutMs);

    test("an expired lease is redelivered with attempt + 1 and lease.expired; its ack is then lease.inactive", withQueue({}, async (q) => {
      await q.queue.enqueue(bytes("slow"));
      const first = await lease(q);
      const next = q.queue.lease();
      await elapse(L + 2 * backend.sweepMs);
      const second = value(await settle(next, 10 * L));
      expect({ attempt: second.attempt, code: second.lastError?.code, seq: second.sequenceId }).toEqual({ attempt: 2, code: "lease.expired", seq: first.sequenceId });
      expect(q.queue.ack(first).error?.code).toBe("lease.inactive");
      expect(q.queue.heartbeat(first).error?.code).toBe("lease.inactive");
      expect(q.queue.fail(first, boom).error?.code).toBe("lease.inactive");
      expect(q.queue.ack(second).ok).toBe(true);
      expect(q.queue.ack(second).error?.code).toBe("lease.inactive");
      await expectStats(q, { pending: 0, active: 0, poisoned: 0 });
    }), timeoutMs);

    test("fencing: a stale ack after the redelivery (to another node, where there is one) is lease.inactive and the new holder keeps it", withQueue({}, async (q) => {
      await q.queue.enqueue(bytes("job"));
      const stale = await lease(q);
      const other = q.peer === undefined ? q.queue : await q.peer();
      const next = other.lease();
      await elapse(L + 2 * backend.sweepMs);
      const current = value(await settle(next, 10 * L));
      expect(current.sequenceId).toBe(stale.sequenceId);
      expect(q.queue.ack(stale).error?.code).toBe("lease.inactive");
      expect(other.heartbeat(current).ok).toBe(true);
      expect(other.ack(current).ok).toBe(true);
      await expectStats(q, { pending: 0, active: 0 });
    }), timeoutMs);

    test("expiry is a stall: the last allowed stall poisons (exhausted: stalls)", withQueue({ maxStalls: 2, maxRetries: 5 }, async (q) => {
      await q.queue.enqueue(bytes("crasher"));
      await lease(q);
      const next = q.queue.lease();
      await elapse(L + 2 * backend.sweepMs);
      expect(value(await settle(next, 10 * L)).attempt).toBe(2);
      await elapse(L + 2 * backend.sweepMs);
      await poisonedEventually(q, 1);
      const [entry] = await q.queue.poison.list();
      expect({ exhausted: entry.exhausted, code: entry.lastError.code }).toEqual({ exhausted: "stalls", code: "lease.expired" });
    }), timeoutMs);

    test("heartbeats keep a lease alive past leaseMs", withQueue({}, async (q) => {
      await q.queue.enqueue(bytes("long"));
      const held = await lease(q);
      for (let i = 0; i < 4; i++) {
        await elapse(L / 2);
        expect(q.queue.heartbeat(held).ok).toBe(true);
      }
      expect(q.queue.ack(held).ok).toBe(true);
      await expectStats(q, { pending: 0, active: 0 });
    }), timeoutMs);

    test("requeueDelayMs (a RetryPolicy too) holds a failed item back", withQueue({ requeueDelayMs: RetryPolicy.fixed({ attempts: 10, delayMs: L }) }, async (q) => {
      await q.queue.enqueue(bytes("later"));
      q.queue.fail(await lease(q), boom);
      let redelivered: Lease<Uint8Array> | undefined;
      const next = q.queue.lease().then((r) => (redelivered = value(r)));
      await elapse(L / 3);
      expect(redelivered).toBeUndefined();
      await settle(next, 10 * L);
      expect(redelivered?.attempt).toBe(2);
    }), timeoutMs);

    test("a canceled delivery (countAttempt: false) uses up no failure", withQueue({ maxRetries: 2 }, async (q) => {
      await q.queue.enqueue(bytes("a"));
      q.queue.fail(await lease(q), sluiceError("canceled", "consumer went away"), { countAttempt: false });
      q.queue.fail(await lease(q), boom); // the first counted failure of 2
      const third = await lease(q);
      expect(third.isPoisoned).toBe(true);
      expect(q.queue.ack(third).ok).toBe(true);
      expect(await poisonCount(q)).toBe(0);
    }), timeoutMs);

    test("waiting consumers: leaseWith is served by a later enqueue; a signal cancels; close ends waits with queue.closed", withQueue({}, async (q) => {
      const served = new Promise<Result<Lease<Uint8Array>>>((resolve) => q.queue.leaseWith(resolve));
      await q.queue.enqueue(bytes("w"));
      const got = value(await settle(served, 10 * L));
      expect(text(got)).toBe("w");
      q.queue.ack(got);
      const controller = new AbortController();
      const canceled = q.queue.lease({ signal: controller.signal });
      controller.abort();
      expect((await settle(canceled)).error?.code).toBe("canceled");
      const waiting = q.queue.lease();
      q.queue.close();
      expect((await settle(waiting)).error?.code).toBe("queue.closed");
      expect(q.queue.closed).toBe(true);
    }), timeoutMs);

    test("full queue: reject mode fails queue.full until an ack makes room", withQueue({ capacity: 2, fullMode: "reject" }, async (q) => {
      value(await q.queue.enqueue(bytes("1")));
      value(await q.queue.enqueue(bytes("2")));
      expect((await settle(q.queue.enqueue(bytes("3")))).error?.code).toBe("queue.full");
      const drained = await lease(q);
      q.queue.ack(drained);
      await elapse(2 * backend.sweepMs);
      value(await settle(q.queue.enqueue(bytes("3")), 10 * L));
    }), timeoutMs);

    test("an idempotency key adds a message once", withQueue({}, async (q) => {
      const first = value(await q.queue.enqueue(bytes("once"), { key: "order-17" }));
      const again = value(await q.queue.enqueue(bytes("once"), { key: "order-17" }));
      expect(again).toEqual({ sequenceId: first.sequenceId, duplicate: true });
      await expectStats(q, { pending: 1 });
    }), timeoutMs);

    test("drain stops new enqueues, waits for in-flight work, and puts back what still runs at the deadline", withQueue({ maxRetries: 1 }, async (q) => {
      await q.queue.enqueue(bytes("a"));
      await q.queue.enqueue(bytes("b"));
      const running = await lease(q);
      const drained = q.queue.drain({ deadlineMs: L / 2 });
      expect((await q.queue.enqueue(bytes("late"))).error?.code).toBe("queue.closed");
      const report = value(await settle(drained, 10 * L));
      expect({ requeuedInFlight: report.requeuedInFlight, poisoned: report.poisoned }).toEqual({ requeuedInFlight: 1, poisoned: 0 });
      expect(q.queue.ack(running).error?.code).toBe("lease.inactive");
      await expectStats(q, { pending: 2, active: 0, poisoned: 0 });
    }), timeoutMs);

    test("random acks and failures lose nothing: every message ends acked once or poisoned once", withQueue({ maxRetries: 2 }, async (q) => {
      const total = 30;
      for (let i = 0; i < total; i++) await q.queue.enqueue(bytes(`m${i}`));
      const acked = new Set<string>();
      let seed = 7;
      const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
      for (let rounds = 0; acked.size + (await poisonCount(q)) < total; rounds++) {
        if (rounds > total * 4) throw new Error(`${acked.size} acked, ${await poisonCount(q)} poisoned of ${total}`);
        // Bounded: the last messages may be on their way to the poison queue, not to a consumer.
        const leased = await settle(q.queue.lease({ signal: AbortSignal.timeout(2 * L) }), 10 * L).catch(() => undefined);
        if (leased === undefined || !leased.ok) {
          await elapse(backend.sweepMs);
          continue;
        }
        const l = leased.value;
        const roll = random();
        if (roll < 0.6) {
          expect(acked.has(text(l))).toBe(false);
          expect(q.queue.ack(l).ok).toBe(true);
          acked.add(text(l));
        } else if (roll < 0.9) q.queue.fail(l, boom);
        else q.queue.fail(l, boom, { requeue: false });
      }
      const poisoned = (await q.queue.poison.list()).map((e) => decoder.decode(e.payload));
      expect([...acked, ...poisoned].sort()).toEqual(Array.from({ length: total }, (_, i) => `m${i}`).sort());
    }), timeoutMs * 2);
  });
}

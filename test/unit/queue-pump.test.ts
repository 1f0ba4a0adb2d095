import { describe, expect, test } from "../harness.ts";
import { err, ok, sluiceError, VirtualClock, type Result } from "../../src/result/mod.ts";
import { pump, SafeTaskQueue, TaskQueueChannelAdapter, type Lease, type SafeTaskQueueOptions } from "../../src/queue/mod.ts";

function setup(options: SafeTaskQueueOptions = {}) {
  const clock = new VirtualClock();
  const queue = SafeTaskQueue.create<number>({ clock, leaseMs: 1000, heartbeatMs: 400, sweepMs: 100, ...options });
  return { clock, queue };
}
async function fill(queue: SafeTaskQueue<number>, n: number) {
  for (let i = 0; i < n; i++) await queue.enqueue(i);
}
/** Resolves once `predicate` holds, flushing the event loop between checks (no wall-clock sleeps). */
async function until(clock: VirtualClock, predicate: () => boolean, limit = 10_000) {
  for (let i = 0; i < limit && !predicate(); i++) await clock.flush();
  expect(predicate()).toBe(true);
}

describe("pump", () => {
  test("acks successes, never exceeding its concurrency", async () => {
    const { queue, clock } = setup();
    await fill(queue, 40);
    let running = 0;
    let peak = 0;
    const c = new AbortController();
    const done = pump(queue, async () => {
      running++;
      peak = Math.max(peak, running);
      await clock.flush();
      running--;
      return ok();
    }, { concurrency: 4, signal: c.signal });
    await until(clock, () => queue.stats().acked === 40);
    c.abort();
    const r = await done;
    expect(r.error?.code).toBe("canceled");
    expect(peak).toBe(4);
    expect(queue.stats()).toMatchObject({ acked: 40, pending: 0, active: 0 });
  });
  test("retry then success, poison after maxRetries with the last error; the pump goes on", async () => {
    const { queue, clock } = setup({ maxRetries: 3 });
    await fill(queue, 3);
    const deliveries = new Map<number, number>();
    const c = new AbortController();
    const done = pump(queue, async (lease) => {
      deliveries.set(lease.payload, (deliveries.get(lease.payload) ?? 0) + 1);
      if (lease.payload === 0) return err("unavailable", `always fails (attempt ${lease.attempt})`);
      if (lease.payload === 1 && lease.attempt === 1) return err("timeout", "first try fails");
      return ok();
    }, { concurrency: 2, signal: c.signal });
    await until(clock, () => queue.stats().acked === 2 && queue.poison.size === 1);
    c.abort();
    await done;
    expect(deliveries.get(0)).toBe(3);
    expect(deliveries.get(1)).toBe(2);
    expect(deliveries.get(2)).toBe(1);
    expect(queue.poison.list()[0]!.lastError.message).toBe("always fails (attempt 3)");
  });
  test("a throwing handler is a failure, not a crash", async () => {
    const { queue, clock } = setup({ maxRetries: 1 });
    await fill(queue, 2);
    const c = new AbortController();
    const done = pump(queue, async (lease) => {
      if (lease.payload === 0) throw new Error("bug");
      return ok();
    }, { signal: c.signal });
    await until(clock, () => queue.stats().acked === 1 && queue.poison.size === 1);
    c.abort();
    await done;
    expect(queue.poison.list()[0]!.lastError.code).toBe("internal");
  });
  test("cancellation mid-handler surfaces as canceled, requeues at once, loses nothing, attempt not counted", async () => {
    const { queue, clock } = setup();
    await fill(queue, 3);
    const c = new AbortController();
    let started = 0;
    let sawAbort = 0;
    const undone: number[] = [];
    const done = pump(queue, (lease, { signal, scope }) => {
      started++;
      scope.register(() => undone.push(lease.payload));
      return new Promise<Result<void>>((resolve) =>
        signal.addEventListener("abort", () => {
          sawAbort++;
          resolve(err("canceled", "stopped"));
        }),
      );
    }, { concurrency: 2, signal: c.signal });
    await until(clock, () => started === 2);
    c.abort();
    const r = await done;
    expect(r.error?.code).toBe("canceled");
    expect(sawAbort).toBe(2);
    expect(undone.sort()).toEqual([0, 1]);
    expect(queue.stats()).toMatchObject({ pending: 3, active: 0, failed: 0, acked: 0 });
    const again = queue.tryLease()!;
    expect(again.attempt).toBe(1);
  });
  test("a canceled handler that never read its scope is still failed back: requeued at once, attempt not counted", async () => {
    const { queue, clock } = setup();
    await fill(queue, 2);
    const c = new AbortController();
    let started = 0;
    const done = pump(queue, (_lease, { signal }) => {
      started++;
      return new Promise<Result<void>>((resolve) => signal.addEventListener("abort", () => resolve(err("canceled", "stopped"))));
    }, { concurrency: 2, signal: c.signal });
    await until(clock, () => started === 2);
    c.abort();
    const r = await done;
    expect((r.error?.metadata?.report as { canceled: number }).canceled).toBe(2);
    expect(queue.stats()).toMatchObject({ pending: 2, active: 0, failed: 0 });
    expect(queue.tryLease()!.attempt).toBe(1);
  });
  test("the scope a handler reads holds its delivery's fail-back first, made on first read", async () => {
    const { queue, clock } = setup();
    await fill(queue, 2);
    const sizes: number[] = [];
    const c = new AbortController();
    let rolledBack = false;
    const done = pump(queue, async (lease, { scope }) => {
      sizes.push(scope.size);
      scope.register(() => {});
      sizes.push(scope.size);
      if (lease.payload === 0 && !rolledBack) {
        rolledBack = true;
        await scope.compensate(); // rolls this delivery back: the lease is failed back, its ack then finds it inactive
      }
      return ok();
    }, { signal: c.signal });
    await until(clock, () => queue.stats().acked === 2);
    c.abort();
    const r = await done;
    expect(sizes).toEqual([1, 2, 1, 2, 1, 2]);
    expect(queue.stats()).toMatchObject({ acked: 2, failed: 0, pending: 0 });
    expect((r.error?.metadata?.report as { acked: number }).acked).toBe(2);
  });
  test("a handler that succeeds despite the cancel is acked, not redelivered", async () => {
    const { queue, clock } = setup();
    await fill(queue, 1);
    const c = new AbortController();
    let started = false;
    const done = pump(queue, (_lease, { signal }) => {
      started = true;
      // The side effect already happened; the handler reports it even though it was asked to stop.
      return new Promise<Result<void>>((resolve) => signal.addEventListener("abort", () => resolve(ok())));
    }, { signal: c.signal });
    await until(clock, () => started);
    c.abort();
    const r = await done;
    expect(r.error?.code).toBe("canceled");
    expect(queue.stats()).toMatchObject({ acked: 1, pending: 0, active: 0 });
  });
  test("a handler reporting `canceled` on its own is an ordinary, counted failure", async () => {
    const { queue, clock } = setup({ maxRetries: 2 });
    await fill(queue, 1);
    const c = new AbortController();
    const done = pump(queue, async () => err("canceled", "the downstream canceled the call"), { signal: c.signal });
    await until(clock, () => queue.poison.size === 1);
    c.abort();
    await done;
    expect(queue.stats()).toMatchObject({ failed: 2, poisoned: 1 });
  });
  test("failing compensations are counted in the report", async () => {
    const { queue, clock } = setup({ maxRetries: 1 });
    await fill(queue, 1);
    const done = pump(queue, async (_lease, { scope }) => {
      scope.register(() => {
        throw new Error("undo failed");
      });
      return err("unavailable", "no");
    });
    await until(clock, () => queue.poison.size === 1);
    queue.close();
    const r = await done;
    expect(r.value?.compensationFailures).toBe(1);
  });
  test("heartbeats keep a long handler's lease alive", async () => {
    const { queue, clock } = setup();
    await fill(queue, 1);
    let finish!: () => void;
    const c = new AbortController();
    const done = pump(queue, () => new Promise<Result<void>>((resolve) => (finish = () => resolve(ok()))), { signal: c.signal });
    await until(clock, () => finish !== undefined);
    await clock.advance(5000); // five lease lengths
    expect(queue.stats().expired).toBe(0);
    finish();
    await until(clock, () => queue.stats().acked === 1);
    c.abort();
    await done;
  });
  test("failed handler runs the handler's compensations and fails with requeue", async () => {
    const { queue, clock } = setup();
    await fill(queue, 1);
    const undone: string[] = [];
    const c = new AbortController();
    const done = pump(queue, async (lease, { scope }) => {
      scope.register(() => undone.push(`undo-${lease.attempt}`));
      return lease.attempt === 1 ? err("unavailable", "no") : ok();
    }, { signal: c.signal });
    await until(clock, () => queue.stats().acked === 1);
    c.abort();
    await done;
    expect(undone).toEqual(["undo-1"]);
    expect(queue.stats()).toMatchObject({ failed: 1, requeued: 1, acked: 1 });
  });
  test("ends with ok when the queue closes", async () => {
    const { queue, clock } = setup();
    const done = pump(queue, async () => ok(), { concurrency: 3 });
    await clock.flush();
    queue.close();
    const r = await done;
    expect(r.ok).toBe(true);
  });
  test("observes pump duration in the shared registry", async () => {
    const { queue, clock } = setup();
    await fill(queue, 2);
    const c = new AbortController();
    const done = pump(queue, async () => ok(), { signal: c.signal, role: "bridge" });
    await until(clock, () => queue.stats().acked === 2);
    c.abort();
    await done;
    expect(queue.metrics.registry.render()).toContain('sluice_pump_duration_seconds_count{queue="default",role="bridge"} 2');
  });
  test("concurrency < 1 throws RangeError", () => {
    const { queue } = setup();
    expect(() => pump(queue, async () => ok(), { concurrency: 0 })).toThrow("concurrency");
  });
});

describe("TaskQueueChannelAdapter", () => {
  test("buffers at most `concurrency` leases and close requeues them at once", async () => {
    const { queue, clock } = setup();
    await fill(queue, 10);
    const adapter = TaskQueueChannelAdapter.create(queue, { concurrency: 3, ownsQueue: false });
    await until(clock, () => adapter.buffered === 3);
    await clock.flush();
    expect(queue.stats()).toMatchObject({ active: 3, pending: 7 });
    const reader = adapter.reader[Symbol.asyncIterator]();
    const first = (await reader.next()).value as Lease<number>;
    expect(first.payload).toBe(0);
    await until(clock, () => adapter.buffered === 3);
    expect(queue.stats().active).toBe(4); // 3 buffered + 1 held by the reader
    await adapter.close();
    expect(queue.stats()).toMatchObject({ active: 1, pending: 9, failed: 0 });
    expect(queue.ack(first).ok).toBe(true);
    expect(queue.closed).toBe(false);
    const again = queue.tryLease()!;
    expect(again.attempt).toBe(1);
  });
  test("ownsQueue closes the queue; the reader ends when the queue closes", async () => {
    const { queue } = setup();
    await fill(queue, 1);
    const adapter = TaskQueueChannelAdapter.create(queue, { concurrency: 1, ownsQueue: true });
    const seen: number[] = [];
    for await (const lease of adapter.reader) {
      seen.push(lease.payload);
      queue.ack(lease);
      await adapter.close();
    }
    expect(seen).toEqual([0]);
    expect(queue.closed).toBe(true);
  });
});

describe("backpressure, events, metrics", () => {
  test("watermarks with hysteresis, a state-change callback and a stats flag", async () => {
    const changes: boolean[] = [];
    const { queue } = setup({ capacity: 10, highWatermark: 8, lowWatermark: 4, onBackpressure: (on) => changes.push(on) });
    await fill(queue, 8);
    expect(queue.stats().backpressure).toBe(true);
    for (let i = 0; i < 3; i++) queue.ack(queue.tryLease()!);
    expect(queue.stats().backpressure).toBe(true); // 5 held: above low
    queue.ack(queue.tryLease()!);
    expect(queue.stats().backpressure).toBe(false);
    await fill(queue, 3); // 7: below high
    expect(changes).toEqual([true, false]);
  });
  test("lifecycle events reach subscribers", async () => {
    const { queue, clock } = setup({ maxRetries: 2, maxStalls: 1 });
    const seen: string[] = [];
    const off = queue.events.subscribe((e) => seen.push(e.type));
    await queue.enqueue(1);
    const a = queue.tryLease()!;
    queue.heartbeat(a);
    queue.fail(a, sluiceError("unavailable", "x"));
    queue.tryLease();
    await clock.advance(1000); // expires the last allowed stall → poisoned
    await queue.enqueue(2);
    queue.ack(queue.tryLease()!);
    await queue.drain({ deadlineMs: 0 });
    off();
    await queue.enqueue(3).catch(() => {});
    expect(seen).toEqual([
      "enqueued", "leased", "heartbeat", "failed", "requeued", "leased", "expired", "poisoned",
      "enqueued", "leased", "acked", "drained",
    ]);
  });
  test("metrics are labelled queue and role and rendered as Prometheus text", async () => {
    const { queue } = setup({ name: "jobs", role: "gossip", maxRetries: 1 });
    await fill(queue, 2);
    queue.ack(queue.tryLease()!);
    queue.fail(queue.tryLease()!, sluiceError("unavailable", "x"));
    const text = queue.metrics.registry.render();
    const labels = '{queue="jobs",role="gossip"}';
    for (const line of [
      `sluice_enqueued_total${labels} 2`,
      `sluice_acked_total${labels} 1`,
      `sluice_failed_total${labels} 1`,
      `sluice_poisoned_total${labels} 1`,
      `sluice_delivery_attempts_total${labels} 2`,
      `sluice_pending${labels} 0`,
      `sluice_active_leases${labels} 0`,
      `sluice_poison_depth${labels} 1`,
      "# TYPE sluice_pump_duration_seconds histogram",
    ]) {
      expect(text).toContain(line);
    }
  });
});

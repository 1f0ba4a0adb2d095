import { describe, expect, test } from "../harness.ts";
import { abortable, deadline, delay, ticker, VirtualClock } from "../../src/result/mod.ts";

describe("VirtualClock", () => {
  test("advance runs due timers in time order, ties in creation order", async () => {
    const clock = new VirtualClock();
    const fired: string[] = [];
    clock.setTimeout(() => fired.push(`c@${clock.now()}`), 30);
    clock.setTimeout(() => fired.push(`a@${clock.now()}`), 10);
    clock.setTimeout(() => fired.push(`b@${clock.now()}`), 10);
    clock.setTimeout(() => fired.push("late"), 31);
    await clock.advance(30);
    expect(fired).toEqual(["a@10", "b@10", "c@30"]);
    expect(clock.now()).toBe(30);
    expect(clock.pendingTimers).toBe(1);
  });
  test("awaited continuations run between timers", async () => {
    const clock = new VirtualClock();
    const seen: number[] = [];
    const chain = (async () => {
      await delay(100, { clock });
      seen.push(clock.now());
      await delay(200, { clock }); // scheduled by a continuation of the first timer
      seen.push(clock.now());
    })();
    await clock.advance(300);
    await chain;
    expect(seen).toEqual([100, 300]);
  });
  test("clearTimeout cancels", async () => {
    const clock = new VirtualClock();
    let fired = false;
    const h = clock.setTimeout(() => (fired = true), 5);
    clock.clearTimeout(h);
    await clock.advance(10);
    expect(fired).toBe(false);
  });
  test("advance rejects negative time", async () => {
    const clock = new VirtualClock();
    let message = "";
    await clock.advance(-1).catch((e: Error) => (message = e.message));
    expect(message).toContain("ms must be >= 0");
  });
});

describe("delay / abortable / deadline", () => {
  test("delay resolves ok after exactly ms", async () => {
    const clock = new VirtualClock();
    let done = false;
    const p = delay(50, { clock }).then((r) => ((done = r.ok), r));
    await clock.advance(49);
    expect(done).toBe(false);
    await clock.advance(1);
    expect((await p).ok).toBe(true);
  });
  test("delay returns canceled on abort and releases its timer", async () => {
    const clock = new VirtualClock();
    const c = new AbortController();
    const p = delay(50, { clock, signal: c.signal });
    expect(clock.pendingTimers).toBe(1);
    c.abort();
    const r = await p;
    expect(r.ok ? "" : r.error.code).toBe("canceled");
    expect(clock.pendingTimers).toBe(0);
  });
  test("abortable stops waiting on abort", async () => {
    const c = new AbortController();
    const never = new Promise<number>(() => {});
    const p = abortable(never, c.signal);
    c.abort();
    const r = await p;
    expect(r.ok ? "" : r.error.code).toBe("canceled");
    const rejected = await abortable(Promise.reject(new Error("x")));
    expect(rejected.ok ? "" : rejected.error.code).toBe("internal");
  });
  test("deadline yields timeout when the promise is late", async () => {
    const clock = new VirtualClock();
    const p = deadline(new Promise<number>(() => {}), 100, { clock });
    await clock.advance(100);
    const r = await p;
    expect(r.ok ? "" : r.error.code).toBe("timeout");
    const fast = deadline(Promise.resolve(7), 100, { clock });
    expect(await fast).toEqual({ ok: true, value: 7 });
    expect(clock.pendingTimers).toBe(0);
  });
});

describe("ticker", () => {
  test("ticks N times in N intervals and stops on abort", async () => {
    const clock = new VirtualClock();
    const c = new AbortController();
    const ticks: Array<[number, number]> = [];
    const loop = (async () => {
      for await (const n of ticker(100, { clock, signal: c.signal })) ticks.push([n, clock.now()]);
    })();
    await clock.advance(500);
    expect(ticks).toEqual([
      [1, 100],
      [2, 200],
      [3, 300],
      [4, 400],
      [5, 500],
    ]);
    c.abort();
    await loop; // ends normally
    expect(clock.pendingTimers).toBe(0);
    await clock.advance(1000);
    expect(ticks.length).toBe(5);
  });
  test("rejects a non-positive interval", () => {
    expect(() => ticker(0)).toThrow("intervalMs");
  });
});

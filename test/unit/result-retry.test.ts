import { describe, expect, test } from "../harness.ts";
import {
  CompensationScope,
  err,
  ok,
  retry,
  RetryPolicy,
  VirtualClock,
  withTimeout,
  type Result,
} from "../../src/result/mod.ts";

describe("RetryPolicy", () => {
  test("exponential(4, 100, 2, max 300) waits 100, 200, 300", () => {
    const p = RetryPolicy.exponential({ attempts: 4, initialMs: 100, factor: 2, maxMs: 300 });
    expect([1, 2, 3].map((n) => p.delayAfter(n))).toEqual([100, 200, 300]);
  });
  test("jitter draws from the injected random source and never exceeds the cap", () => {
    const p = RetryPolicy.exponential({ attempts: 3, initialMs: 100, jitter: 0.5 });
    expect(p.delayAfter(1, () => 0)).toBe(100);
    expect(p.delayAfter(1, () => 0.5)).toBe(75);
    expect(p.delayAfter(2, () => 0.999)).toBeGreaterThan(100);
  });
  test("fixed waits the same each time", () => {
    const p = RetryPolicy.fixed({ attempts: 3, delayMs: 40 });
    expect([1, 2].map((n) => p.delayAfter(n))).toEqual([40, 40]);
  });
  test("bad options throw RangeError naming the option", () => {
    expect(() => RetryPolicy.exponential({ attempts: 0, initialMs: 1 })).toThrow(RangeError);
    expect(() => RetryPolicy.exponential({ attempts: 0, initialMs: 1 })).toThrow("attempts");
    expect(() => RetryPolicy.exponential({ attempts: 2, initialMs: -1 })).toThrow("initialMs");
    expect(() => RetryPolicy.exponential({ attempts: 2, initialMs: 1, factor: 0.5 })).toThrow("factor");
    expect(() => RetryPolicy.exponential({ attempts: 2, initialMs: 1, jitter: 2 })).toThrow("jitter");
    expect(() => RetryPolicy.fixed({ attempts: 1.5, delayMs: 1 })).toThrow("attempts");
    expect(() => RetryPolicy.fixed({ attempts: 2, delayMs: -5 })).toThrow("delayMs");
  });
});

describe("retry", () => {
  test("waits exactly 100, 200, 300 ms between its 4 attempts", async () => {
    const clock = new VirtualClock();
    const startedAt: number[] = [];
    const policy = RetryPolicy.exponential({ attempts: 4, initialMs: 100, factor: 2, maxMs: 300 });
    const done = retry(async () => {
      startedAt.push(clock.now());
      return err("unavailable", "down");
    }, policy, { clock });
    await clock.advance(1000);
    const r = await done;
    expect(startedAt).toEqual([0, 100, 300, 600]);
    expect(r.ok ? 0 : r.error.metadata?.attempts).toBe(4);
    expect(r.ok ? "" : r.error.message).toContain("after 4 attempts");
  });
  test("succeeds on a later attempt", async () => {
    const clock = new VirtualClock();
    let calls = 0;
    const done = retry(async (attempt) => (++calls < 3 ? err("timeout", "t") : ok(attempt)), RetryPolicy.fixed({ attempts: 5, delayMs: 10 }), { clock });
    await clock.advance(100);
    expect(await done).toEqual(ok(3));
  });
  test("an abort during a backoff delay yields canceled and no further attempt runs", async () => {
    const clock = new VirtualClock();
    const c = new AbortController();
    let attempts = 0;
    const done = retry(async () => {
      attempts++;
      return err("unavailable", "down");
    }, RetryPolicy.fixed({ attempts: 5, delayMs: 100 }), { clock, signal: c.signal });
    await clock.advance(50); // first attempt ran, now waiting
    c.abort();
    const r = await done;
    expect(r.ok ? "" : r.error.code).toBe("canceled");
    await clock.advance(1000);
    expect(attempts).toBe(1);
  });
  test("never retries validation, unauthorized, poisoned or frame errors", async () => {
    for (const code of ["validation", "unauthorized", "poisoned", "frame.malformed", "frame.too_large", "canceled"] as const) {
      let attempts = 0;
      const r = await retry(async () => {
        attempts++;
        return err(code, code);
      }, RetryPolicy.fixed({ attempts: 3, delayMs: 0 }), { clock: new VirtualClock() });
      expect(attempts).toBe(1);
      expect(r.ok ? "" : r.error.code).toBe(code);
    }
  });
  test("a throwing operation becomes internal and is retried", async () => {
    const clock = new VirtualClock();
    let attempts = 0;
    const done = retry(async () => {
      attempts++;
      throw new Error("kaput");
    }, RetryPolicy.fixed({ attempts: 2, delayMs: 1 }), { clock });
    await clock.advance(5);
    const r = await done;
    expect(attempts).toBe(2);
    expect(r.ok ? "" : r.error.code).toBe("internal");
  });
  test("attempts never overlap after a timeout", async () => {
    const clock = new VirtualClock();
    let running = 0;
    let maxRunning = 0;
    const releases: Array<() => void> = [];
    const done = retry(
      (_attempt, signal) =>
        withTimeout(
          () => {
            running++;
            maxRunning = Math.max(maxRunning, running);
            // Ignores its signal on purpose: it settles only when the test says so.
            return new Promise<Result<number>>((resolve) => releases.push(() => (running--, resolve(ok(1)))));
          },
          10,
          { clock, signal },
        ),
      RetryPolicy.fixed({ attempts: 2, delayMs: 0 }),
      { clock },
    );
    await clock.advance(50);
    expect(releases.length).toBe(1); // second attempt waits for the first to settle
    releases[0]!();
    await clock.advance(50);
    expect(releases.length).toBe(2);
    releases[1]!();
    await clock.flush();
    const r = await done;
    expect(maxRunning).toBe(1);
    expect(r.ok ? "" : r.error.code).toBe("timeout");
  });
});

describe("withTimeout", () => {
  test("aborts the inner operation's signal and yields timeout", async () => {
    const clock = new VirtualClock();
    let innerSignal: AbortSignal | undefined;
    const done = withTimeout((signal) => {
      innerSignal = signal;
      return new Promise<Result<void>>((resolve) => signal.addEventListener("abort", () => resolve(err("canceled", "stopped"))));
    }, 100, { clock });
    await clock.advance(99);
    expect(innerSignal!.aborted).toBe(false);
    await clock.advance(1);
    const r = await done;
    expect(innerSignal!.aborted).toBe(true);
    expect(r.ok ? "" : r.error.code).toBe("timeout");
  });
  test("a success in time passes through and its timer is released", async () => {
    const clock = new VirtualClock();
    const r = await withTimeout(async () => ok(5), 100, { clock });
    expect(r).toEqual(ok(5));
    expect(clock.pendingTimers).toBe(0);
  });
  test("a late success is discarded and its compensations undo it", async () => {
    const clock = new VirtualClock();
    const effects: string[] = [];
    let finish!: () => void;
    const done = withTimeout(async (_signal, scope) => {
      effects.push("wrote");
      scope.register(() => effects.push("undone"));
      await new Promise<void>((r) => (finish = r));
      return ok("late");
    }, 10, { clock });
    await clock.advance(10);
    const r = await done;
    expect(r.ok ? "" : r.error.code).toBe("timeout");
    finish();
    await clock.flush();
    expect(effects).toEqual(["wrote", "undone"]);
  });
  test("in-time compensations move to the caller's scope", async () => {
    const clock = new VirtualClock();
    const outer = new CompensationScope();
    const r = await withTimeout(async (_s, scope) => {
      scope.register(() => {});
      return ok(1);
    }, 10, { clock, scope: outer });
    expect(r.ok).toBe(true);
    expect(outer.size).toBe(1);
  });
  test("outer abort yields canceled", async () => {
    const clock = new VirtualClock();
    const c = new AbortController();
    const done = withTimeout((signal) => new Promise<Result<void>>((res) => signal.addEventListener("abort", () => res(ok()))), 100, {
      clock,
      signal: c.signal,
    });
    c.abort();
    const r = await done;
    expect(r.ok ? "" : r.error.code).toBe("canceled");
  });
  test("negative ms throws RangeError", () => {
    expect(() => withTimeout(async () => ok(), -1)).toThrow("ms");
  });
});

import { describe, expect, test } from "../harness.ts";
import { err, forEach, ok, tapFailure, tapSuccess, type Result, type SluiceError } from "../../src/result/mod.ts";

async function* items<T>(values: Array<Result<T>>): AsyncGenerator<Result<T>> {
  for (const v of values) yield v;
}
const range = (n: number) => Array.from({ length: n }, (_, i) => ok(i));
const tick = () => new Promise<void>((r) => setTimeout(r, 0));

describe("forEach", () => {
  test("never exceeds its concurrency", async () => {
    let running = 0;
    let peak = 0;
    const r = await forEach(items(range(50)), async () => {
      running++;
      peak = Math.max(peak, running);
      await tick();
      running--;
      return ok();
    }, { concurrency: 4 });
    expect(peak).toBe(4);
    expect(r.ok ? r.value.succeeded : -1).toBe(50);
  });
  test("stops at the first failure by default and aborts siblings", async () => {
    const handled: number[] = [];
    let siblingAborted = false;
    const r = await forEach(items(range(20)), async (n, signal) => {
      handled.push(n);
      if (n === 2) return err("unavailable", "item 2 failed");
      // Siblings only end through the abort that item 2's failure must cause.
      await new Promise<void>((resolve) => {
        if (signal.aborted) return resolve();
        signal.addEventListener("abort", () => ((siblingAborted = true), resolve()));
      });
      return err("canceled", "aborted by the first failure");
    }, { concurrency: 3 });
    expect(r.ok ? "" : r.error.message).toBe("item 2 failed");
    expect(handled.length).toBeLessThan(20);
    expect(siblingAborted).toBe(true);
  });
  test("continueOnError handles everything and collects errors", async () => {
    const r = await forEach(items(range(10)), async (n) => (n % 3 === 0 ? err("timeout", `t${n}`) : ok()), {
      concurrency: 2,
      continueOnError: true,
    });
    const errors = (r.ok ? [] : r.error.metadata?.errors) as SluiceError[];
    expect(errors.map((e) => e.message).sort()).toEqual(["t0", "t3", "t6", "t9"]);
    expect(r.ok ? 0 : r.error.metadata?.succeeded).toBe(6);
  });
  test("cancellation reaches a handler that is still running", async () => {
    const c = new AbortController();
    let sawAbort = false;
    let started!: () => void;
    const running = new Promise<void>((r) => (started = r));
    const done = forEach(items(range(1)), (_n, signal) => {
      started();
      return new Promise<Result<void>>((resolve) =>
        signal.addEventListener("abort", () => {
          sawAbort = true;
          resolve(err("canceled", "stopped"));
        }),
      );
    }, { signal: c.signal });
    await running;
    c.abort();
    const r = await done;
    expect(sawAbort).toBe(true);
    expect(r.ok ? "" : r.error.code).toBe("canceled");
  });
  test("abort while waiting on the source returns canceled", async () => {
    const c = new AbortController();
    async function* forever(): AsyncGenerator<Result<number>> {
      yield ok(1);
      await new Promise(() => {});
    }
    const done = forEach(forever(), async () => ok(), { signal: c.signal });
    await tick();
    c.abort();
    const r = await done;
    expect(r.ok ? "" : r.error.code).toBe("canceled");
  });
  test("throws become internal, failed source items count as failures", async () => {
    const thrown = await forEach(items(range(1)), async () => {
      throw new Error("bug");
    });
    expect(thrown.ok ? "" : thrown.error.code).toBe("internal");
    const failed = await forEach(items([err("frame.malformed", "bad")]), async () => ok());
    expect(failed.ok ? "" : failed.error.code).toBe("frame.malformed");
  });
  test("concurrency < 1 throws RangeError naming the option", () => {
    expect(() => forEach(items(range(1)), async () => ok(), { concurrency: 0 })).toThrow("concurrency");
  });
});

describe("taps", () => {
  test("are pass-through and chain", async () => {
    const seen: string[] = [];
    const source = tapFailure(tapSuccess(items([ok(1), err("timeout", "x"), ok(2)]), (v) => seen.push(`ok${v}`)), (e) =>
      seen.push(e.code),
    );
    const out: Array<Result<number>> = [];
    for await (const item of source) out.push(item);
    expect(seen).toEqual(["ok1", "timeout", "ok2"]);
    expect(out.length).toBe(3);
  });
});

import { describe, expect, test } from "../harness.ts";
import {
  andThen,
  err,
  isErr,
  isOk,
  map,
  mapError,
  ok,
  sluiceError,
  toSluiceError,
  tryAsync,
  unwrap,
  isSluiceError,
} from "../../src/result/mod.ts";

describe("Result", () => {
  test("ok/err/isOk/isErr", () => {
    expect(isOk(ok(1))).toBe(true);
    expect(isErr(err("timeout", "late"))).toBe(true);
    expect(ok().ok).toBe(true);
  });
  test("map transforms success and passes failures through", () => {
    expect(map(ok(2), (n) => n + 1)).toEqual(ok(3));
    const failure = err("queue.full", "full");
    expect(map(failure, () => 1)).toBe(failure);
  });
  test("andThen chains and short-circuits", () => {
    const parse = (s: string) => (Number.isNaN(Number(s)) ? err("validation", "not a number") : ok(Number(s)));
    expect(andThen(ok("7"), parse)).toEqual(ok(7));
    const bad = andThen(ok("x"), parse);
    expect(bad.ok ? "" : bad.error.code).toBe("validation");
    let called = false;
    andThen(err("timeout", "t"), () => {
      called = true;
      return ok(1);
    });
    expect(called).toBe(false);
  });
  test("mapError rewrites errors only", () => {
    const r = mapError(err("timeout", "late"), (e) => ({ ...e, message: "x" }));
    expect(r.ok ? "" : r.error.message).toBe("x");
  });
  test("tryAsync captures throws as internal and aborts as canceled", async () => {
    const thrown = await tryAsync(async () => {
      throw new Error("boom");
    });
    expect(thrown.ok ? "" : thrown.error.code).toBe("internal");
    expect(thrown.ok ? "" : thrown.error.message).toBe("boom");

    const controller = new AbortController();
    controller.abort();
    let ran = false;
    const skipped = await tryAsync(async () => (ran = true), { signal: controller.signal });
    expect(ran).toBe(false);
    expect(skipped.ok ? "" : skipped.error.code).toBe("canceled");

    const late = new AbortController();
    const aborted = await tryAsync(async () => {
      late.abort();
      throw new Error("aborted inside");
    }, { signal: late.signal });
    expect(aborted.ok ? "" : aborted.error.code).toBe("canceled");
    expect((await tryAsync(async () => 5)).ok).toBe(true);
  });
  test("toSluiceError maps AbortError and TimeoutError", () => {
    expect(toSluiceError(new DOMException("x", "AbortError")).code).toBe("canceled");
    expect(toSluiceError(new DOMException("x", "TimeoutError")).code).toBe("timeout");
    const e = sluiceError("unavailable", "down");
    expect(toSluiceError(e)).toBe(e);
    expect(isSluiceError({ code: "nope", message: "" })).toBe(false);
  });
  test("unwrap throws with the code in the message", () => {
    expect(unwrap(ok(3))).toBe(3);
    expect(() => unwrap(err("queue.closed", "closed"))).toThrow("queue.closed");
  });
});

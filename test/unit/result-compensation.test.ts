import { describe, expect, test } from "../harness.ts";
import { CompensationScope, err, ok, type SluiceError } from "../../src/result/mod.ts";

describe("CompensationScope", () => {
  test("runs in reverse registration order exactly once, on failure", async () => {
    const scope = new CompensationScope();
    const ran: number[] = [];
    for (const n of [1, 2, 3]) scope.register(() => ran.push(n));
    const r = await scope.run(async () => err("unavailable", "send failed"));
    expect(r.ok ? "" : r.error.code).toBe("unavailable");
    expect(ran).toEqual([3, 2, 1]);
    await scope.compensate();
    expect(ran).toEqual([3, 2, 1]);
  });
  test("runs on cancel even when the signal is already aborted", async () => {
    const c = new AbortController();
    c.abort();
    const scope = new CompensationScope();
    const ran: string[] = [];
    scope.register((reason) => ran.push(`undo:${reason?.code}`));
    await scope.run(async () => err("canceled", "stop"));
    expect(ran).toEqual(["undo:canceled"]);
  });
  test("a throwing compensation does not stop the others; failures are collected", async () => {
    const scope = new CompensationScope();
    const ran: string[] = [];
    scope.register(() => ran.push("first"));
    scope.register(() => {
      throw new Error("undo exploded");
    });
    scope.register(async () => err("unavailable", "undo failed"));
    scope.register(() => ran.push("last"));
    const r = await scope.run(async () => err("timeout", "late"));
    expect(ran).toEqual(["last", "first"]);
    expect(r.ok ? "" : r.error.code).toBe("timeout");
    const failures = (r.ok ? [] : r.error.metadata?.compensationFailures) as SluiceError[];
    expect(failures.map((f) => f.message)).toEqual(["undo failed", "undo exploded"]);
  });
  test("success drops the compensations without running them", async () => {
    const scope = new CompensationScope();
    let ran = false;
    scope.register(() => (ran = true));
    expect(await scope.run(async () => ok(1))).toEqual(ok(1));
    expect(ran).toBe(false);
    expect(scope.size).toBe(0);
  });
  test("a thrown work error becomes internal and compensates", async () => {
    const scope = new CompensationScope();
    let ran = false;
    scope.register(() => (ran = true));
    const r = await scope.run(async () => {
      throw new Error("bug");
    });
    expect(r.ok ? "" : r.error.code).toBe("internal");
    expect(ran).toBe(true);
  });
  test("unregister removes an action that no longer needs undoing", async () => {
    const scope = new CompensationScope();
    let ran = false;
    const action = () => (ran = true);
    scope.register(action);
    expect(scope.unregister(action)).toBe(true);
    expect(scope.unregister(action)).toBe(false);
    await scope.compensate();
    expect(ran).toBe(false);
  });
});

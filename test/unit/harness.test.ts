import { describe, expect, test, beforeEach, runtimeName } from "../harness.ts";

describe("harness", () => {
  let calls = 0;
  beforeEach(() => {
    calls += 1;
  });
  test("runs beforeEach hooks before each test", () => {
    expect(calls).toBeGreaterThan(0);
  });
  test("knows its runtime", () => {
    expect(["bun", "deno"]).toContain(runtimeName);
  });
  test("async tests await", async () => {
    const value = await Promise.resolve(41);
    expect(value + 1).toBe(42);
  });
});

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
  let settledLater = false;
  test("async tests are awaited before the next test runs", async () => {
    await new Promise<void>((resolve) => setTimeout(resolve, 0));
    settledLater = true;
  });
  test("the previous async test had finished", () => {
    expect(settledLater).toBe(true);
  });
});

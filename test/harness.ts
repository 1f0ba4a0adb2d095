/**
 * One import for test files that must run unchanged under `bun test` and `deno test`.
 *
 * On Bun it re-exports `bun:test`; on Deno it maps `describe`/`test` onto `Deno.test`
 * and uses the `expect` npm package (Jest's matchers, the same names bun:test has).
 *
 * @example
 * ```ts
 * import { describe, test, expect } from "../harness.ts";
 * describe("math", () => test("adds", () => expect(1 + 1).toBe(2)));
 * ```
 */
import type * as BunTest from "bun:test";

type Api = Pick<typeof BunTest, "describe" | "test" | "it" | "expect" | "beforeEach" | "afterEach">;

const isBun = typeof (globalThis as { Bun?: unknown }).Bun !== "undefined";
// Dynamic so that Deno never tries to resolve `bun:test`.
const api: Api = isBun
  ? ((await import("bun:test")) as unknown as Api)
  : ((await import("./harness-deno.ts")) as unknown as Api);

export const describe = api.describe;
export const test = api.test;
export const it = api.it;
export const expect = api.expect;
export const beforeEach = api.beforeEach;
export const afterEach = api.afterEach;
/** Which runtime runs this test file ("bun" or "deno"). */
export const runtimeName: "bun" | "deno" = isBun ? "bun" : "deno";

/**
 * Deno side of `harness.ts`: a tiny describe/test/beforeEach/afterEach on top of `Deno.test`.
 * Not imported directly by tests; see `harness.ts`.
 *
 * @example
 * ```ts
 * const { describe, test } = await import("./harness-deno.ts");
 * ```
 */
import { expect as jestExpect } from "expect";

type Hook = () => void | Promise<void>;
type Body = () => void | Promise<void>;
interface Scope {
  name: string;
  before: Hook[];
  after: Hook[];
}
interface DenoTestApi {
  test(def: { name: string; fn: () => Promise<void>; sanitizeOps: boolean; sanitizeResources: boolean }): void;
}
const deno = (globalThis as unknown as { Deno: DenoTestApi }).Deno;
const scopes: Scope[] = [{ name: "", before: [], after: [] }];

export function describe(name: string, body: () => void): void {
  scopes.push({ name, before: [], after: [] });
  try {
    body();
  } finally {
    scopes.pop();
  }
}

export function test(name: string, body: Body, _timeoutMs?: number): void {
  const chain = [...scopes];
  const fullName = [...chain.map((s) => s.name).filter(Boolean), name].join(" > ");
  deno.test({
    name: fullName,
    // Servers and timers are closed by the tests themselves; Deno's sanitizers are stricter
    // than bun's and would flag the runtime's own lazily-closed handles.
    sanitizeOps: false,
    sanitizeResources: false,
    fn: async () => {
      for (const scope of chain) for (const hook of scope.before) await hook();
      try {
        await body();
      } finally {
        for (const scope of [...chain].reverse()) for (const hook of scope.after) await hook();
      }
    },
  });
}

export const it = test;

export function beforeEach(hook: Hook): void {
  scopes[scopes.length - 1]!.before.push(hook);
}

export function afterEach(hook: Hook): void {
  scopes[scopes.length - 1]!.after.push(hook);
}

export const expect = jestExpect;

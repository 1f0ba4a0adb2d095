/**
 * Heap measurement for benchmarks: force a full GC and read the JS heap size on Bun or Deno.
 * Lives in src/runtime/ because it touches `Bun.*` / `Deno.*`.
 *
 * @example
 * ```ts
 * const before = heapUsedAfterGc();
 * build();
 * const bytes = heapUsedAfterGc() - before;
 * ```
 */
interface BunLike {
  gc(force: boolean): void;
}
interface DenoLike {
  memoryUsage(): { heapUsed: number };
}

/** Runs a full collection (where the runtime allows it) and returns the heap bytes in use. */
export function heapUsedAfterGc(): number {
  const g = globalThis as { Bun?: BunLike; Deno?: DenoLike; gc?: () => void; process?: { memoryUsage(): { heapUsed: number } } };
  if (g.Bun) {
    g.Bun.gc(true);
    return g.process!.memoryUsage().heapUsed;
  }
  g.gc?.(); // Deno with --v8-flags=--expose-gc
  if (g.Deno) return g.Deno.memoryUsage().heapUsed;
  return g.process?.memoryUsage().heapUsed ?? 0;
}

/** True when `heapUsedAfterGc` can really force a collection here. */
export function canForceGc(): boolean {
  const g = globalThis as { Bun?: unknown; gc?: unknown };
  return g.Bun !== undefined || typeof g.gc === "function";
}

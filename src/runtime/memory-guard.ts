/**
 * A collector nudge for floods: a producer that keeps sending large frames into a full queue is
 * refused, but every frame it sends was still received into a fresh buffer the runtime frees
 * only at its next garbage collection — hundreds of MiB a second of garbage that the collector's
 * own heuristics reclaim late. While the process's RSS is past `memoryBudgetBytes` + 64 MiB, this
 * asks Bun for a collection (at most every `intervalMs`), which keeps RSS near what Sluice
 * actually holds. Deno exposes no collector call without `--v8-flags=--expose-gc`: there it only
 * works when that flag is given.
 *
 * @example
 * ```ts
 * const stop = guardMemory(config.memoryBudgetBytes);
 * // …at shutdown:
 * stop();
 * ```
 */
interface Runtime {
  Bun?: { gc(force: boolean): void };
  gc?: () => void;
  process?: { memoryUsage: { rss(): number } | (() => { rss: number }) };
  Deno?: { memoryUsage(): { rss: number } };
}

/** Slack over the budget before a collection is asked for. */
const SLACK_BYTES = 64 * 1024 * 1024;

/**
 * Starts the guard; returns a function that stops it. Costs one RSS read per `intervalMs`.
 *
 * @example
 * ```ts
 * const stop = guardMemory(256 * 1024 * 1024, 100);
 * ```
 */
export function guardMemory(memoryBudgetBytes: number, intervalMs = 100): () => void {
  const g = globalThis as Runtime;
  const collect = g.Bun ? () => g.Bun!.gc(true) : g.gc;
  if (collect === undefined) return () => {};
  const rss = (): number => {
    if (g.Deno) return g.Deno.memoryUsage().rss;
    const usage = g.process!.memoryUsage;
    return "rss" in usage && typeof usage.rss === "function" ? usage.rss() : (usage as () => { rss: number })().rss;
  };
  const limit = memoryBudgetBytes + SLACK_BYTES;
  const timer = setInterval(() => {
    if (rss() > limit) collect();
  }, intervalMs);
  // Never the reason the process stays alive.
  (timer as { unref?: () => void }).unref?.();
  return () => clearInterval(timer);
}

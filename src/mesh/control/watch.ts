/**
 * `control.watch`: the long-running consumer of a `ControlSource` watch that feeds the ordered
 * apply pump, reconnecting with jittered exponential backoff.
 *
 * @module
 */
import { type Clock, systemClock } from "../../result/clock.ts";
import { abortable, delay } from "../../result/delay.ts";
import { requireNumber } from "../../result/options.ts";
import { ok, type Result } from "../../result/result.ts";
import type { ControlMetrics } from "./metrics.ts";
import type { ControlRevision, ControlSource } from "./source.ts";

/**
 * Options of `watchControl`.
 *
 * @example
 * ```ts
 * const options: ControlWatchOptions = { source, deliver, resumeFrom: () => applier.settledVersion, signal, initialBackoffMs: 1000, maxBackoffMs: 30_000 };
 * ```
 */
export interface ControlWatchOptions {
  readonly source: ControlSource;
  /** Hands one version to the apply pump (waits while its queue is full); a failure other than `canceled` reconnects. */
  readonly deliver: (revision: ControlRevision, signal: AbortSignal) => Promise<Result<unknown>>;
  /** The version to resume after, asked at every (re)connect: the last one the apply pump settled. */
  readonly resumeFrom: () => number;
  /** Ends the watch (resolves once it stopped). */
  readonly signal: AbortSignal;
  /** First reconnect wait, doubled per reconnect without an update (`pumps.control.watch.requeueDelayMs`). Default 1000. */
  readonly initialBackoffMs?: number;
  /** Cap of the reconnect wait. Default 30000. */
  readonly maxBackoffMs?: number;
  /** Each wait is scaled by `1 - jitter * random()` (never above the cap). Default 0.5. */
  readonly jitter?: number;
  readonly random?: () => number;
  readonly clock?: Clock;
  readonly metrics?: ControlMetrics;
  readonly log?: (line: string) => void;
  /** Called with each reconnect wait before it starts (tests, logs). */
  readonly onBackoff?: (waitMs: number) => void;
}

/**
 * Watches `source` until `signal` aborts. Each connection resumes after `resumeFrom()` and hands
 * every version to `deliver`, in order. Whatever ends a connection — an error, or a normal end of
 * stream (which must not become a hot loop) — is followed by a wait: `initialBackoffMs`, doubled
 * per reconnect that brought no update, capped at `maxBackoffMs`, jittered; a connection that
 * delivered an update resets it. No bare timers: waits are `delay` on the injected clock.
 *
 * @example
 * ```ts
 * const stop = new AbortController();
 * const watching = watchControl({ source, deliver: (rev, signal) => applyQueue.enqueue(rev, { signal, key: `v${rev.version}` }), resumeFrom: () => settled, signal: stop.signal });
 * // …
 * stop.abort();
 * await watching;
 * ```
 */
export async function watchControl(options: ControlWatchOptions): Promise<void> {
  const initial = requireNumber("watchControl", "initialBackoffMs", options.initialBackoffMs ?? 1000, 0);
  const cap = requireNumber("watchControl", "maxBackoffMs", options.maxBackoffMs ?? 30_000, initial);
  const jitter = requireNumber("watchControl", "jitter", options.jitter ?? 0.5, 0);
  const { source, signal, metrics, log } = options;
  const clock = options.clock ?? systemClock;
  const random = options.random ?? Math.random;
  let quiet = 0; // reconnects in a row without an update
  let lastProblem: string | undefined;
  while (!signal.aborted) {
    metrics?.watch("connect");
    metrics?.backoffMs.set(0);
    const outcome = await follow(source, options.resumeFrom(), options.deliver, signal, metrics);
    if (signal.aborted) break;
    if (outcome.updates > 0) quiet = 0;
    const base = Math.min(cap, initial * 2 ** quiet);
    quiet++;
    const waitMs = base * (1 - Math.min(1, jitter) * random());
    metrics?.watch(outcome.problem === undefined ? "end" : "error");
    metrics?.backoffMs.set(Math.round(waitMs));
    // One log line per change of problem, not one per reconnect.
    const problem = outcome.problem ?? "the watch stream ended";
    if (problem !== lastProblem) log?.(`sluice: control: ${problem}; watching ${source.describe} again in ${Math.round(waitMs)} ms (backoff up to ${cap} ms)`);
    lastProblem = outcome.updates > 0 ? undefined : problem;
    options.onBackoff?.(waitMs);
    const waited = await delay(waitMs, { signal, clock });
    if (!waited.ok) break;
  }
  metrics?.backoffMs.set(0);
}

// One connection: every item until the stream ends, fails, or the signal aborts.
async function follow(
  source: ControlSource,
  after: number,
  deliver: ControlWatchOptions["deliver"],
  signal: AbortSignal,
  metrics: ControlMetrics | undefined,
): Promise<{ updates: number; problem?: string }> {
  let updates = 0;
  let iterator: AsyncIterator<Result<ControlRevision>> | undefined;
  try {
    iterator = source.watch(after, signal)[Symbol.asyncIterator]();
    for (;;) {
      // Abortable even if a source ignores its signal.
      const next = await abortable(iterator.next(), signal);
      if (!next.ok) return next.error.code === "canceled" ? { updates } : { updates, problem: `watching ${source.describe} failed: ${next.error.message}` };
      if (next.value.done) return { updates };
      const item = next.value.value;
      if (!item.ok) return { updates, problem: `watching ${source.describe} failed: ${item.error.message}` };
      updates++;
      metrics?.watch("update");
      const handed = await deliver(item.value, signal);
      if (!handed.ok && handed.error.code !== "canceled") return { updates, problem: `the apply pump refused version ${item.value.version}: ${handed.error.message}` };
      if (!handed.ok) return { updates };
    }
  } catch (thrown) {
    return { updates, problem: `watching ${source.describe} failed: ${thrown instanceof Error ? thrown.message : String(thrown)}` };
  } finally {
    void Promise.resolve(iterator?.return?.()).catch(() => ok());
  }
}

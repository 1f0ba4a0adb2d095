// The control role's watch loop on a virtual clock (issue 18, Must show 1): reconnect backoff
// doubles to its cap and resets after an update; a normal end of stream backs off too (no hot
// loop); every reconnect resumes after the last settled version; jitter never exceeds the cap.
import { describe, expect, test } from "../harness.ts";
import { VirtualClock } from "../../src/result/virtual-clock.ts";
import { ok, type Result } from "../../src/result/result.ts";
import { MetricsRegistry } from "../../src/queue/metrics/registry.ts";
import { ControlMetrics, type ControlRevision, MemoryControlSource, watchControl } from "../../src/mesh/control/mod.ts";

function run(source: MemoryControlSource, options: { jitter?: number; random?: () => number } = {}) {
  const clock = new VirtualClock(0);
  const stop = new AbortController();
  const waits: number[] = [];
  const connectsAt: number[] = [];
  const delivered: ControlRevision[] = [];
  let settled = 0;
  const metrics = new ControlMetrics(new MetricsRegistry(), "node-a");
  const original = source.watch.bind(source);
  source.watch = (after: number, signal: AbortSignal) => {
    connectsAt.push(clock.now());
    return original(after, signal);
  };
  const done = watchControl({
    source,
    deliver: (rev): Promise<Result<void>> => {
      delivered.push(rev);
      settled = rev.version;
      return Promise.resolve(ok());
    },
    resumeFrom: () => settled,
    signal: stop.signal,
    initialBackoffMs: 1000,
    maxBackoffMs: 30_000,
    jitter: options.jitter ?? 0,
    random: options.random ?? (() => 0),
    clock,
    metrics,
    onBackoff: (ms) => waits.push(ms),
  });
  const settle = async (ms = 0) => {
    await clock.advance(ms);
    await clock.advance(0);
  };
  return { clock, stop, waits, connectsAt, delivered, metrics, done, settle };
}

describe("control watch", () => {
  test("backoff doubles to its cap, and resets after an update", async () => {
    const source = new MemoryControlSource();
    source.fail(8);
    const { waits, connectsAt, stop, done, settle, delivered } = run(source);
    await settle(200_000);
    expect(waits.slice(0, 8)).toEqual([1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000]);
    expect(connectsAt.slice(0, 4)).toEqual([0, 1000, 3000, 7000]);
    // The 9th connection works: it delivers the current version, then the stream ends (a server
    // that closes it) — the wait after an update starts again at 1 s.
    source.endStreams = true;
    source.put(3, "{}");
    const before = waits.length;
    await settle(30_000);
    expect(delivered.map((d) => d.version)).toEqual([3]);
    expect(waits[before]).toBe(1000);
    stop.abort();
    await done;
  });

  test("a normal end of stream backs off instead of reconnecting in a hot loop", async () => {
    const source = new MemoryControlSource();
    source.endStreams = true; // every watch ends at once, normally, with nothing new
    const { connectsAt, stop, done, settle, metrics } = run(source);
    await settle(60_000);
    // 0, 1, 3, 7, 15, 31 s: six connections in a minute, not thousands.
    expect(connectsAt).toEqual([0, 1000, 3000, 7000, 15_000, 31_000]);
    expect(metrics.backoffMs.value).toBe(30_000);
    stop.abort();
    await done;
  });

  test("every reconnect resumes after the last settled version", async () => {
    const source = new MemoryControlSource();
    source.put(1, "{}");
    const { stop, done, settle } = run(source);
    await settle();
    source.put(2, "{}");
    await settle();
    source.fail(1);
    source.endStreams = true; // the live watch ends at the next change
    source.put(4, "{}");
    await settle(10_000);
    expect(source.connects.slice(0, 3)).toEqual([0, 4, 4]);
    stop.abort();
    await done;
  });

  test("jitter spreads the waits without ever going above the un-jittered wait", async () => {
    const source = new MemoryControlSource();
    source.fail(10);
    const { waits, stop, done, settle } = run(source, { jitter: 0.5, random: () => 0.999 });
    await settle(100_000);
    const plain = [1000, 2000, 4000, 8000, 16_000, 30_000];
    waits.slice(0, 6).forEach((w, i) => {
      expect(w).toBeLessThanOrEqual(plain[i]!);
      expect(w).toBeGreaterThanOrEqual(plain[i]! / 2);
    });
    stop.abort();
    await done;
  });

  test("stopping ends the watch at once, also during a backoff wait", async () => {
    const source = new MemoryControlSource();
    source.fail(1);
    const { clock, stop, done, settle } = run(source);
    await settle();
    stop.abort();
    await done;
    expect(clock.pendingTimers).toBe(0);
  });
});

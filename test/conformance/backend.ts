/**
 * What the queue conformance suite needs from a backend under test: a fresh queue, a way to let
 * time pass (a VirtualClock for in-process queues, real time for JetStream), and — when the
 * backend has nodes — a second node on the same queue.
 *
 * @module
 */
import type { RelayQueue } from "../../src/queue/relay-queue.ts";
import type { SafeTaskQueueOptions } from "../../src/queue/options.ts";
import type { QueueStats } from "../../src/queue/stats.ts";
import type { VirtualClock } from "../../src/result/virtual-clock.ts";

/** One queue under test. */
export interface QueueUnderTest {
  readonly queue: RelayQueue<Uint8Array>;
  /** Another node holding the same queue (JetStream); undefined for in-process backends. */
  peer?(): Promise<RelayQueue<Uint8Array>>;
  /** Levels as of now (an outside engine's counts are refreshed first). */
  stats(): Promise<QueueStats>;
  close(): Promise<void>;
}

/**
 * A backend the suite runs against.
 *
 * @example
 * ```ts
 * queueConformance(memoryBackend());
 * ```
 */
export interface ConformanceBackend {
  readonly name: string;
  /** Lease length the suite uses (short on real time). */
  readonly leaseMs: number;
  readonly sweepMs: number;
  open(options: SafeTaskQueueOptions): Promise<QueueUnderTest>;
  /** Lets `ms` pass: advances the virtual clock (running its timers) or sleeps. */
  elapse(ms: number): Promise<void>;
  /** Resolves `promise`, letting time pass while it waits; fails the test past `limitMs`. */
  settle<T>(promise: Promise<T>, limitMs?: number): Promise<T>;
}

/** Yields to the event loop (timers, I/O, setImmediate), not just microtasks. */
export function macrotask(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/**
 * The time functions of a backend on a VirtualClock.
 *
 * @example
 * ```ts
 * const { elapse, settle } = virtualTime(clock);
 * ```
 */
export function virtualTime(clock: VirtualClock): Pick<ConformanceBackend, "elapse" | "settle"> {
  const elapse = async (ms: number) => {
    await macrotask();
    clock.advance(ms);
    await macrotask();
  };
  const settle = async <T>(promise: Promise<T>, limitMs = 60_000): Promise<T> => {
    let done = false;
    let value: T | undefined;
    let failure: unknown;
    let failed = false;
    promise.then((v) => {
      done = true;
      value = v;
    }, (e) => {
      done = failed = true;
      failure = e;
    });
    for (let waited = 0; !done; waited += 10) {
      if (waited > limitMs) throw new Error(`not settled within ${limitMs} virtual ms`);
      await elapse(10);
    }
    if (failed) throw failure;
    return value as T;
  };
  return { elapse, settle };
}

/**
 * The time functions of a backend on real time (bounded waits).
 *
 * @example
 * ```ts
 * const { elapse, settle } = realTime();
 * ```
 */
export function realTime(): Pick<ConformanceBackend, "elapse" | "settle"> {
  const elapse = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
  const settle = <T>(promise: Promise<T>, limitMs = 10_000): Promise<T> => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const limit = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`not settled within ${limitMs} ms`)), limitMs);
    });
    return Promise.race([promise, limit]).finally(() => clearTimeout(timer));
  };
  return { elapse, settle };
}

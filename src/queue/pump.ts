/**
 * `pump`, the canonical drain of a queue, with its handler, options and report types.
 *
 * @module
 */
import type { CompensationScope } from "../result/compensation.ts";
import { canceledError } from "../result/errors.ts";
import { requireInteger } from "../result/options.ts";
import { err, ok, type Result } from "../result/result.ts";
import { linkSignal } from "../result/signals.ts";
import { ticker } from "../result/ticker.ts";
import type { Lease } from "./lease.ts";
import { type PumpShared, PumpWorker } from "./pump-worker.ts";
import type { RelayQueue } from "./relay-queue.ts";

/**
 * What a handler gets besides the lease.
 *
 * @example
 * ```ts
 * pump(queue, async (lease, { signal, scope }) => {
 *   scope.register(() => undo(lease.payload)); return send(lease.payload, signal);
 * });
 * ```
 */
export interface PumpContext {
  /** Aborted when the pump is canceled. */
  readonly signal: AbortSignal;
  /** Register undo actions for side effects; they run if this delivery fails or is canceled. */
  readonly scope: CompensationScope;
}

/**
 * A pump handler: return a failed Result (or throw) to fail the lease, success to ack it.
 *
 * @example
 * ```ts
 * const handle: PumpHandler<Job> = async (lease, { signal }) => send(lease.payload, signal);
 * ```
 */
export type PumpHandler<T> = (lease: Lease<T>, context: PumpContext) => Promise<Result<unknown>>;

/**
 * Options of `pump`.
 *
 * @example
 * ```ts
 * pump(queue, handle, { concurrency: 8, signal: controller.signal, role: "bridge" });
 * ```
 */
export interface PumpOptions {
  /** Handlers running at once. Default 1. */
  concurrency?: number;
  signal?: AbortSignal;
  /** Name for errors and logs. Default: the queue's name. */
  name?: string;
  /** Metric label `role`. Default: the queue's role. */
  role?: string;
}

/**
 * Counts of one pump run.
 *
 * @example
 * ```ts
 * const r = await pump(queue, handle);
 * if (r.ok) console.log(r.value.acked, r.value.failed);
 * ```
 */
export interface PumpReport {
  acked: number;
  failed: number;
  canceled: number;
  /** Undo actions that threw or failed (each delivery's other undo actions still ran). */
  compensationFailures: number;
}

/**
 * The canonical drain of a queue — lease, handle, compensate, ack/fail, heartbeat,
 * measure — in one call.
 *
 * It is the adapter + forEach + compensation pattern fused into `concurrency` worker loops: each
 * worker leases straight from the queue (the adapter with a zero-length buffer, so the pump
 * never holds a lease nobody is working on), runs the handler, then acks or fails. Fusing the
 * layers removes several promises and an AbortController per message, and each worker is a chain
 * of callbacks (`PumpWorker`), not an async loop; `context.scope` is made only when a handler
 * first reads it. The semantics are those of the composed pipeline:
 * - per lease, the delivery's first compensation fails the lease back (requeue at once), so it
 *   runs last; the handler may register its own undo actions on `context.scope`;
 * - a failed handler Result (or a throw) → `fail(lease, error, { requeue: !lease.isPoisoned })`,
 *   then the handler's compensations run; the pump goes on with the next lease;
 * - success → the compensations are dropped and the lease is acked;
 * - cancelling the pump aborts `context.signal` for every running handler; a handler that then
 *   fails runs its compensations, which requeues its lease at once. That delivery does NOT count
 *   as an attempt: it ended through no fault of the message (a restart must not push items
 *   toward the poison queue). A handler that succeeds despite the cancel is acked;
 * - while a handler runs, its lease is heartbeated every `heartbeatMs`.
 * Only the signal or the queue closing/draining ends the pump. It resolves `ok(report)` when the
 * queue closes or drains, or a `canceled` error carrying the report in `metadata.report` when
 * `signal` aborts.
 *
 * @example
 * ```ts
 * const done = await pump(queue, async (lease, { signal }) => send(lease.payload, signal), { concurrency: 8, signal });
 * ```
 */
export function pump<T>(queue: RelayQueue<T>, handler: PumpHandler<T>, options: PumpOptions = {}): Promise<Result<PumpReport>> {
  const concurrency = requireInteger("pump", "concurrency", options.concurrency ?? 1, 1);
  return run(queue, handler, concurrency, options);
}

async function run<T>(queue: RelayQueue<T>, handler: PumpHandler<T>, concurrency: number, options: PumpOptions): Promise<Result<PumpReport>> {
  const { signal } = options;
  const clock = queue.options.clock;
  const duration = queue.metrics.registry
    .histogram("sluice_pump_duration_seconds", "Time from lease to ack/fail in a pump handler")
    .labels({ queue: queue.name, role: options.role ?? queue.options.role });
  const report: PumpReport = { acked: 0, failed: 0, canceled: 0, compensationFailures: 0 };
  const link = linkSignal(signal);
  let running = concurrency;
  // Not Promise.withResolvers: the package also runs on Node 20, which lacks it.
  let allEnded!: () => void;
  let crashed!: (thrown: unknown) => void;
  const all = new Promise<void>((resolve, reject) => {
    allEnded = resolve;
    crashed = reject;
  });
  const shared: PumpShared<T> = {
    queue,
    clock,
    handler,
    signal: link.signal,
    duration,
    report,
    stopped: link.signal.aborted,
    ended: () => {
      if (--running === 0) allEnded();
    },
    crashed,
  };
  link.signal.addEventListener("abort", () => (shared.stopped = true), { once: true });
  const workers: PumpWorker<T>[] = [];

  const stopHeartbeats = linkSignal(signal);
  const heartbeats = (async () => {
    for await (const _ of ticker(queue.options.heartbeatMs, { signal: stopHeartbeats.signal, clock })) {
      for (const worker of workers) if (worker.current !== undefined) queue.heartbeat(worker.current);
    }
  })();
  try {
    for (let i = 0; i < concurrency; i++) {
      const worker = new PumpWorker(shared);
      workers.push(worker);
      worker.next(undefined);
    }
    await all;
  } finally {
    stopHeartbeats.abort();
    await heartbeats;
    stopHeartbeats.dispose();
    link.dispose();
  }
  if (signal?.aborted) {
    const canceled = canceledError(signal);
    return err({ ...canceled, metadata: { pump: options.name ?? queue.name, report } });
  }
  return ok(report);
}

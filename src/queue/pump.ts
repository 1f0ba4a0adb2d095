/**
 * `pump`: the canonical drain of a queue — adapter + forEach + per-lease compensation +
 * ack/fail + heartbeats + metrics — in one call.
 *
 * For every lease: a compensation that fails the lease back (requeue at once, attempt not
 * counted) is registered first; the handler runs with a signal linked to the pump's and may
 * register its own undo actions. A failed handler Result → `fail(lease, error, { requeue:
 * !lease.isPoisoned })` and the handler's compensations run; success → `ack`. Cancelling the pump
 * mid-handler aborts the handler, runs the compensations and so requeues the lease at once; that
 * delivery does NOT count as an attempt (it ended through no fault of the message). One failed
 * item never stops the pump; only its signal or the queue closing does. While a handler runs,
 * its lease is heartbeated every `heartbeatMs`, so long handlers do not lose their lease.
 *
 * @example
 * ```ts
 * const done = await pump(queue, async (lease, { signal }) => send(lease.payload, signal), { concurrency: 8, signal });
 * ```
 */
import { CompensationScope } from "../result/compensation.ts";
import { canceledError, sluiceError, toSluiceError } from "../result/errors.ts";
import { forEach } from "../result/for-each.ts";
import { requireInteger } from "../result/options.ts";
import { err, ok, type Result } from "../result/result.ts";
import { linkSignal } from "../result/signals.ts";
import { asResults } from "../result/tap.ts";
import { ticker } from "../result/ticker.ts";
import { TaskQueueChannelAdapter } from "./channel-adapter.ts";
import type { Lease } from "./lease.ts";
import type { SafeTaskQueue } from "./safe-task-queue.ts";

/** What a handler gets besides the lease. */
export interface PumpContext {
  /** Aborted when the pump is canceled. */
  readonly signal: AbortSignal;
  /** Register undo actions for side effects; they run if this delivery fails or is canceled. */
  readonly scope: CompensationScope;
}

export type PumpHandler<T> = (lease: Lease<T>, context: PumpContext) => Promise<Result<unknown>>;

/** Options of `pump`. */
export interface PumpOptions {
  /** Handlers running at once. Default 1. */
  concurrency?: number;
  signal?: AbortSignal;
  /** Name for logs and errors. Default: the queue's name. */
  name?: string;
  /** Metric label `role`. Default: the queue's role. */
  role?: string;
}

/** Counts of one pump run. */
export interface PumpReport {
  acked: number;
  failed: number;
  canceled: number;
}

export function pump<T>(queue: SafeTaskQueue<T>, handler: PumpHandler<T>, options: PumpOptions = {}): Promise<Result<PumpReport>> {
  const concurrency = requireInteger("pump", "concurrency", options.concurrency ?? 1, 1);
  return run(queue, handler, concurrency, options);
}

async function run<T>(queue: SafeTaskQueue<T>, handler: PumpHandler<T>, concurrency: number, options: PumpOptions): Promise<Result<PumpReport>> {
  const { signal } = options;
  const clock = queue.options.clock;
  const duration = queue.metrics.registry
    .histogram("sluice_pump_duration_seconds", "Time from lease to ack/fail in a pump handler")
    .labels({ queue: queue.name, role: options.role ?? queue.options.role });
  const report: PumpReport = { acked: 0, failed: 0, canceled: 0 };
  const inFlight = new Set<Lease<T>>();
  const adapter = TaskQueueChannelAdapter.create(queue, { concurrency, ownsQueue: false });
  const stopHeartbeats = linkSignal(signal);
  const heartbeats = (async () => {
    for await (const _ of ticker(queue.options.heartbeatMs, { signal: stopHeartbeats.signal, clock })) {
      for (const lease of inFlight) queue.heartbeat(lease);
    }
  })();
  const unlink = signal ? onAbortClose(signal, adapter) : () => {};

  const handleLease = async (lease: Lease<T>, itemSignal: AbortSignal): Promise<Result<void>> => {
    const started = clock.now();
    const scope = new CompensationScope();
    scope.register(() => {
      const back = queue.fail(lease, sluiceError("canceled", "delivery rolled back"), { requeue: true, countAttempt: false, delayMs: 0 });
      return back.ok || back.error.code === "lease.inactive" ? ok() : back;
    });
    inFlight.add(lease);
    let result: Result<unknown>;
    try {
      result = await handler(lease, { signal: itemSignal, scope });
    } catch (thrown) {
      result = err(itemSignal.aborted ? canceledError(itemSignal) : toSluiceError(thrown));
    }
    inFlight.delete(lease);
    duration.observe((clock.now() - started) / 1000);
    if (itemSignal.aborted || (!result.ok && result.error.code === "canceled")) {
      report.canceled++;
      await scope.compensate(canceledError(itemSignal));
      return err(canceledError(itemSignal));
    }
    if (!result.ok) {
      report.failed++;
      queue.fail(lease, result.error, { requeue: !lease.isPoisoned });
      await scope.compensate(result.error);
      return ok(); // the item is accounted for; the pump goes on
    }
    scope.clear();
    if (queue.ack(lease).ok) report.acked++;
    return ok();
  };

  const drained = await forEach(asResults(adapter.reader), handleLease, { concurrency, signal });
  unlink();
  stopHeartbeats.abort();
  await heartbeats;
  stopHeartbeats.dispose();
  await adapter.close();
  if (!drained.ok) return err({ ...drained.error, metadata: { ...drained.error.metadata, pump: options.name ?? queue.name, report } });
  return ok(report);
}

/** Closing the adapter on abort releases the reader so forEach can see the cancel. */
function onAbortClose<T>(signal: AbortSignal, adapter: TaskQueueChannelAdapter<T>): () => void {
  const close = () => void adapter.close();
  if (signal.aborted) {
    close();
    return () => {};
  }
  signal.addEventListener("abort", close, { once: true });
  return () => signal.removeEventListener("abort", close);
}

import { abortable } from "./delay.ts";
import { canceledError, type SluiceError, sluiceError, toSluiceError } from "./errors.ts";
import { requireInteger } from "./options.ts";
import { err, ok, type Result } from "./result.ts";
import { linkSignal, type LinkedSignal } from "./signals.ts";

/**
 * Options of `forEach`.
 *
 * @example
 * ```ts
 * forEach(source, handle, { concurrency: 8, continueOnError: true, signal });
 * ```
 */
export interface ForEachOptions {
  /** Handlers running at once (>= 1). Default 1. */
  concurrency?: number;
  signal?: AbortSignal;
  /** Keep going after failures and collect them. Default false: stop at the first one. */
  continueOnError?: boolean;
}

/**
 * What a completed `forEach` reports.
 *
 * @example
 * ```ts
 * const done = await forEach(source, handle, { continueOnError: true });
 * if (done.ok) console.log(done.value.succeeded, done.value.errors.length);
 * ```
 */
export interface ForEachReport {
  /** Items whose handler succeeded. */
  succeeded: number;
  /** Failures seen (only ever non-empty with `continueOnError`). */
  errors: SluiceError[];
}

/**
 * A `forEach` handler: a failed Result (or a throw) counts as a failure of that item.
 *
 * @example
 * ```ts
 * const handle: ItemHandler<Lease<Job>> = async (lease, signal) => send(lease.payload, signal);
 * ```
 */
export type ItemHandler<T> = (item: T, signal: AbortSignal) => Promise<Result<unknown>>;

/**
 * Drains an async iterable of Results through a handler with bounded concurrency.
 *
 * Each handler call gets its own signal, linked to the outer one, so cancelling the outer signal
 * reaches every handler still running. A failed source item or handler result stops the drain by
 * default (in-flight handlers are aborted and awaited, the first failure is returned); with
 * `continueOnError` every item is handled and the failures are collected. A throw becomes an
 * `internal` failure, an abort `canceled`; `forEach` itself never rejects.
 *
 * @example
 * ```ts
 * const done = await forEach(leases, async (lease, signal) => handle(lease, signal), { concurrency: 8, signal });
 * if (!done.ok) log(done.error);
 * ```
 */
export function forEach<T>(
  source: AsyncIterable<Result<T>>,
  handler: ItemHandler<T>,
  options: ForEachOptions = {},
): Promise<Result<ForEachReport>> {
  // Validated before any await so a bad option throws at the call site, not as a rejection.
  const concurrency = requireInteger("forEach", "concurrency", options.concurrency ?? 1, 1);
  return drain(source, handler, concurrency, options);
}

async function drain<T>(
  source: AsyncIterable<Result<T>>,
  handler: ItemHandler<T>,
  concurrency: number,
  options: ForEachOptions,
): Promise<Result<ForEachReport>> {
  const { signal, continueOnError = false } = options;
  if (signal?.aborted) return err(canceledError(signal));

  const running = new Set<LinkedSignal>();
  const errors: SluiceError[] = [];
  let succeeded = 0;
  let stopped = false;
  let slotFreed: (() => void) | undefined;
  let allDone: (() => void) | undefined;

  const record = (error: SluiceError) => {
    errors.push(error);
    if (!continueOnError && !stopped) {
      stopped = true;
      for (const link of running) link.abort(error);
    }
  };
  const start = (item: T) => {
    const link = linkSignal(signal);
    running.add(link);
    const settle = (result: Result<unknown>) => {
      link.dispose();
      running.delete(link);
      if (result.ok) succeeded++;
      else record(result.error);
      slotFreed?.();
      if (running.size === 0) allDone?.();
    };
    let pending: Promise<Result<unknown>>;
    try {
      pending = handler(item, link.signal);
    } catch (thrown) {
      pending = Promise.resolve(err(toSluiceError(thrown)));
    }
    pending.then(settle, (thrown) => settle(err(link.signal.aborted ? canceledError(link.signal) : toSluiceError(thrown))));
  };

  const iterator = source[Symbol.asyncIterator]();
  try {
    while (!stopped) {
      if (running.size >= concurrency) {
        await abortable(new Promise<void>((r) => (slotFreed = r)), signal);
        slotFreed = undefined;
        if (signal?.aborted) break;
        continue;
      }
      const next = await abortable(iterator.next(), signal);
      if (!next.ok) {
        if (next.error.code !== "canceled") record(next.error);
        break;
      }
      if (next.value.done) break;
      const item = next.value.value;
      if (item.ok) start(item.value);
      else record(item.error);
    }
  } finally {
    if (signal?.aborted || stopped) void Promise.resolve(iterator.return?.()).catch(() => {});
  }
  if (running.size > 0) await new Promise<void>((r) => (allDone = r));

  if (signal?.aborted) return err(canceledError(signal));
  if (errors.length === 0) return ok({ succeeded, errors });
  if (!continueOnError) return err(errors[0]!);
  return err(
    sluiceError(errors[0]!.code, `${errors.length} item(s) failed; first: ${errors[0]!.message}`, {
      metadata: { errors, succeeded },
    }),
  );
}

/**
 * `withTimeout`, and `whenSettled` for waiting out an abandoned operation.
 *
 * @module
 */
import { type Clock, systemClock } from "./clock.ts";
import { CompensationScope } from "./compensation.ts";
import { canceledError, sluiceError, toSluiceError } from "./errors.ts";
import { requireNumber } from "./options.ts";
import { err, type Result } from "./result.ts";
import { linkSignal } from "./signals.ts";

/**
 * Options of `withTimeout`.
 *
 * @example
 * ```ts
 * withTimeout(op, 3000, { signal, clock, scope: callerScope });
 * ```
 */
export interface WithTimeoutOptions {
  signal?: AbortSignal;
  clock?: Clock;
  /** The caller's scope; in-time undo actions are transferred to it. */
  scope?: CompensationScope;
}

/**
 * The operation run under a time limit; it must honour `signal` and register undo actions on `scope`.
 *
 * @example
 * ```ts
 * const op: TimedOperation<void> = (signal, scope) => socket.send(frame, { signal, scope });
 * ```
 */
export type TimedOperation<T> = (signal: AbortSignal, scope: CompensationScope) => Promise<Result<T>>;

const settling = new WeakMap<object, Promise<void>>();

/**
 * For an error returned by `withTimeout` (timeout or cancel before the operation settled):
 * a promise that resolves once the abandoned operation has settled and its undo actions ran.
 * `undefined` for any other error.
 *
 * @example
 * ```ts
 * await whenSettled(result.error); // the late attempt is fully cleaned up
 * ```
 */
export function whenSettled(error: object): Promise<void> | undefined {
  return settling.get(error);
}

/**
 * Runs an operation with a time limit that really stops it.
 *
 * At the deadline the operation's signal is aborted and `timeout` is returned at once. The
 * operation keeps its own `CompensationScope`: when it finishes in time its undo actions move to
 * the caller's scope (or are dropped on success / run on failure when there is none); when it
 * finishes late — even successfully — its result is discarded and its undo actions run, so a late
 * success leaves no effect behind. `whenSettled(error)` tells a retry loop when that cleanup is
 * over, so attempts never overlap.
 *
 * @example
 * ```ts
 * const sent = await withTimeout((signal, scope) => socket.send(frame, { signal, scope }), 3000, { signal, clock });
 * if (!sent.ok && sent.error.code === "timeout") fallBack();
 * ```
 */
export function withTimeout<T>(operation: TimedOperation<T>, ms: number, options: WithTimeoutOptions = {}): Promise<Result<T>> {
  requireNumber("withTimeout", "ms", ms, 0);
  const { signal, clock = systemClock, scope } = options;
  if (signal?.aborted) return Promise.resolve(err(canceledError(signal)));
  const link = linkSignal(signal);
  const inner = new CompensationScope();

  return new Promise<Result<T>>((resolve) => {
    let decided = false;
    let settled!: () => void;
    const settledPromise = new Promise<void>((r) => (settled = r));

    const abandon = (error: ReturnType<typeof sluiceError>) => {
      decided = true;
      settling.set(error, settledPromise);
      link.abort(error);
      resolve(err(error));
    };
    const timer = clock.setTimeout(
      () => abandon(sluiceError("timeout", `operation timed out after ${ms} ms`, { metadata: { timeoutMs: ms } })),
      ms,
    );
    const onOuterAbort = () => {
      clock.clearTimeout(timer);
      if (!decided) abandon(canceledError(signal));
    };
    signal?.addEventListener("abort", onOuterAbort, { once: true });

    const finish = async (result: Result<T>) => {
      signal?.removeEventListener("abort", onOuterAbort);
      link.dispose();
      if (decided) {
        // Too late: whatever it did must not stand.
        await inner.compensate(sluiceError("timeout", "operation finished after its deadline"));
        settled();
        return;
      }
      decided = true;
      clock.clearTimeout(timer);
      if (scope) inner.transferTo(scope);
      else if (result.ok) inner.clear();
      else await inner.compensate(result.error);
      settled();
      resolve(result);
    };
    operation(link.signal, inner).then(finish, (thrown) =>
      finish(err(link.signal.aborted && !decided ? canceledError(link.signal) : toSluiceError(thrown))),
    );
  });
}

import { type SluiceError, sluiceError, toSluiceError } from "./errors.ts";
import { err, ok, type Result } from "./result.ts";

/**
 * An undo action; a returned failed Result counts as a compensation failure, like a throw.
 *
 * @example
 * ```ts
 * const release: Compensation = (reason) => queue.fail(lease, reason ?? rollbackError, { requeue: true });
 * ```
 */
export type Compensation = (reason: SluiceError | undefined) => unknown;

/**
 * Undo actions for one unit of work (one lease, one send).
 *
 * Register an undo for every side effect as it happens. If the work fails, times out or is
 * canceled, `compensate()` runs them last-registered-first, each exactly once — every one of
 * them, even when an earlier one throws or the work's signal is already aborted (compensations
 * get no signal: they are the cleanup). On success, `clear()` drops them. Scopes are per unit of
 * work, never long-lived, so an acked lease can never be failed back by a later rollback.
 *
 * @example
 * ```ts
 * const scope = new CompensationScope();
 * scope.register(() => queue.fail(lease, rollbackError, { requeue: true }));
 * const sent = await send(lease.payload);
 * if (sent.ok) scope.clear(); else await scope.compensate(sent.error);
 * ```
 */
export class CompensationScope {
  #actions: Compensation[] = [];

  /** Number of registered, not yet run or cleared, compensations. */
  get size(): number {
    return this.#actions.length;
  }

  /** Adds an undo action. (No remover closure is returned: pumps register one per message.) */
  register(action: Compensation): void {
    this.#actions.push(action);
  }

  /** Removes the most recently registered instance of `action` (its effect was committed). False if absent. */
  unregister(action: Compensation): boolean {
    const index = this.#actions.lastIndexOf(action);
    if (index < 0) return false;
    this.#actions.splice(index, 1);
    return true;
  }

  /** Drops every registered action without running it (the work succeeded). */
  clear(): void {
    this.#actions.length = 0;
  }

  /** Moves this scope's actions to the end of `target` (a nested step succeeded; its parent owns the undo now). */
  transferTo(target: CompensationScope): void {
    for (const action of this.#actions) target.register(action);
    this.#actions.length = 0;
  }

  /**
   * Runs every action, last first, each once; a second call finds nothing left to run.
   * Returns `ok` when all succeeded, else an `internal` error whose `metadata.failures` lists each
   * failing action's error.
   */
  async compensate(reason?: SluiceError): Promise<Result<void>> {
    const actions = this.#actions.reverse();
    this.#actions = [];
    const failures: SluiceError[] = [];
    for (const action of actions) {
      try {
        const outcome = await action(reason);
        if (isFailedResult(outcome)) failures.push(outcome.error);
      } catch (thrown) {
        failures.push(toSluiceError(thrown));
      }
    }
    if (failures.length === 0) return ok();
    return err(
      sluiceError("internal", `${failures.length} of ${actions.length} compensations failed`, {
        metadata: { failures },
      }),
    );
  }

  /**
   * Runs `work` in this scope: on success the actions are dropped, on a failed Result (including
   * `canceled` / `timeout`) they run and the original error is returned, with
   * `metadata.compensationFailures` added when some of them failed.
   */
  async run<T>(work: (scope: CompensationScope) => Promise<Result<T>>): Promise<Result<T>> {
    let result: Result<T>;
    try {
      result = await work(this);
    } catch (thrown) {
      result = err(toSluiceError(thrown));
    }
    if (result.ok) {
      this.clear();
      return result;
    }
    const undone = await this.compensate(result.error);
    if (undone.ok) return result;
    return err({
      ...result.error,
      metadata: { ...result.error.metadata, compensationFailures: undone.error.metadata?.failures },
    });
  }
}

function isFailedResult(value: unknown): value is { ok: false; error: SluiceError } {
  return typeof value === "object" && value !== null && (value as { ok?: unknown }).ok === false;
}

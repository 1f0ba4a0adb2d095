/**
 * `PumpWorker`: one of a pump's delivery loops (internal to `pump`).
 *
 * @module
 */
import { type Compensation, CompensationScope } from "../result/compensation.ts";
import { canceledError, type SluiceError, sluiceError, toSluiceError } from "../result/errors.ts";
import { err, ok, type Result } from "../result/result.ts";
import type { Clock } from "../result/clock.ts";
import type { Lease } from "./lease.ts";
import type { PumpContext, PumpHandler, PumpReport } from "./pump.ts";
import type { RelayQueue } from "./relay-queue.ts";

const ROLLED_BACK: SluiceError = sluiceError("canceled", "delivery rolled back");
const REQUEUE_NOW = { requeue: true, countAttempt: false, delayMs: 0 } as const;

/** What the workers of one pump run share. */
export interface PumpShared<T> {
  readonly queue: RelayQueue<T>;
  /** The queue's clock (a live reconfigure keeps it). */
  readonly clock: Clock;
  readonly handler: PumpHandler<T>;
  readonly signal: AbortSignal;
  readonly duration: { observe(value: number): void };
  readonly report: PumpReport;
  /** A plain flag: the AbortSignal getter is a host call, and workers check it twice per message. */
  stopped: boolean;
  /** Called once by each worker when it ends (canceled, or the queue closed / is draining). */
  readonly ended: () => void;
  /** A worker's step threw (a bug, not an expected failure): the pump rejects with it. */
  readonly crashed: (thrown: unknown) => void;
}

/**
 * The handler's context: the pump's signal, and a `CompensationScope` made on first use — most
 * handlers never touch it, and then a delivery costs no scope work at all. The first read in a
 * delivery registers the worker's fail-back first (`armed`), so the scope holds exactly what it
 * would have held had the fail-back been registered when the lease was taken.
 */
class WorkerContext implements PumpContext {
  held: CompensationScope | undefined = undefined;
  /** The current delivery's scope holds its fail-back (the handler has read `scope`). */
  armed = false;
  constructor(
    readonly signal: AbortSignal,
    private readonly failBack: Compensation,
  ) {}
  get scope(): CompensationScope {
    const scope = (this.held ??= new CompensationScope());
    if (!this.armed) {
      this.armed = true;
      scope.register(this.failBack);
    }
    return scope;
  }
}

/**
 * One of a pump's `concurrency` delivery loops, written as callbacks rather than an async loop:
 * lease → handler → ack / fail → next lease, with the handler's promise followed by `then`
 * (an `await` per message resumes a suspended function, which costs V8 a good deal more).
 * `current` is read by the heartbeat loop.
 */
export class PumpWorker<T> {
  current: Lease<T> | undefined = undefined;
  readonly #s: PumpShared<T>;
  readonly #context: WorkerContext;

  constructor(shared: PumpShared<T>) {
    this.#s = shared;
    this.#context = new WorkerContext(shared.signal, this.#failBack);
  }

  // Fails the current lease back (requeued at once, attempt not counted); a lease that ended
  // meanwhile is left alone. Bound once per worker: the scope's compensation and `#rollBack`'s.
  readonly #failBack = (): Result<void> => {
    const back = this.current === undefined ? ok() : this.#s.queue.fail(this.current, ROLLED_BACK, REQUEUE_NOW);
    return back.ok || back.error.code === "lease.inactive" ? ok() : back;
  };

  /** Leases the next item (`now`: a fresh clock read, if the caller has one) and starts it, or waits for one. */
  next(now: number | undefined): void {
    const s = this.#s;
    const lease = s.stopped ? undefined : s.queue.tryLease(now);
    if (lease !== undefined) return this.#start(lease);
    s.queue.lease({ signal: s.signal }).then(this.#onLeased, s.crashed);
  }

  readonly #onLeased = (leased: Result<Lease<T>>): void => {
    if (!leased.ok) return this.#s.ended(); // canceled, or the queue closed / is draining
    this.#guard(() => this.#start(leased.value));
  };

  #start(lease: Lease<T>): void {
    this.current = lease;
    // A stored queue commits the lease before the handler sees it: if the handler takes the
    // process down, the restart finds it leased (attempt + 1, a stall) instead of fresh.
    if (this.#s.queue.commitPending) {
      new Promise((committed) => this.#s.queue.afterCommit(committed)).then(() => this.#guard(() => this.#call(lease)), this.#s.crashed);
    } else this.#call(lease);
  }

  #call(lease: Lease<T>): void {
    let handled: Promise<Result<unknown>>;
    try {
      handled = this.#s.handler(lease, this.#context);
    } catch (thrown) {
      return this.#onThrown(thrown);
    }
    (handled instanceof Promise ? handled : Promise.resolve(handled)).then(this.#onResult, this.#onThrown);
  }

  readonly #onThrown = (thrown: unknown): void => {
    const signal = this.#s.signal;
    this.#onResult(err(signal.aborted ? canceledError(signal) : toSluiceError(thrown)));
  };

  readonly #onResult = (result: Result<unknown>): void => {
    try {
      this.#finish(result);
    } catch (thrown) {
      this.#s.crashed(thrown);
    }
  };

  #finish(result: Result<unknown>): void {
    const s = this.#s;
    const lease = this.current!;
    const context = this.#context;
    const scope = context.armed ? context.held : undefined;
    context.armed = false;
    // One clock read per message: it times the handler, dates the ack and starts the next lease.
    const now = s.clock.now();
    s.duration.observe((now - lease.leasedAt) / 1000);
    if (result.ok) {
      // Even when the pump is stopping: the work is done, redelivering it would repeat it.
      scope?.clear();
      if (s.queue.ack(lease, now).ok) s.report.acked++;
      this.current = undefined;
      return this.next(now);
    }
    let undo: Promise<number>;
    if (s.stopped) {
      // Only the pump's own cancellation requeues without counting; a handler that reports
      // `canceled` on its own is an ordinary failure (else it could loop forever unpoisoned).
      s.report.canceled++;
      undo = this.#rollBack(scope, true, canceledError(s.signal));
    } else {
      s.report.failed++;
      s.queue.fail(lease, result.error, { requeue: !lease.isPoisoned });
      undo = this.#rollBack(scope, false, result.error);
    }
    undo.then((failures) => {
      s.report.compensationFailures += failures;
      this.current = undefined;
      this.#guard(() => this.next(undefined));
    }, s.crashed);
  }

  /**
   * A failed or canceled delivery's compensations, last first: the handler's own, then the
   * fail-back (a no-op once the lease was failed). With no scope read, only the fail-back, and
   * only when it can do anything (`failBack`: canceled). Resolves to how many failed.
   */
  async #rollBack(scope: CompensationScope | undefined, failBack: boolean, reason: SluiceError): Promise<number> {
    if (scope !== undefined) {
      const undone = await scope.compensate(reason);
      return undone.ok ? 0 : ((undone.error.metadata?.failures as unknown[] | undefined)?.length ?? 1);
    }
    const put = failBack ? this.#failBack() : ok();
    await undefined; // a failed delivery always yields once before the next lease, as it always has
    return put.ok ? 0 : 1;
  }

  #guard(step: () => void): void {
    try {
      step();
    } catch (thrown) {
      this.#s.crashed(thrown);
    }
  }
}

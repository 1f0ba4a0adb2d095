import { canceledError, type SluiceError, sluiceError } from "../result/errors.ts";
import { err, ok, type Result } from "../result/result.ts";
import { idleOrDeadline, type WaiterHandle, Waiters } from "./waiters.ts";
import { Backpressure } from "./backpressure.ts";
import { DelayLine } from "./delay-line.ts";
import { QueueEvents, type QueueEventType } from "./events.ts";
import { ReadyLine } from "./ready-line.ts";
import { exhaustedBudget, newItem, type QueueItem, recordFailure, recordStall } from "./item.ts";
import type { Lease } from "./lease.ts";
import { QueueMetrics } from "./metrics/queue-metrics.ts";
import { MetricsRegistry } from "./metrics/registry.ts";
import { type ResolvedQueueOptions, resolveQueueOptions, type SafeTaskQueueOptions } from "./options.ts";
import { PoisonQueue } from "./poison-queue.ts";
import type { QueueStats } from "./stats.ts";
import { createLeaseTable } from "../wasm/mod.ts";
import { nextTokenLane } from "../wasm/lease-table.ts";
import type { DrainReport, FailOptions, QueueCreateOptions, ResumedLease } from "./queue-api.ts";
import { InFlight } from "./in-flight.ts";
import type { PoisonExhausted, QueueJournal } from "./journal.ts";
import { recoverCrashedLeases, StoredWindow } from "./stored-window.ts";
import { defaultSizeOf, HeldBytes } from "./held-bytes.ts";
import { inactiveLease, leaseAt, leaseOf, liveOptions, putBackDrained, requeueDelayFor } from "./lease-rules.ts";
import type { Enqueued, RelayQueue } from "./relay-queue.ts";

type State = "open" | "draining" | "closed";

/**
 * A bounded in-memory queue with leases, heartbeats, retries with backoff
 * and a poison queue (semantics: DESIGN.md "SafeTaskQueue semantics").
 *
 * Every item is always in exactly one place — ready, waiting out a requeue delay, in flight
 * (leased), or in the poison queue — until it is acked. Nothing is dropped silently.
 * Expected failures are Results, never throws; a lease that is no longer the live delivery of its
 * item (acked, failed, expired, redelivered) gets `lease.inactive` and changes nothing.
 *
 * @example
 * ```ts
 * const queue = SafeTaskQueue.create<string>({ name: "jobs", maxRetries: 3 });
 * await queue.enqueue("hello");
 * const leased = await queue.lease({ signal });
 * if (leased.ok) queue.ack(leased.value);
 * ```
 */
export class SafeTaskQueue<T> implements RelayQueue<T> {
  /** The options in force (replaced as a whole by `reconfigure`). */
  options: ResolvedQueueOptions;
  readonly name: string;
  readonly poison: PoisonQueue<T>;
  readonly events = new QueueEvents();
  readonly metrics: QueueMetrics;
  readonly #inFlight: InFlight<T>;
  readonly #ready = new ReadyLine<T>();
  readonly #delayed: DelayLine<QueueItem<T>>;
  readonly #keys = new Map<string, number>();
  readonly #roomWaiters = new Waiters<void>();
  readonly #idleWaiters = new Waiters<void>();
  readonly #backpressure: Backpressure;
  readonly #window: StoredWindow<T> | undefined;
  readonly #bytes: HeldBytes<T>;
  #held = 0;
  #sequence = 0;
  #stamp: number | undefined;
  #state: State = "open";
  /** Why publishes are refused while the queue still delivers (`seal`); undefined: open. */
  #sealed: string | undefined;

  /** Creates a queue; throws `RangeError`/`TypeError` naming a bad option. */
  static create<T>(options: QueueCreateOptions<T> = {}): SafeTaskQueue<T> {
    return new SafeTaskQueue<T>(options);
  }

  private constructor(options: QueueCreateOptions<T>) {
    this.options = resolveQueueOptions(options);
    this.name = this.options.name;
    this.#inFlight = new InFlight<T>(
      // Its own token lane: a lease token of one queue is never a live token of another.
      options.leaseTable ?? createLeaseTable({ lane: nextTokenLane() }),
      this.options.clock,
      this.options.sweepMs,
      (item, lease) => this.#expire(item, lease),
      () => this.#idleWaiters.failAll(ok()),
    );
    this.metrics = new QueueMetrics(options.metrics ?? new MetricsRegistry(), { queue: this.name, role: this.options.role });
    this.metrics.registry.addCollector(() => {
      this.metrics.pending.set(this.#ready.length + this.#delayed.size + (this.#window?.backlog ?? 0));
      this.metrics.activeLeases.set(this.#inFlight.size);
      this.metrics.poisonDepth.set(this.poison.size);
      this.metrics.heldBytes.set(this.#bytes.held);
    });
    this.#delayed = new DelayLine<QueueItem<T>>(this.options.clock, (item) => this.#deliver(item));
    this.#backpressure = new Backpressure(this.options.highWatermark, this.options.lowWatermark, this.options.onBackpressure);
    this.poison = new PoisonQueue<T>(this.options.poisonQueueName, (item) => this.#putBack(item), (item) => options.journal?.purged(item));
    const journal = options.journal;
    this.#bytes = new HeldBytes<T>(this.options.maxBytes, options.memoryBudget, journal ? (p) => journal.sizeOf(p) : (options.sizeOf ?? defaultSizeOf));
    if (journal !== undefined) {
      this.#window = new StoredWindow(journal, this.#bytes, () => this.#ready.length + this.#delayed.size, (item, notBefore) => this.#arrive(item, notBefore));
      this.#open(journal, options.resumeLease);
    }
  }

  /** The journal this queue writes through (undefined: memory only). */
  get journal(): QueueJournal<T> | undefined {
    return this.#window?.journal;
  }

  /** True when this queue journals to a store. */
  get stored(): boolean {
    return this.#window !== undefined;
  }

  /** True while the journal holds changes not yet committed. */
  get commitPending(): boolean {
    return this.#window?.journal.dirty ?? false;
  }

  /**
   * Answers a `tryEnqueue` result: at once on a memory queue, else after the commit that holds
   * it (with the commit's error if it failed: a receipt is a promise). Answers keep call order.
   */
  whenStored(added: Result<Enqueued>, answer: (result: Result<Enqueued>) => void): void {
    if (this.#window === undefined) return answer(added);
    this.afterCommit((committed) => answer(committed.ok || !added.ok ? added : committed));
  }

  /**
   * Runs `done` once everything this queue recorded so far is durable — at once for a memory
   * queue or when nothing is pending. Receipts go out from here: a receipt is a promise.
   */
  afterCommit(done: (committed: Result<void>) => void): void {
    const journal = this.#window?.journal;
    // The store decides what is pending: this queue's changes, and idempotency keys beside them.
    if (journal === undefined) done(ok());
    else journal.afterCommit(done);
  }

  /** Adds a message. Waits for room when full (or fails `queue.full` with `fullMode: "reject"`). */
  async enqueue(payload: T, options: { signal?: AbortSignal; key?: string } = {}): Promise<Result<Enqueued>> {
    for (;;) {
      const added = this.tryEnqueue(payload, options.key);
      if (!this.waitsForRoom(added)) return added;
      const room = await this.#roomWaiters.wait(options.signal);
      if (!room.ok) return room;
    }
  }

  /**
   * True when `added` (a `tryEnqueue` result) is the `queue.full` that `enqueue()` waits out —
   * the queue's `fullMode` is "wait" — rather than an answer to pass on.
   */
  waitsForRoom(added: Result<unknown>): boolean {
    return !added.ok && added.error.code === "queue.full" && this.options.fullMode !== "reject";
  }

  /**
   * Adds a message without waiting: `queue.full` when there is no room. An item whose `key` is
   * already held (pending, delayed or in flight) is not added again; its sequence id comes back
   * with `duplicate: true`.
   */
  tryEnqueue(payload: T, key?: string): Result<Enqueued> {
    if (this.#state !== "open") return err("queue.closed", `queue '${this.name}' is ${this.#state}`);
    if (this.#sealed !== undefined) return err("queue.closed", this.#sealed);
    const failure = this.#window?.journal.failure;
    if (failure !== undefined) return err("unavailable", `queue '${this.name}' cannot store new messages: ${failure.message}`, { cause: failure });
    if (key !== undefined) {
      const existing = this.#keys.get(key);
      if (existing !== undefined) return ok({ sequenceId: existing, duplicate: true });
    }
    if (this.#held >= this.options.capacity) {
      return err("queue.full", `queue '${this.name}' is full (capacity ${this.options.capacity})`, {
        metadata: { capacity: this.options.capacity },
      });
    }
    // A memory queue is bounded in bytes too; a stored one leaves what does not fit in its store.
    const size = this.#window === undefined ? this.#bytes.sizeOf(payload) : 0;
    if (this.#window === undefined && !this.#bytes.fits(size)) {
      return err("queue.full", `queue '${this.name}' is full (${this.#bytes.held} payload bytes held; maxBytes ${this.options.maxBytes} or the server's memory budget reached)`, {
        metadata: { maxBytes: this.options.maxBytes, heldBytes: this.#bytes.held },
      });
    }
    const item = newItem(payload, ++this.#sequence, this.#enqueueStamp(), key);
    if (key !== undefined) this.#keys.set(key, item.sequenceId);
    this.#held++;
    this.metrics.enqueued.value++;
    this.#backpressure.update(this.#held);
    this.#emit("enqueued", item);
    if (this.#window === undefined) {
      this.#bytes.take(item, size);
      this.#deliver(item);
    } else if (this.#window.admit(item)) this.#deliver(item);
    return ok({ sequenceId: item.sequenceId, duplicate: false });
  }

  /** Takes the next item, waiting while the queue is empty. `canceled` on abort, `queue.closed` after close/drain. */
  lease(options: { signal?: AbortSignal } = {}): Promise<Result<Lease<T>>> {
    if (options.signal?.aborted) return Promise.resolve(err(canceledError(options.signal)));
    const lease = this.tryLease();
    if (lease !== undefined) return Promise.resolve(ok(lease));
    if (this.#state !== "open") return Promise.resolve(err("queue.closed", `queue '${this.name}' is ${this.#state}`));
    return new Promise((resolve) => this.#ready.park(resolve, options.signal, true));
  }

  /**
   * The callback form of `lease()`, for consumers that lease once per message and cannot afford a
   * promise each time: `onLease` runs exactly once, with the same results `lease()` resolves to —
   * synchronously when an item is ready, else inside the call that makes one ready (an enqueue,
   * a requeue) or that ends the wait (abort, close). Do little there: defer delivery work.
   */
  leaseWith(onLease: (leased: Result<Lease<T>>) => void, signal?: AbortSignal, free = true): WaiterHandle | undefined {
    if (signal?.aborted) return void onLease(err(canceledError(signal)));
    const lease = this.tryLease(undefined, free);
    if (lease !== undefined) return void onLease(ok(lease));
    if (this.#state !== "open") return void onLease(err("queue.closed", `queue '${this.name}' is ${this.#state}`));
    return this.#ready.park(onLease, signal, free);
  }

  /**
   * A consumer parked by `leaseWith(…, free = false)` now holds nothing: it waits again as free
   * (and may take a suspect at once). Returns its new handle; `handle` itself when it was served
   * meanwhile (nothing changes then).
   */
  nowFree(handle: WaiterHandle, onLease: (leased: Result<Lease<T>>) => void, signal?: AbortSignal): WaiterHandle | undefined {
    if (!this.#ready.withdrawBusy(handle)) return handle;
    return this.leaseWith(onLease, signal, true);
  }


  /**
   * Takes the next ready item without waiting; `undefined` if none (or the queue is not open).
   * `now`: the current clock time if the caller has just read it (saves a clock read).
   * `free`: false when the caller holds other leases of this queue — it then gets no suspect.
   */
  tryLease(now?: number, free = true): Lease<T> | undefined {
    if (this.#state !== "open") return undefined;
    this.#delayed.releaseDue();
    if (this.#window !== undefined && this.#ready.length < StoredWindow.PAGE) this.#window.pageIn();
    const item = this.#ready.take(free);
    return item === undefined ? undefined : this.#start(item, now);
  }

  /** The live lease with this fencing token (for consumers that ack by token over the wire). */
  leaseByToken(token: number): Lease<T> | undefined {
    return this.#inFlight.byToken(token);
  }

  /**
   * Ends a delivery successfully. `now` is the current clock time when the caller has just read
   * it (pumps do, for their duration metric): clock reads are not free, and this saves one.
   */
  ack(lease: Lease<T>, now: number = this.options.clock.now()): Result<void> {
    const item = this.#inFlight.take(lease, now);
    if (item === undefined) return inactiveLease(lease);
    this.metrics.acked.value++;
    this.#window?.journal.removed(item);
    this.#forget(item);
    this.#emit("acked", item, lease.attempt);
    return ok();
  }

  /** Ends a delivery as failed: requeue (default) until `maxRetries`, then poison; `requeue: false` poisons at once. */
  fail(lease: Lease<T>, error: SluiceError, options: FailOptions = {}): Result<void> {
    const item = this.#inFlight.live(lease);
    if (item === undefined) return inactiveLease(lease);
    const { requeue = true, stall = false, suspect = false } = options;
    const countAttempt = options.countAttempt !== false && !suspect;
    this.#inFlight.end(lease);
    item.lastError = error;
    item.suspect = suspect;
    if (countAttempt) {
      recordFailure(item, lease.attempt, error, this.options.clock.now());
      if (stall) item.stalls++;
      else item.failures++;
      this.metrics.failed.value++;
    } else if (!suspect) {
      item.attempts--; // not a delivery that counts: the next one has the same number
    }
    this.#emit("failed", item, lease.attempt, error);
    const exhausted = !requeue ? "rejected" : countAttempt ? exhaustedBudget(item, this.options) : undefined;
    if (exhausted !== undefined) this.#toPoison(item, error, exhausted);
    else this.#requeue(item, suspect ? 0 : (options.delayMs ?? requeueDelayFor(this.options, item.attempts)));
    return ok();
  }

  /** Extends a live lease's deadline by `leaseMs` from now. */
  heartbeat(lease: Lease<T>): Result<void> {
    const item = this.#inFlight.live(lease);
    if (item === undefined) return inactiveLease(lease);
    this.#inFlight.extend(lease, this.options.clock.now() + this.options.leaseMs);
    this.#emit("heartbeat", item, lease.attempt);
    return ok();
  }

  /** Ends a delivery by sending the item straight to the poison queue. */
  moveToPoison(lease: Lease<T>, error: SluiceError): Result<void> {
    const item = this.#inFlight.live(lease);
    if (item === undefined) return inactiveLease(lease);
    this.#inFlight.end(lease);
    recordFailure(item, lease.attempt, error, this.options.clock.now());
    this.#toPoison(item, error, "rejected");
    return ok();
  }

  /** Counts and levels. */
  stats(): QueueStats {
    // The metric cells are the counters: one increment per event, one source of truth.
    const m = this.metrics;
    return {
      pending: this.#ready.length + this.#delayed.size + (this.#window?.backlog ?? 0),
      active: this.#inFlight.size,
      poisoned: this.poison.size,
      enqueued: m.enqueued.value,
      acked: m.acked.value,
      failed: m.failed.value,
      requeued: m.requeued.value,
      expired: m.expired.value,
      poisonedTotal: m.poisoned.value,
      backpressure: this.#backpressure.active,
      capacity: this.options.capacity,
      held: this.#held,
      stored: this.#window?.backlog ?? 0,
    };
  }

  /**
   * Changes limits and timings live, keeping every item and lease (the control plane applies a
   * changed queue this way): `capacity`, `fullMode`, `maxBytes`, watermarks, `leaseMs` and
   * `heartbeatMs` (for leases handed out from now on), `maxRetries`, `maxStalls`, `requeueDelayMs`.
   * A lower `capacity` or `maxBytes` drops nothing: producers wait (or get `queue.full`) until
   * enough is acked. Options not given take their defaults, as in `create`; `name`, `role`,
   * `clock`, `poisonQueueName` and `sweepMs` keep their values.
   * A bad option changes nothing and answers `validation`.
   *
   * @example
   * ```ts
   * queue.reconfigure({ capacity: 100, leaseMs: 10_000 }); // ok(); 900 held items stay, producers wait
   * ```
   */
  reconfigure(options: SafeTaskQueueOptions): Result<void> {
    const resolved = liveOptions(this.options, options);
    if (!resolved.ok) return resolved;
    const next = resolved.value;
    this.options = next;
    this.#bytes.resize(next.maxBytes);
    this.#backpressure.retune(next.highWatermark, next.lowWatermark, this.#held);
    // More room: wake producers waiting for it (each re-checks and waits again if still full).
    for (let room = next.capacity - this.#held; room > 0 && this.#roomWaiters.size > 0; room--) this.#roomWaiters.serve(ok());
    return ok();
  }

  /**
   * Refuses new publishes with `queue.closed` and `reason` while leases, acks and fails go on
   * (a queue removed from the configuration drains this way); `undefined` opens it again.
   *
   * @example
   * ```ts
   * queue.seal("queue 'jobs' was removed from the configuration");
   * ```
   */
  seal(reason: string | undefined): void {
    this.#sealed = reason;
    if (reason !== undefined) this.#roomWaiters.failAll(err("queue.closed", reason));
  }

  /** Why publishes are refused now (`seal`), or undefined. */
  get sealed(): string | undefined {
    return this.#sealed;
  }

  /**
   * Stops new enqueues and leases, waits up to `deadlineMs` for in-flight leases to end, then puts
   * the ones still running back (attempt not counted). `canceled` if `signal` aborts first.
   */
  async drain(options: { deadlineMs: number; signal?: AbortSignal }): Promise<Result<DrainReport>> {
    if (this.#state === "open") this.#state = "draining";
    this.#wakeAll(err("queue.closed", `queue '${this.name}' is draining`));
    if (this.#inFlight.size > 0) {
      const idle = await idleOrDeadline(this.#idleWaiters, this.options.clock, options.deadlineMs, options.signal);
      if (!idle.ok) return idle;
    }
    const requeuedInFlight = putBackDrained(this.#inFlight.leases(), (lease, error, options) => this.fail(lease, error, options));
    for (const item of this.#delayed.takeAll()) this.#ready.push(item);
    this.#emit("drained");
    return ok({ pending: this.#ready.length + (this.#window?.backlog ?? 0), requeuedInFlight, poisoned: this.poison.size });
  }

  /** Closes the queue: waiting `lease`/`enqueue` calls end with `queue.closed`. Live leases can still be acked or failed. */
  close(): void {
    this.#state = "closed";
    this.#wakeAll(err("queue.closed", `queue '${this.name}' is closed`));
    this.#inFlight.stop();
    for (const item of this.#delayed.takeAll()) this.#ready.push(item);
  }

  /** True once `close()` ran. */
  get closed(): boolean {
    return this.#state === "closed";
  }

  // ---- internals ----

  #start(item: QueueItem<T>, now: number = this.options.clock.now()): Lease<T> {
    const attempt = ++item.attempts;
    const token = this.#inFlight.acquire(attempt, now + this.options.leaseMs);
    const suspect = item.suspect;
    const lease = leaseAt(item, attempt, token, now, suspect, this.options);
    if (suspect) item.suspect = false;
    this.#inFlight.attach(item, lease);
    this.#window?.journal.changed(item, true, 0);
    this.metrics.deliveryAttempts.value++;
    this.#emit("leased", item, attempt);
    return lease;
  }

  /**
   * `enqueuedAt` for items added in the same synchronous run (a decoded batch of frames, a
   * producer's burst) share one clock read: a read costs 35–100 ns on a VM without a fast clock
   * source, as much as the rest of an enqueue. Only this informational timestamp is shared;
   * lease deadlines always read the clock.
   */
  #enqueueStamp(): number {
    if (this.#stamp === undefined) {
      this.#stamp = this.options.clock.now();
      queueMicrotask(this.#clearStamp);
    }
    return this.#stamp;
  }

  readonly #clearStamp = (): void => {
    this.#stamp = undefined;
  };

  /** A lease ran out: that is a stall (`maxStalls`), recorded as `lease.expired`. */
  #expire(item: QueueItem<T>, lease: Lease<T>): void {
    const error = sluiceError("lease.expired", `lease of item ${item.sequenceId} expired after ${this.options.leaseMs} ms`);
    recordStall(item, lease.attempt, error, this.options.clock.now());
    this.metrics.expired.value++;
    this.#emit("expired", item, lease.attempt, error);
    const exhausted = exhaustedBudget(item, this.options);
    if (exhausted !== undefined) this.#toPoison(item, error, exhausted);
    else this.#requeue(item, requeueDelayFor(this.options, item.attempts));
  }

  #requeue(item: QueueItem<T>, delayMs: number): void {
    this.metrics.requeued.value++;
    this.#emit("requeued", item, item.attempts);
    const immediate = delayMs <= 0 || this.#state === "closed";
    this.#window?.journal.changed(item, false, immediate ? 0 : this.options.clock.now() + delayMs);
    if (immediate) return this.#deliver(item);
    this.#delayed.add(item, delayMs);
  }

  /** An item paged in from the store: ready now, or after its requeue delay. */
  #arrive(item: QueueItem<T>, notBefore: number): void {
    if (item.key !== undefined) this.#keys.set(item.key, item.sequenceId);
    const wait = notBefore - this.options.clock.now();
    if (wait > 0 && this.#state !== "closed") this.#delayed.add(item, wait);
    else this.#deliver(item);
  }

  /** Hands an item to the oldest waiting consumer, or appends it to the ready line. */
  #deliver(item: QueueItem<T>): void {
    if (this.#state === "open") this.#ready.offer(item, this.#startItem);
    else this.#ready.push(item);
  }

  #putBack(item: QueueItem<T>): void {
    this.#held++;
    if (item.key !== undefined) this.#keys.set(item.key, item.sequenceId);
    this.#backpressure.update(this.#held);
    if (this.#window === undefined) {
      this.#bytes.take(item);
      this.#deliver(item);
    } else if (this.#window.replayed(item)) this.#deliver(item);
  }

  #toPoison(item: QueueItem<T>, error: SluiceError, exhausted: PoisonExhausted): void {
    this.#forget(item);
    this.metrics.poisoned.value++;
    const entry = this.poison.add(item, error, this.options.clock.now(), exhausted);
    this.#window?.journal.poisoned(entry);
    this.#emit("poisoned", item, item.attempts, error);
  }

  /**
   * Reads the journal back: leases that were live when the process died become stalls (and
   * poison past `maxStalls`), then the counts, the poison queue and the first memory window.
   */
  #open(journal: QueueJournal<T>, resumeLease: QueueCreateOptions<T>["resumeLease"]): void {
    const live = new Map<number, ResumedLease>();
    const resumes = (item: QueueItem<T>) => {
      const resumed = resumeLease?.(item.sequenceId);
      if (resumed !== undefined) live.set(item.sequenceId, resumed);
      return resumed !== undefined;
    };
    const resumed = recoverCrashedLeases(journal, this.poison, this.options, resumes);
    const state = journal.load();
    for (const entry of state.poison) this.poison.add(entry.item, entry.error, entry.poisonedAt, entry.exhausted, entry.attempts);
    for (const [key, sequenceId] of state.keys) this.#keys.set(key, sequenceId);
    this.#sequence = state.lastSequence;
    this.#held = state.items;
    this.#backpressure.update(this.#held);
    let floor = 0;
    for (const item of resumed) {
      this.#resume(item, live.get(item.sequenceId)!);
      floor = Math.max(floor, item.sequenceId);
    }
    this.#window!.start(state.items - resumed.length, floor);
  }

  /** A delivery that outlived the previous queue object goes back in flight under its token. */
  #resume(item: QueueItem<T>, resumed: ResumedLease): void {
    if (item.key !== undefined) this.#keys.set(item.key, item.sequenceId);
    this.#bytes.take(item);
    const lease = leaseOf(item, { attempt: item.attempts, token: resumed.token, leasedAt: resumed.deadline - this.options.leaseMs, suspect: false }, this.options);
    this.#inFlight.adopt(item, lease);
  }

  /** The item leaves the queue proper (acked or poisoned): free its room, its bytes and its key. */
  #forget(item: QueueItem<T>): void {
    this.#held--;
    this.#bytes.give(item);
    this.#window?.removed();
    if (item.key !== undefined) this.#keys.delete(item.key);
    this.#backpressure.update(this.#held);
    if (this.#roomWaiters.size > 0) this.#roomWaiters.serve(ok());
  }

  readonly #startItem = (item: QueueItem<T>): Lease<T> => this.#start(item);

  #wakeAll(closed: Result<never>): void {
    this.#ready.failAll(closed);
    this.#roomWaiters.failAll(closed);
  }

  #emit(type: QueueEventType, item?: QueueItem<T>, attempt?: number, error?: SluiceError): void {
    if (!this.events.active) return;
    this.events.emit({ type, queue: this.name, at: this.options.clock.now(), sequenceId: item?.sequenceId, attempt, error });
  }
}

/**
 * `LeadershipCoordinator`: leases per scope kept by this node, as a pump on a `SafeTaskQueue`.
 *
 * @module
 */
import { type Clock, systemClock, type TimerHandle } from "../../result/clock.ts";
import { err, ok, type Result } from "../../result/result.ts";
import { ticker } from "../../result/ticker.ts";
import { withTimeout } from "../../result/with-timeout.ts";
import { MetricsRegistry } from "../../queue/metrics/registry.ts";
import { pump, type PumpContext, type PumpReport } from "../../queue/pump.ts";
import type { Lease } from "../../queue/lease.ts";
import { SafeTaskQueue } from "../../queue/safe-task-queue.ts";
import { leadershipPumpConfig, type LeadershipTimers, resolveLeadershipTimers } from "./config.ts";
import type { LeaderFence, LeadershipOptions, ScopeLeader } from "./coordinator-types.ts";

export type { LeaderFence, LeadershipOptions, ScopeLeader } from "./coordinator-types.ts";
import { type LeadershipEvent, LeadershipEvents, type LeadershipEventType, type LeadershipListener, LeadershipMetrics } from "./events.ts";
import { checkScope, type LeaderLease, type LeaseResult, type LeaseStore, storeUnavailable } from "./lease-store.ts";

interface ScopeState {
  readonly scope: string;
  /** Set while this node leads: until `validUntil` (its own clock) at the latest. */
  held: { readonly term: number; readonly expiresAtMs: number; readonly validUntil: number } | undefined;
  /** The last lease known for the scope (this node's or another's). */
  known: LeaderLease | undefined;
  deadline: TimerHandle | undefined;
}

/**
 * Keeps this node's leadership leases, one evaluation per scope per `evaluationIntervalMs`, as a
 * pump (DESIGN.md "Mesh roles"): a ticker on the injected clock enqueues one item per scope into
 * the `leadership.evaluate` queue (role "leadership"; the scope is the item's key, so a scope
 * with an item still pending, running or waiting to retry gets no second one: single-flight),
 * and `pump()` runs the evaluations (`concurrency` scopes at once). An evaluation:
 * - **leader** → `tryRenew`. Success: this node may act until (the clock read BEFORE the call) +
 *   ttlMs − renewMarginMs (`renewed`). `unavailable`/timeout: the item fails and is retried after
 *   `requeueDelayMs` (up to `maxRetries`, then poisoned) — meanwhile the node keeps acting only
 *   until its deadline, which is never extended by assumption; a timer on the clock steps it
 *   down (`lost`) the moment the deadline passes. Any other refusal: `lost` at once.
 * - **not leader** → `tryAcquire`: `elected` with a new term, or `observed` (another holder or
 *   term), or a retry as above.
 * A downstream that refuses this node's term (`LeaderFence.fenced`) makes it step down at once.
 * Events go to every subscriber synchronously (none lost); metrics: `LeadershipMetrics` plus the
 * pump's queue series (`queue="leadership.evaluate", role="leadership"`).
 *
 * @example
 * ```ts
 * const coordinator = LeadershipCoordinator.create({ nodeId: "node-a", store, scopes: ["bridge/jobs"], clock });
 * coordinator.subscribe((e) => { if (e.type === "elected") startBridge(coordinator.fence(e.scope)!); });
 * coordinator.start();
 * // …
 * await coordinator.stop(); // releases what it holds (`lost`, reason "stopped")
 * ```
 */
export class LeadershipCoordinator {
  readonly nodeId: string;
  readonly timers: LeadershipTimers;
  /** The evaluation queue (inspect its stats, poison and events). */
  readonly queue: SafeTaskQueue<string>;
  readonly #store: LeaseStore;
  readonly #clock: Clock;
  readonly #storeTimeoutMs: number;
  readonly #concurrency: number;
  readonly #poisonKept: number;
  readonly #events = new LeadershipEvents();
  readonly #metrics: LeadershipMetrics;
  readonly #log: (line: string) => void;
  readonly #states = new Map<string, ScopeState>();
  readonly #stop = new AbortController();
  #running: Promise<[Result<PumpReport>, void]> | undefined;
  #stopping: Promise<void> | undefined;

  static create(options: LeadershipOptions): LeadershipCoordinator {
    return new LeadershipCoordinator(options);
  }

  private constructor(options: LeadershipOptions) {
    if (typeof options.nodeId !== "string" || options.nodeId === "") throw new TypeError("leadership: nodeId must be a non-empty string");
    this.nodeId = options.nodeId;
    this.#store = options.store;
    this.timers = resolveLeadershipTimers(options);
    this.#clock = options.clock ?? systemClock;
    this.#storeTimeoutMs = options.storeTimeoutMs ?? this.timers.evaluationIntervalMs;
    const registry = options.metrics ?? new MetricsRegistry();
    const config = leadershipPumpConfig<string>(options.evaluate, { clock: this.#clock, metrics: registry });
    this.queue = SafeTaskQueue.create<string>(config.queue);
    this.#concurrency = config.concurrency;
    this.#poisonKept = config.poisonKept;
    this.#metrics = new LeadershipMetrics(registry);
    this.#log = options.log ?? (() => {});
    this.queue.events.subscribe((e) => {
      if (e.type === "poisoned") queueMicrotask(() => this.#trimPoison());
    });
    for (const scope of options.scopes ?? []) this.addScope(scope);
  }

  /** Starts the ticker and the pump; every scope is evaluated at once, then once per interval. */
  start(): void {
    if (this.#running !== undefined || this.#stop.signal.aborted) return;
    const signal = this.#stop.signal;
    const pumping = pump(this.queue, this.#handle, { concurrency: this.#concurrency, signal, name: "leadership.evaluate", role: "leadership" });
    const ticking = (async () => {
      this.#tick();
      for await (const _ of ticker(this.timers.evaluationIntervalMs, { signal, clock: this.#clock })) this.#tick();
    })();
    this.#running = Promise.all([pumping, ticking]);
  }

  /**
   * Resolves once no evaluation is pending or running — after `start()`, once every scope was
   * evaluated (the runtime waits for it, bounded, so a node that leads has started its bridges
   * before it says it listens).
   */
  idle(): Promise<void> {
    const busy = () => {
      const stats = this.queue.stats();
      return stats.pending + stats.active > 0;
    };
    if (!busy()) return Promise.resolve();
    return new Promise((resolve) => {
      const off = this.queue.events.subscribe(() => {
        if (busy()) return;
        off();
        resolve();
      });
    });
  }

  /** Adds a scope (evaluated from the next tick, or at once when running). */
  addScope(scope: string): void {
    checkScope(scope);
    if (this.#states.has(scope)) return;
    const state: ScopeState = { scope, held: undefined, known: undefined, deadline: undefined };
    this.#states.set(scope, state);
    if (this.#running !== undefined) this.#enqueue(state);
  }

  /** The scopes this node evaluates. */
  get scopes(): string[] {
    return [...this.#states.keys()];
  }

  /** True while this node may act as the leader of `scope` (checked on the clock, every call). */
  isLeader(scope: string): boolean {
    const held = this.#states.get(scope)?.held;
    return held !== undefined && this.#clock.now() < held.validUntil;
  }

  /** The fence of this node's current term in `scope`, or undefined when it does not lead it. */
  fence(scope: string): LeaderFence | undefined {
    const state = this.#states.get(scope);
    const held = state?.held;
    if (state === undefined || held === undefined) return undefined;
    const term = held.term;
    return {
      scope,
      term,
      isCurrent: () => state.held?.term === term && this.#clock.now() < state.held.validUntil,
      fenced: (reason) => {
        if (state.held?.term === term) this.#stepDown(state, `fenced: ${reason}`);
      },
    };
  }

  /** Every scope with the leader this node knows of (for `GET /v1/cluster/leaders`). */
  leaders(): ScopeLeader[] {
    const now = this.#clock.now();
    return [...this.#states.values()].map((state) => {
      const known = state.known;
      const leading = state.held !== undefined && now < state.held.validUntil;
      const live = leading || (known !== undefined && known.holder !== this.nodeId && known.expiresAtMs > now);
      return { scope: state.scope, leader: live ? known!.holder : null, term: known?.term ?? null, expiresAtMs: known?.expiresAtMs ?? null };
    });
  }

  /** Adds a listener for every leadership event of this node; returns the function that removes it. */
  subscribe(listener: LeadershipListener): () => void {
    return this.#events.subscribe(listener);
  }

  /**
   * Stops: the ticker and the pump end (a running evaluation is canceled), then every lease this
   * node holds is released (best effort, `storeTimeoutMs` each) after its `lost` event (reason
   * "stopped"), so another node may lead at once instead of after the ttl.
   */
  stop(): Promise<void> {
    this.#stopping ??= this.#shutdown();
    return this.#stopping;
  }

  async #shutdown(): Promise<void> {
    this.#stop.abort();
    await this.#running;
    this.queue.close();
    for (const state of this.#states.values()) {
      const held = state.held;
      if (held === undefined) continue;
      this.#stepDown(state, "stopped");
      const released = await this.#call(() => this.#store.release(state.scope, this.nodeId, held.term));
      if (!released.ok) this.#log(`sluice: leadership: could not release ${state.scope} (term ${held.term}): ${released.error.message}; it expires on its own`);
    }
  }

  #tick(): void {
    for (const state of this.#states.values()) this.#enqueue(state);
  }

  // One item per scope at a time: the scope is the item's key, so a held one is not added again.
  #enqueue(state: ScopeState): void {
    if (this.#stop.signal.aborted) return;
    const added = this.queue.tryEnqueue(state.scope, state.scope);
    if (!added.ok && added.error.code === "queue.full") this.#metrics.rejected.inc();
  }

  readonly #handle = async (lease: Lease<string>, context: PumpContext): Promise<Result<void>> => {
    const state = this.#states.get(lease.payload);
    return state === undefined ? ok() : this.#evaluate(state, context.signal);
  };

  async #evaluate(state: ScopeState, signal: AbortSignal): Promise<Result<void>> {
    const { scope } = state;
    const start = this.#clock.now();
    if (state.held !== undefined && start >= state.held.validUntil) this.#stepDown(state, "its lease was not renewed before its deadline (ttl - renewMargin)");
    const held = state.held;
    if (held !== undefined) {
      const renewed = await this.#call(() => this.#store.tryRenew(scope, this.nodeId, held.term, this.timers.ttlMs), signal);
      if (state.held?.term !== held.term) return ok(); // stepped down meanwhile (deadline, fence, stop)
      if (renewed.ok) return ok(this.#lead(state, renewed.value, start, "renewed"));
      if (renewed.reason === "unavailable") return err(renewed.error); // retried; the deadline stands
      this.#stepDown(state, `${renewed.reason}: ${renewed.error.message}`);
      return ok(this.#observe(state, renewed.current));
    }
    const acquired = await this.#call(() => this.#store.tryAcquire(scope, this.nodeId, this.timers.ttlMs), signal);
    if (acquired.ok) {
      // An answer that took longer than the margin allows cannot be acted on; it expires, or the
      // next evaluation takes the scope again (in a new term).
      if (this.#stop.signal.aborted || this.#clock.now() >= this.#deadlineFrom(start)) return ok();
      return ok(this.#lead(state, acquired.value, start, "elected"));
    }
    if (acquired.reason === "unavailable") return err(acquired.error);
    return ok(this.#observe(state, acquired.current));
  }

  // A store call under `storeTimeoutMs`; a timeout (or cancel) answers `unavailable`.
  async #call(call: () => Promise<LeaseResult>, signal?: AbortSignal): Promise<LeaseResult> {
    const answer = await withTimeout(() => call(), this.#storeTimeoutMs, { clock: this.#clock, signal });
    if (answer.ok || "reason" in answer) return answer as LeaseResult;
    return storeUnavailable(`leadership store: ${answer.error.message}`, answer.error);
  }

  #deadlineFrom(start: number): number {
    return start + this.timers.ttlMs - this.timers.renewMarginMs;
  }

  #lead(state: ScopeState, lease: LeaderLease, start: number, type: "elected" | "renewed"): void {
    const validUntil = this.#deadlineFrom(start);
    state.held = { term: lease.term, expiresAtMs: lease.expiresAtMs, validUntil };
    state.known = lease;
    if (state.deadline !== undefined) this.#clock.clearTimeout(state.deadline);
    state.deadline = this.#clock.setTimeout(() => {
      state.deadline = undefined;
      if (state.held !== undefined && this.#clock.now() >= state.held.validUntil) this.#stepDown(state, "its lease was not renewed before its deadline (ttl - renewMargin)");
    }, validUntil - this.#clock.now());
    if (type === "elected") this.#log(`sluice: leadership: ${this.nodeId} leads ${state.scope} (term ${lease.term})`);
    this.#emit(type, state, lease);
  }

  #stepDown(state: ScopeState, reason: string): void {
    const held = state.held;
    if (held === undefined) return;
    state.held = undefined;
    if (state.deadline !== undefined) this.#clock.clearTimeout(state.deadline);
    state.deadline = undefined;
    this.#log(`sluice: leadership: ${this.nodeId} no longer leads ${state.scope} (term ${held.term}): ${reason}`);
    this.#emit("lost", state, { scope: state.scope, holder: this.nodeId, term: held.term, expiresAtMs: held.expiresAtMs }, reason);
  }

  #observe(state: ScopeState, current: LeaderLease | undefined): void {
    const before = state.known;
    state.known = current;
    if (current === undefined || current.holder === this.nodeId) return;
    if (before?.holder !== current.holder || before.term !== current.term) this.#emit("observed", state, current);
  }

  #emit(type: LeadershipEventType, state: ScopeState, lease: LeaderLease, reason?: string): void {
    const event: LeadershipEvent = { type, scope: state.scope, holder: lease.holder, term: lease.term, expiresAtMs: lease.expiresAtMs, at: this.#clock.now(), ...(reason === undefined ? {} : { reason }) };
    this.#metrics.record(event, state.held !== undefined);
    this.#events.emit(event);
  }

  // Poisoned evaluations (store down through every retry) are kept for inspection, boundedly.
  #trimPoison(): void {
    const entries = this.queue.poison.list();
    const extra = entries.length - this.#poisonKept;
    if (extra > 0) this.queue.poison.purge(entries.slice(0, extra).map((e) => e.sequenceId));
  }
}

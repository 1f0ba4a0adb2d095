/**
 * `Broker`, the server's state behind the routes, with its session, options and shutdown types.
 *
 * @module
 */
import { type Clock, systemClock } from "../result/clock.ts";
import type { Result } from "../result/result.ts";
import { MetricsRegistry } from "../queue/metrics/registry.ts";
import { SafeTaskQueue } from "../queue/safe-task-queue.ts";
import type { Enqueued, RelayQueue } from "../queue/relay-queue.ts";
import { MemoryBudget } from "../queue/memory-budget.ts";
import { createFrameCodec, type FrameCodec } from "../wasm/mod.ts";
import { type SluiceConfig, storageOf } from "./config.ts";
import { type Dependency, queueOptionsFor } from "./broker-inputs.ts";
import { IdempotencyCache, type IdempotentOutcome } from "./idempotency.ts";
import { bytesCodec } from "../store/payload-codec.ts";
import type { SqlStore } from "../store/sql-store.ts";
import type { Bridge } from "../transport/bridge.ts";
import type { StartBridgesOptions } from "./bridges.ts";
import { FenceTerms } from "../mesh/leadership/fence-terms.ts";
import { SqlFenceTermStore } from "../mesh/leadership/sql-fence-terms.ts";
import type { LeadersView } from "./routes/cluster-leaders.ts";
import type { GossipView } from "./routes/mesh-gossip.ts";
import type { ControlPlane } from "./control-plane.ts";
import type { QueueConfig } from "./config.ts";

export type { LeadersView } from "./routes/cluster-leaders.ts";

export { type Dependency, queueOptionsFor } from "./broker-inputs.ts";

/**
 * What the broker needs from an open connection to shut it down.
 *
 * @example
 * ```ts
 * const unregister = broker.register({ goAway: () => session.goAway(), close: (code, reason) => ws.close(code, reason) });
 * ```
 */
export interface BrokerSession {
  /** GOAWAY (id 0); `peerUrls` names live peers the client may move to (none: no payload). */
  goAway(peerUrls?: readonly string[]): void;
  close(code: number, reason: string): void;
}

/**
 * Options of `new Broker`; `metrics`, `clock` and `codec` default to fresh/system ones.
 *
 * @example
 * ```ts
 * const broker = new Broker({ config, clock: new VirtualClock() });
 * ```
 */
export interface BrokerOptions {
  readonly config: SluiceConfig;
  readonly metrics?: MetricsRegistry;
  readonly clock?: Clock;
  readonly codec?: FrameCodec;
  /**
   * The durable store (runtime/lifecycle.ts opens it). Queues whose storage is "sqlite" journal
   * to it; without a store every queue is in memory.
   */
  readonly store?: SqlStore;
  /**
   * Queues opened outside (the runtime opens `JetStreamQueue`s, which need a NATS connection),
   * by name: used as they are instead of a `SafeTaskQueue` for those names. Give them `metrics`
   * (the same registry) so `/metrics` shows them. The broker drains and closes them at shutdown.
   */
  readonly queues?: ReadonlyMap<string, RelayQueue<Uint8Array>>;
  /** What `/readyz` also waits for (e.g. the NATS connections of JetStream queues). */
  readonly dependencies?: readonly Dependency[];
  /**
   * The highest leadership term per scope that the Relay service and the WebSocket route accept
   * (fencing). Default: kept in `store` when there is one (survives restarts), else in memory.
   */
  readonly fences?: FenceTerms;
}

/**
 * What `shutdown` reports.
 *
 * @example
 * ```ts
 * const report = await broker.shutdown({ drainMs: 5000 });
 * console.log(`${report.pending} pending, ${report.stored} of them stored`);
 * ```
 */
export interface ShutdownReport {
  /** Per queue: items left pending, in the poison queue, and in-flight leases put back. */
  readonly queues: Readonly<Record<string, { pending: number; poisoned: number; requeuedInFlight: number; stored: boolean }>>;
  readonly pending: number;
  readonly poisoned: number;
}

type State = "running" | "draining" | "stopped";

/**
 * WebSocket close code for "going away" (server shutdown).
 *
 * @example
 * ```ts
 * ws.close(CLOSE_GOING_AWAY, "server shutting down");
 * ```
 */
export const CLOSE_GOING_AWAY = 1001;

/**
 * The server's state behind the routes — one `RelayQueue` per configured queue (a
 * `SafeTaskQueue`, or one opened outside and given in `queues`), all reporting into ONE shared
 * `MetricsRegistry`; the frame codec; the idempotency cache; the open
 * WebSocket sessions; and the lifecycle (running → draining → stopped) that graceful shutdown
 * walks through.
 *
 * @example
 * ```ts
 * const broker = new Broker({ config });
 * const app = createApp(config, { broker, upgradeWebSocket });
 * // on SIGTERM:
 * const report = await broker.shutdown();
 * ```
 */
export class Broker {
  readonly metrics: MetricsRegistry;
  readonly clock: Clock;
  readonly codec: FrameCodec;
  readonly idempotency: IdempotencyCache;
  readonly store: SqlStore | undefined;
  /** What every queue's in-memory payloads and every producer backlog count against. */
  readonly memoryBudget: MemoryBudget;
  /** Highest leadership term accepted per scope: senders under a lower one are refused (fencing). */
  readonly fences: FenceTerms;
  readonly #sessions = new Set<BrokerSession>();
  readonly #beforeDrain: Array<() => Promise<void>> = [];
  #leadership: LeadersView | undefined;
  #gossip: GossipView | undefined;
  #gossipStarter: (() => Promise<void>) | undefined;
  #gossipStarting: Promise<void> | undefined;
  #control: ControlPlane | undefined;
  #config: SluiceConfig;
  /** Every queue served, by name; the control role adds, replaces and drops entries live. */
  readonly #queues = new Map<string, RelayQueue<Uint8Array>>();
  /** Queues removed from the configuration: still listed (read-only, draining) until dropped. */
  readonly #removed = new Set<string>();
  readonly #dependencies: Dependency[];
  #bridges: ReadonlyMap<string, Bridge> = new Map();
  #state: State = "running";
  #shutdown: Promise<ShutdownReport> | undefined;
  #goAwayPeers: readonly string[] = [];

  constructor(options: BrokerOptions) {
    this.#config = options.config;
    this.metrics = options.metrics ?? new MetricsRegistry();
    this.clock = options.clock ?? systemClock;
    this.codec = options.codec ?? createFrameCodec({ maxPayloadBytes: options.config.maxFrameBytes });
    this.store = options.store;
    this.fences = options.fences ?? new FenceTerms(options.store && new SqlFenceTermStore(options.store.driver));
    this.memoryBudget = new MemoryBudget(options.config.memoryBudgetBytes);
    const budget = this.memoryBudget;
    const limit = this.metrics.gauge("sluice_memory_budget_bytes", "Server-wide memory budget for client data").labels({});
    const used = this.metrics.gauge("sluice_memory_budget_used_bytes", "Bytes held in memory for clients (payloads, backlogs)").labels({});
    const connections = this.metrics.gauge("sluice_websocket_connections", "Open WebSocket connections (producers and consumers)").labels({});
    this.metrics.addCollector(() => {
      limit.set(budget.limitBytes);
      used.set(budget.used);
      connections.set(this.#sessions.size);
    });
    this.idempotency = new IdempotencyCache({ windowMs: options.config.idempotencyWindowMs, clock: this.clock, keys: options.store });
    this.#dependencies = [...(options.dependencies ?? [])];
    for (const [name, q] of Object.entries(options.config.queues)) {
      this.#queues.set(name, options.queues?.get(name) ?? this.createQueue(name, q));
    }
  }

  /** The configuration in force (the control role replaces it when it applies a version). */
  get config(): SluiceConfig {
    return this.#config;
  }

  /** Every queue served (removed ones too, until dropped), by name. */
  get queues(): ReadonlyMap<string, RelayQueue<Uint8Array>> {
    return this.#queues;
  }

  /**
   * A `SafeTaskQueue` for queue `name` as this broker makes them: journaled to `store` when its
   * storage is "sqlite" and there is a store, else in memory (JetStream queues are opened by the
   * runtime). Throws `RangeError` on bad options, like `SafeTaskQueue.create`.
   */
  createQueue(name: string, q: QueueConfig): RelayQueue<Uint8Array> {
    const stored = this.store !== undefined && storageOf(this.#config, q) === "sqlite";
    return SafeTaskQueue.create<Uint8Array>({
      ...queueOptionsFor(name, q),
      clock: this.clock,
      metrics: this.metrics,
      journal: stored ? this.store!.journal(name, bytesCodec) : undefined,
      memoryBudget: this.memoryBudget,
    });
  }

  /**
   * Live changes, for the control role (server/live-queues.ts): `setQueue` serves a queue under
   * `name` (new, or replacing one — the caller closes the old), `dropQueue` stops listing it,
   * `markRemoved` lists it as removed (read-only) or not, `setConfig` replaces the configuration.
   */
  setQueue(name: string, queue: RelayQueue<Uint8Array>): void {
    this.#queues.set(name, queue);
  }

  /** See `setQueue`. */
  dropQueue(name: string): void {
    this.#queues.delete(name);
    this.#removed.delete(name);
  }

  /** See `setQueue`. */
  markRemoved(name: string, removed: boolean): void {
    if (removed) this.#removed.add(name);
    else this.#removed.delete(name);
  }

  /** True for a queue removed from the configuration that is still listed (draining, or holding poison entries). */
  isRemoved(name: string): boolean {
    return this.#removed.has(name);
  }

  /** See `setQueue`. */
  setConfig(config: SluiceConfig): void {
    this.#config = config;
  }

  /** Adds something `/readyz` waits for (a NATS connection opened after start-up). */
  addDependency(dependency: Dependency): void {
    this.#dependencies.push(dependency);
  }

  /** The control role, once the runtime attached it (`GET`/`PUT /v1/control/config`). */
  get control(): ControlPlane | undefined {
    return this.#control;
  }

  /** Wires the control role in: `plane` answers the routes; `stop` runs at shutdown before the drain. */
  attachControl(plane: ControlPlane, stop: () => Promise<void>): void {
    this.#control = plane;
    this.#beforeDrain.push(stop);
  }

  /** The dependencies that are down now (empty when all are up): `/readyz` is 503 while any is. */
  get down(): string[] {
    return this.#dependencies.filter((d) => !d.up()).map((d) => d.name);
  }

  /** True while publishes are accepted and every dependency is up: what `/readyz` answers. */
  get ready(): boolean {
    return this.accepting && this.down.length === 0;
  }

  /**
   * Publishes once per `Idempotency-Key` within `idempotencyWindowMs` (HTTP POST, Relay `Send`):
   * for a queue on JetStream the key goes to the queue as `Nats-Msg-Id`, so the stream dedups it
   * across every node; for the others the broker's cache (and the SQL store's keys) does. `publish`
   * gets the key to pass to `enqueue`.
   *
   * @example
   * ```ts
   * const added = await broker.publishOnce(queue, key, (k) => queue.enqueue(bytes, { signal, key: k }));
   * ```
   */
  publishOnce(
    queue: RelayQueue<Uint8Array>,
    key: string | undefined,
    publish: (key: string | undefined) => Promise<Result<Enqueued>>,
  ): Promise<Result<IdempotentOutcome>> {
    if (key === undefined) return publish(undefined);
    if (storageOf(this.config, queue.name) === "jetstream") return publish(this.config.idempotencyWindowMs === 0 ? undefined : key);
    return this.idempotency.run(queue.name, key, () => publish(key));
  }

  /** True while new publishes are accepted. */
  get accepting(): boolean {
    return this.#state === "running";
  }

  /** Lifecycle state: "running", "draining" (shutdown began) or "stopped". */
  get state(): State {
    return this.#state;
  }

  /** Open WebSocket sessions. */
  get sessions(): number {
    return this.#sessions.size;
  }

  /** The queue called `name`, or undefined. */
  queue(name: string): RelayQueue<Uint8Array> | undefined {
    return this.#queues.get(name);
  }

  /** The running queue bridges, by queue name. */
  get bridges(): ReadonlyMap<string, Bridge> {
    return this.#bridges;
  }

  /**
   * Starts a bridge pump for every queue with a `bridge` config section (once; the runtime entry
   * calls this at boot, after the stored queues are loaded). Shutdown stops them before the drain.
   * The bridge code (and the Connect client it sends with) is loaded here, on first use: a
   * broker without bridges never loads it.
   */
  async startBridges(options: StartBridgesOptions = {}): Promise<ReadonlyMap<string, Bridge>> {
    if (this.#bridges.size > 0 || this.#state !== "running") return this.#bridges;
    const { startQueueBridges } = await import("./bridges.ts");
    if (this.#bridges.size === 0 && this.#state === "running") this.#bridges = startQueueBridges(this.queues, this.config, options);
    return this.#bridges;
  }

  /** This node's leadership (what `GET /v1/cluster/leaders` shows), once the runtime started it. */
  get leadership(): LeadersView | undefined {
    return this.#leadership;
  }

  /**
   * Wires leadership in (the runtime does, at boot): `view` answers `/v1/cluster/leaders`, and
   * `stop` runs at shutdown right after the queue bridges stop, before the drain (it stops the
   * leader-only bridges and releases the leases, so another node leads at once).
   */
  attachLeadership(view: LeadersView, stop: () => Promise<void>): void {
    this.#leadership = view;
    this.#beforeDrain.push(stop);
  }

  /** This node's gossip (`POST /v1/mesh/gossip`, `GET /v1/cluster/members`), once the runtime started it. */
  get gossip(): GossipView | undefined {
    return this.#gossip;
  }

  /**
   * Wires gossip in (the runtime does, once listening): shutdown announces `left` first (one
   * bounded push round) and names the live peers in every GOAWAY, and stops gossip after the drain.
   */
  attachGossip(gossip: GossipView): void {
    this.#gossip = gossip;
  }

  /**
   * Gossip on demand (a node without seeds, which sends nothing until a peer finds it): `start`
   * loads and attaches it (`attachGossip`) when the first exchange arrives (`wakeGossip`), so a
   * node nobody gossips with never loads the mesh code.
   */
  gossipOnDemand(start: () => Promise<void>): void {
    this.#gossipStarter = start;
  }

  /** This node's gossip, started now if it waits on demand (once; not after shutdown began). */
  async wakeGossip(): Promise<GossipView | undefined> {
    if (this.#gossip === undefined && this.#gossipStarter !== undefined && this.#state === "running") {
      this.#gossipStarting ??= this.#gossipStarter();
      await this.#gossipStarting;
    }
    return this.#gossip;
  }

  /** Tracks an open session until the returned function is called. Late joiners during shutdown get GOAWAY at once. */
  register(session: BrokerSession): () => void {
    this.#sessions.add(session);
    if (this.#state !== "running") session.goAway(this.#goAwayPeers);
    return () => this.#sessions.delete(session);
  }

  /**
   * Graceful shutdown, once (later calls get the same report): stop accepting (readyz 503,
   * publishes 503/GOAWAY), tell every session GOAWAY, stop the queue bridges, give in-flight leases up to `drainMs` in
   * total to be acked and requeue the rest, close sessions with 1001, close the queues, and
   * report what is left. Stored queues need no serialising: the store already holds it all
   * (the caller closes the store, which commits the last window).
   */
  shutdown(options: { drainMs?: number } = {}): Promise<ShutdownReport> {
    this.#shutdown ??= this.#runShutdown(options.drainMs ?? this.config.drainMs);
    return this.#shutdown;
  }

  async #runShutdown(drainMs: number): Promise<ShutdownReport> {
    this.#state = "draining";
    // A gossip start on demand that is under way attaches first, so it leaves and stops below.
    await this.#gossipStarting?.catch(() => {});
    // The live peers as known before leaving: clients are told where to go, the mesh that we left.
    this.#goAwayPeers = this.#gossip?.peerUrls() ?? [];
    const leaving = this.#gossip?.leave();
    for (const session of this.#sessions) session.goAway(this.#goAwayPeers);
    await leaving;
    // Bridges first: their in-flight leases go straight back to the queue (attempt not counted).
    // (bridges.ts stopBridges, without loading it when there are none)
    const stopping = [...this.#bridges.values()].map((b) => b.stop());
    for (const stopped of stopping) await stopped;
    for (const stop of this.#beforeDrain) await stop();
    const deadline = this.clock.now() + drainMs;
    const queues: Record<string, { pending: number; poisoned: number; requeuedInFlight: number; stored: boolean }> = {};
    // One budget for all queues: each drain gets what is left of it.
    for (const [name, queue] of this.queues) {
      const drained = await queue.drain({ deadlineMs: Math.max(0, deadline - this.clock.now()) });
      const stored = queue.stored;
      queues[name] = drained.ok ? { ...drained.value, stored } : { pending: queue.stats().pending, poisoned: queue.stats().poisoned, requeuedInFlight: 0, stored };
    }
    // Commit now, so the receipts (and PONGs) waiting for the last commit window go out before
    // the sockets close: a producer must not resend what was stored.
    this.store?.flush();
    for (const session of [...this.#sessions]) session.close(CLOSE_GOING_AWAY, "server shutting down");
    for (const queue of this.queues.values()) queue.close();
    await this.#gossip?.stop();
    this.#state = "stopped";
    let pending = 0;
    let poisoned = 0;
    for (const q of Object.values(queues)) {
      pending += q.pending;
      poisoned += q.poisoned;
    }
    return { queues, pending, poisoned };
  }
}

import type { Consumer, JetStreamClient, JetStreamManager, JsMsg } from "@nats-io/jetstream";
import { canceledError, type SluiceError, sluiceError } from "../../result/errors.ts";
import { err, ok, type Result } from "../../result/result.ts";
import { QueueEvents, type QueueEventType } from "../../queue/events.ts";
import { exhaustedBudget } from "../../queue/item.ts";
import type { Lease } from "../../queue/lease.ts";
import { QueueMetrics } from "../../queue/metrics/queue-metrics.ts";
import { MetricsRegistry } from "../../queue/metrics/registry.ts";
import { type ResolvedQueueOptions, resolveQueueOptions, type SafeTaskQueueOptions } from "../../queue/options.ts";
import type { DrainReport, FailOptions } from "../../queue/queue-api.ts";
import type { Enqueued, RelayQueue } from "../../queue/relay-queue.ts";
import type { QueueStats } from "../../queue/stats.ts";
import { inactiveLease, liveOptions, putBackDrained, requeueDelayFor } from "../../queue/lease-rules.ts";
import { idleOrDeadline, type WaiterHandle, Waiters } from "../../queue/waiters.ts";
import { AttemptRecords, chargeUnexplained, noAttempts } from "./attempt-records.ts";
import { type Delivery, fenceMarginMs, LiveDeliveries } from "./deliveries.ts";
import { DeliveryOutcomes } from "./delivery-outcomes.ts";
import { type JetStreamNames, jetStreamNames } from "./names.ts";
import { PoisonStream } from "./poison-stream.ts";
import { StreamPublisher } from "./publisher.ts";
import { HandOff } from "./hand-off.ts";
import { JetStreamIntake } from "./intake.ts";
import { PullDemand } from "./pull-demand.ts";
import { ensureQueueOnJetStream, updateQueueLimits } from "./setup.ts";

/**
 * Everything `JetStreamQueue.open` takes.
 *
 * @example
 * ```ts
 * await JetStreamQueue.open({ js: jetstream(nc), jsm: await jetstreamManager(nc), name: "jobs", leaseMs: 30_000 });
 * ```
 */
export interface JetStreamQueueOptions extends SafeTaskQueueOptions {
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  /** How long an `Idempotency-Key` (`Nats-Msg-Id`) is remembered. Default 5 minutes. */
  readonly idempotencyWindowMs?: number;
  readonly metrics?: MetricsRegistry;
  /** Whether the NATS connection is up now (producers get `unavailable` while it is not). */
  readonly connected?: () => boolean;
}

/**
 * A queue held by NATS JetStream and shared by every Sluice node pointed at it (DESIGN.md "One
 * queue interface, several backends"): a work-queue stream, one durable pull consumer, AckWait
 * = `leaseMs`, heartbeat = `working()`, fail = `nak(delay)`, poison = a copy into the poison
 * stream then `term()`. Sluice keeps the failure and stall counts (attempt-records.ts).
 *
 * Fencing: each delivery gets a fresh token; it is live until ended, until a redelivery of the
 * same message reaches this node, or until `leaseMs - fenceMarginMs(leaseMs)` after it arrived
 * (extended by heartbeats) — before JetStream can hand it to another node. A stale ack, nak or
 * heartbeat answers `lease.inactive` and sends nothing to the server.
 *
 * `attempt` is JetStream's delivery count: every redelivery counts, also one that ended through
 * no fault of the message; the poison budgets count only failures and stalls.
 *
 * @example
 * ```ts
 * const queue = await JetStreamQueue.open({ js, jsm, name: "jobs", leaseMs: 30_000 });
 * await queue.enqueue(new TextEncoder().encode("hello"));
 * const leased = await queue.lease();
 * if (leased.ok) queue.ack(leased.value);
 * ```
 */
export class JetStreamQueue implements RelayQueue<Uint8Array> {
  /** The options in force (replaced as a whole by `reconfigure`). */
  options: ResolvedQueueOptions;
  readonly name: string;
  readonly events = new QueueEvents();
  readonly metrics: QueueMetrics;
  readonly poison: PoisonStream;
  readonly stored = true;
  readonly commitPending = false;
  readonly #live = new LiveDeliveries();
  readonly #handOff = new HandOff();
  readonly #idle = new Waiters<void>();
  readonly #intake: JetStreamIntake;
  readonly #records: AttemptRecords;
  readonly #outcomes: DeliveryOutcomes;
  readonly #pulls: PullDemand;
  readonly #connected: () => boolean;
  #margin: number;
  readonly #jsm: JetStreamManager;
  readonly #names: JetStreamNames;
  #state: "open" | "draining" | "closed" = "open";
  #sweeper: unknown;
  #cached = { messages: 0 };

  /** Creates or joins the queue's stream, consumer, poison stream and attempt bucket. */
  static async open(options: JetStreamQueueOptions): Promise<JetStreamQueue> {
    const resolved = resolveQueueOptions(options);
    const names = jetStreamNames(resolved.name);
    const { kv, maxMsgs } = await ensureQueueOnJetStream(options.js, options.jsm, names, {
      capacity: resolved.capacity,
      maxBytes: resolved.maxBytes,
      leaseMs: resolved.leaseMs,
      duplicateWindowMs: options.idempotencyWindowMs ?? 300_000,
    });
    const consumer = await options.js.consumers.get(names.stream, names.consumer);
    const queue = new JetStreamQueue(options, resolved, consumer, new AttemptRecords(kv), maxMsgs);
    await queue.refresh();
    return queue;
  }

  private constructor(options: JetStreamQueueOptions, resolved: ResolvedQueueOptions, consumer: Consumer, records: AttemptRecords, streamMaxMsgs: number) {
    this.options = resolved;
    this.name = resolved.name;
    const names = jetStreamNames(this.name);
    this.#names = names;
    this.#jsm = options.jsm;
    this.#records = records;
    this.#connected = options.connected ?? (() => true);
    this.#margin = fenceMarginMs(resolved.leaseMs);
    this.poison = new PoisonStream(resolved.poisonQueueName, names, options.js, options.jsm);
    this.#intake = new JetStreamIntake({
      publisher: new StreamPublisher(options.js, this.name, names.subject),
      options: () => this.options,
      closedReason: () => (this.#state === "open" ? undefined : `queue '${this.name}' is ${this.#state}`),
      connected: this.#connected,
      messages: () => this.#cached.messages,
      streamMaxMsgs,
      // Counted once JetStream stored it: not a refusal, not a repeat of a held key.
      stored: (sequenceId) => {
        this.metrics.enqueued.value++;
        this.#emit("enqueued", undefined, undefined, sequenceId);
      },
    });
    const self = this;
    this.#outcomes = new DeliveryOutcomes({
      get options() {
        return self.options;
      },
      names, jsm: options.jsm, records, poison: this.poison, metrics: () => this.metrics,
      emit: (type, lease, error) => this.#emit(type, lease, error),
    });
    this.#pulls = new PullDemand(consumer, () => this.#handOff.demand, (msg) => void this.#arrive(msg), resolved.clock);
    this.metrics = new QueueMetrics(options.metrics ?? new MetricsRegistry(), { queue: this.name, role: resolved.role });
    this.metrics.registry.addCollector(() => {
      this.metrics.pending.set(this.stats().pending);
      this.metrics.activeLeases.set(this.#live.size);
      this.metrics.poisonDepth.set(this.poison.size);
    });
    this.#sweep();
  }

  /** Re-reads the stream's and consumer's counts and the poison depth (stats are otherwise up to `sweepMs` old). */
  async refresh(): Promise<void> {
    this.#cached = { messages: (await this.#jsm.streams.info(this.#names.stream)).state.messages };
    await this.poison.refresh();
  }

  // ---- publishing (intake.ts) ----

  enqueue(payload: Uint8Array, options: { signal?: AbortSignal; key?: string } = {}): Promise<Result<Enqueued>> {
    return this.#intake.enqueue(payload, options);
  }

  tryEnqueue(payload: Uint8Array, key?: string): Result<Enqueued> {
    return this.#intake.tryEnqueue(payload, key);
  }

  /**
   * Changes the queue's options live (the control role): the consumer's AckWait follows
   * `leaseMs`; a higher `capacity` / `maxBytes` raises the stream's limits; a lower one is kept
   * by Sluice's admission (producers wait or get `queue.full`) and the stream keeps every
   * message — nats-server would delete the oldest ones if its limit dropped below what it holds.
   * Leases in flight keep their deadlines. `unavailable` when NATS does not answer.
   *
   * @example
   * ```ts
   * await queue.reconfigure({ capacity: 100, leaseMs: 10_000 }); // ok()
   * ```
   */
  async reconfigure(options: SafeTaskQueueOptions): Promise<Result<void>> {
    const resolved = liveOptions(this.options, options);
    if (!resolved.ok) return resolved;
    const next = resolved.value;
    try {
      const { maxMsgs } = await updateQueueLimits(this.#jsm, this.#names, { capacity: next.capacity, maxBytes: next.maxBytes, leaseMs: next.leaseMs });
      this.#intake.streamMaxMsgs = maxMsgs;
    } catch (thrown) {
      return err("unavailable", `queue '${this.name}': cannot change its JetStream limits: ${thrown instanceof Error ? thrown.message : String(thrown)}`);
    }
    this.options = next;
    this.#margin = fenceMarginMs(next.leaseMs);
    this.#intake.roomChanged(); // waiting producers try again under the new capacity
    return ok();
  }

  /** Refuses publishes with `reason` (`queue.closed`) while deliveries go on; undefined reopens. */
  seal(reason: string | undefined): void {
    this.#intake.sealed = reason;
  }

  waitsForRoom(added: Result<unknown>): boolean {
    return this.#intake.waitsForRoom(added);
  }

  whenStored(added: Result<Enqueued>, answer: (result: Result<Enqueued>) => void): void {
    this.#intake.publisher.whenStored(added, answer);
  }

  afterCommit(done: (committed: Result<void>) => void): void {
    this.#intake.publisher.afterCommit(done);
  }

  // ---- leasing ----

  lease(options: { signal?: AbortSignal } = {}): Promise<Result<Lease<Uint8Array>>> {
    return new Promise((resolve) => this.leaseWith(resolve, options.signal));
  }

  leaseWith(onLease: (leased: Result<Lease<Uint8Array>>) => void, signal?: AbortSignal, _free?: boolean, want = 1): WaiterHandle | undefined {
    if (signal?.aborted) return void onLease(err(canceledError(signal)));
    const lease = this.tryLease();
    if (lease !== undefined) return void onLease(ok(lease));
    if (this.#state !== "open") return void onLease(err("queue.closed", `queue '${this.name}' is ${this.#state}`));
    const handle = this.#handOff.park(onLease, signal, want);
    this.#pulls.kick();
    return handle;
  }

  /** No suspects on this backend (a crash is charged as a stall): nothing to change. */
  nowFree(handle: WaiterHandle): WaiterHandle | undefined {
    return handle;
  }

  tryLease(now: number = this.options.clock.now()): Lease<Uint8Array> | undefined {
    if (this.#state !== "open") return undefined;
    return this.#handOff.take(now, this.#start);
  }

  leaseByToken(token: number): Lease<Uint8Array> | undefined {
    return this.#live.live(token, this.options.clock.now())?.lease;
  }

  // ---- ending a delivery ----

  ack(lease: Lease<Uint8Array>, now: number = this.options.clock.now()): Result<void> {
    const delivery = this.#live.live(lease.token, now);
    if (delivery === undefined) return inactiveLease(lease);
    this.#live.end(delivery);
    delivery.msg.ack();
    if (delivery.msg.info.deliveryCount > 1) void this.#records.forget(delivery.msg.seq).catch(() => {});
    this.metrics.acked.value++;
    this.#emit("acked", lease);
    this.#maybeIdle();
    return ok();
  }

  fail(lease: Lease<Uint8Array>, error: SluiceError, options: FailOptions = {}): Result<void> {
    const delivery = this.#live.live(lease.token, this.options.clock.now());
    if (delivery === undefined) return inactiveLease(lease);
    this.#live.end(delivery);
    const { requeue = true, stall = false, suspect = false } = options;
    const counted = options.countAttempt !== false && !suspect;
    const record = delivery.record;
    if (counted) {
      record.history.push({ attempt: lease.attempt, code: error.code, message: error.message, at: this.options.clock.now() });
      if (stall) record.stalls++;
      else record.failures++;
      this.metrics.failed.value++;
    } else record.neutral++;
    this.#emit("failed", lease, error);
    const exhausted = !requeue ? "rejected" : counted ? exhaustedBudget(record, this.options) : undefined;
    if (exhausted !== undefined) void this.#outcomes.toPoison(delivery, error, exhausted);
    else void this.#outcomes.handBack(delivery, suspect || !counted ? (options.delayMs ?? 0) : (options.delayMs ?? requeueDelayFor(this.options, lease.attempt)));
    this.#maybeIdle();
    return ok();
  }

  heartbeat(lease: Lease<Uint8Array>): Result<void> {
    const now = this.options.clock.now();
    const delivery = this.#live.live(lease.token, now);
    if (delivery === undefined) return inactiveLease(lease);
    delivery.msg.working();
    delivery.deadline = now + this.options.leaseMs - this.#margin;
    this.#emit("heartbeat", lease);
    return ok();
  }

  moveToPoison(lease: Lease<Uint8Array>, error: SluiceError): Result<void> {
    const delivery = this.#live.live(lease.token, this.options.clock.now());
    if (delivery === undefined) return inactiveLease(lease);
    this.#live.end(delivery);
    delivery.record.history.push({ attempt: lease.attempt, code: error.code, message: error.message, at: this.options.clock.now() });
    void this.#outcomes.toPoison(delivery, error, "rejected");
    this.#maybeIdle();
    return ok();
  }

  // ---- levels and lifecycle ----

  /**
   * Counts. `active` is the leases this node holds; `pending` is every other message in the
   * stream (ready, waiting out a nak delay, or held by another node: JetStream's ack-pending
   * count cannot tell a nak'd message from a held one). Levels are refreshed every `sweepMs`;
   * totals (enqueued, acked, …) are this node's.
   */
  stats(): QueueStats {
    const m = this.metrics;
    const active = this.#live.size;
    return {
      pending: Math.max(0, this.#cached.messages - active),
      active,
      poisoned: this.poison.size,
      enqueued: m.enqueued.value,
      acked: m.acked.value,
      failed: m.failed.value,
      requeued: m.requeued.value,
      expired: m.expired.value,
      poisonedTotal: m.poisoned.value,
      backpressure: false,
      capacity: this.options.capacity,
      held: this.#cached.messages,
      stored: Math.max(0, this.#cached.messages - active),
    };
  }

  async drain(options: { deadlineMs: number; signal?: AbortSignal }): Promise<Result<DrainReport>> {
    if (this.#state === "open") this.#state = "draining";
    this.#stopTaking(err("queue.closed", `queue '${this.name}' is draining`));
    if (this.#live.size > 0) {
      const idle = await idleOrDeadline(this.#idle, this.options.clock, options.deadlineMs, options.signal);
      if (!idle.ok) return idle;
    }
    const requeuedInFlight = putBackDrained(this.#live.all().map((d) => d.lease), (lease, error, options) => this.fail(lease, error, options));
    await new Promise<void>((settled) => this.afterCommit(() => settled()));
    await this.#outcomes.settled(); // the hand-backs' records and naks are on their way before the connection closes
    await this.refresh().catch(() => {});
    this.#emit("drained");
    return ok({ pending: this.stats().pending, requeuedInFlight, poisoned: this.poison.size });
  }

  close(): void {
    this.#state = "closed";
    this.#stopTaking(err("queue.closed", `queue '${this.name}' is closed`));
    this.options.clock.clearTimeout(this.#sweeper);
  }

  get closed(): boolean {
    return this.#state === "closed";
  }

  // ---- internals ----

  // A pulled message: read its record if it was delivered before, charge the stalls nobody
  // recorded, poison it if a budget ran out, else hand it to a waiting consumer (or hold it).
  async #arrive(msg: JsMsg): Promise<void> {
    const now = this.options.clock.now();
    const deliveryCount = msg.info.deliveryCount;
    let record = noAttempts();
    if (deliveryCount > 1) {
      const read = await this.#handOff.arriving(() => this.#records.read(msg.seq).catch(() => undefined));
      // Unreadable now: JetStream redelivers it later (that counts as a stall).
      if (read === undefined) return void msg.nak(this.options.sweepMs);
      record = read;
      chargeUnexplained(record, deliveryCount, now, this.options.leaseMs);
    }
    const delivery = this.#outcomes.delivery(msg, record, now, this.#margin);
    const lease = delivery.lease;
    const exhausted = record.poisonAs ?? exhaustedBudget(record, this.options);
    if (exhausted !== undefined) return void this.#outcomes.toPoison(delivery, lease.lastError ?? sluiceError("lease.expired", "stalled"), exhausted);
    if (this.#state !== "open") {
      record.neutral++;
      return void this.#outcomes.handBack(delivery, 0);
    }
    this.#handOff.offer(delivery, this.#start); // held when its taker gave up: the sweep hands it back if none comes
  }

  readonly #start = (delivery: Delivery): Lease<Uint8Array> => {
    this.#live.add(delivery);
    this.metrics.deliveryAttempts.value++;
    this.#emit("leased", delivery.lease);
    return delivery.lease;
  };

  // Every sweepMs: expire deliveries past their deadline, return held ones nobody took, refresh counts.
  #sweep(): void {
    const now = this.options.clock.now();
    for (const delivery of this.#live.sweep(now)) {
      this.metrics.expired.value++;
      this.#emit("expired", delivery.lease, sluiceError("lease.expired", `lease of item ${delivery.lease.sequenceId} expired after ${this.options.leaseMs} ms`));
    }
    for (const delivery of this.#handOff.stale(now, this.options.leaseMs / 2)) {
      delivery.record.neutral++;
      void this.#outcomes.handBack(delivery, 0);
    }
    this.#maybeIdle();
    if (!this.#connected() && this.#intake.publisher.inFlight > 0) {
      this.#intake.publisher.failPending(sluiceError("unavailable", `queue '${this.name}' cannot store new messages: the NATS connection dropped before JetStream answered`));
    }
    if (this.#state !== "closed") void this.refresh().catch(() => {});
    if (this.#state !== "closed") this.#sweeper = this.options.clock.setTimeout(() => this.#sweep(), this.options.sweepMs);
  }

  #stopTaking(closed: Result<never>): void {
    this.#pulls.stop();
    for (const delivery of this.#handOff.stop(closed)) {
      delivery.record.neutral++;
      void this.#outcomes.handBack(delivery, 0);
    }
  }

  #maybeIdle(): void {
    if (this.#live.size === 0) this.#idle.failAll(ok());
  }

  #emit(type: QueueEventType, lease?: Lease<Uint8Array>, error?: SluiceError, sequenceId = lease?.sequenceId): void {
    if (!this.events.active) return;
    this.events.emit({ type, queue: this.name, at: this.options.clock.now(), sequenceId, attempt: lease?.attempt, error });
  }
}

/**
 * `LiveQueues`: applies a configuration to a running broker — what the control role's apply
 * pump calls for each version — without dropping anything.
 *
 * @module
 */
import { type SluiceError, sluiceError } from "../result/errors.ts";
import { err, ok, type Result } from "../result/result.ts";
import { deadline } from "../result/delay.ts";
import { ticker } from "../result/ticker.ts";
import { pump } from "../queue/pump.ts";
import type { RelayQueue } from "../queue/relay-queue.ts";
import type { Lease } from "../queue/lease.ts";
import type { Clock } from "../result/clock.ts";
import type { Broker } from "./broker.ts";
import { queueOptionsFor } from "./broker-inputs.ts";
import { type QueueConfig, type SluiceConfig, type Storage, storageOf } from "./config.ts";

/**
 * Opens a queue this broker cannot make itself (storage "jetstream": the runtime's NATS
 * connection; src/runtime/control.ts).
 *
 * @example
 * ```ts
 * const open: OpenQueue = async (name, q) => ok(await JetStreamQueue.open({ ...queueOptionsFor(name, q), js, jsm }));
 * ```
 */
export type OpenQueue = (name: string, q: QueueConfig, config: SluiceConfig) => Promise<Result<RelayQueue<Uint8Array>>>;

/**
 * Options of `new LiveQueues`.
 *
 * @example
 * ```ts
 * new LiveQueues(broker, { openJetStream, log: console.log, drainMs: 10_000 });
 * ```
 */
export interface LiveQueuesOptions {
  readonly openJetStream?: OpenQueue;
  readonly log?: (line: string) => void;
  /** How long a removed queue's consumers get to drain it before what is left is poisoned. Default the config's `drainMs`. */
  readonly drainMs?: number;
  /** How often removed queues are checked for being done (drained, no poison entries). Default 1000. */
  readonly tidyMs?: number;
}

interface Retiring {
  readonly stop: AbortController;
  readonly storage: Storage;
  /** Its drain window is over: what is left (or replayed into it later) goes to its poison queue. */
  drained: boolean;
}

/**
 * Applies a whole configuration live (`apply`):
 * - a **new queue** is created (memory / SQLite by the broker, JetStream by `openJetStream`) and
 *   served at once;
 * - a **changed queue** is reconfigured in place (`RelayQueue.reconfigure`): its items and
 *   in-flight leases stay; a lower capacity drops nothing — producers wait;
 * - a **removed queue** refuses publishes (`queue.closed`) and keeps delivering to its consumers
 *   for `drainMs`; then whatever is left goes to its poison queue (never dropped), and it stays
 *   listed, read-only (`"removed": true`), until its poison entries are purged — then it is
 *   dropped. Added back meanwhile, it opens again with what it holds;
 * - `memoryBudgetBytes` is resized and `authTokens` take effect at once (`broker.setConfig`).
 * A queue's storage cannot change (checked before: `storageChanges`). Bridge settings of an
 * existing queue take effect at the node's next start. Every step is idempotent, so a failed
 * apply can be retried, and re-applying the last-known-good configuration restores it.
 *
 * @example
 * ```ts
 * const live = new LiveQueues(broker, { log: console.log });
 * live.start(signal); // tidies removed queues
 * await live.apply(nextConfig); // ok()
 * ```
 */
export class LiveQueues {
  readonly #broker: Broker;
  readonly #options: LiveQueuesOptions;
  readonly #retiring = new Map<string, Retiring>();

  constructor(broker: Broker, options: LiveQueuesOptions = {}) {
    this.#broker = broker;
    this.#options = options;
  }

  /** The storage of queue `name` as served now (removed queues included), or undefined. */
  storageOf(name: string): Storage | undefined {
    const retiring = this.#retiring.get(name);
    if (retiring !== undefined) return retiring.storage;
    return this.#broker.queues.has(name) ? storageOf(this.#broker.config, name) : undefined;
  }

  /**
   * Runs the tidy loop (drops removed queues that are done) until `signal` aborts, then stops the
   * drains of removed queues (shutdown: the broker's own drain takes over).
   */
  async start(signal: AbortSignal): Promise<void> {
    for await (const _ of ticker(this.#options.tidyMs ?? 1000, { signal, clock: this.#broker.clock })) this.tidy();
    for (const retiring of this.#retiring.values()) retiring.stop.abort();
  }

  /** Drops every removed queue that holds nothing and no poison entries (after its drain window). */
  tidy(): void {
    for (const [name] of this.#retiring) {
      const queue = this.#broker.queue(name);
      if (queue === undefined || !this.#broker.isRemoved(name)) continue;
      const s = queue.stats();
      if (!this.#retiring.get(name)!.drained || s.pending > 0 || s.active > 0 || queue.poison.size > 0) continue;
      this.#retiring.get(name)!.stop.abort();
      this.#retiring.delete(name);
      this.#broker.dropQueue(name);
      queue.close();
      this.#options.log?.(`sluice: control: removed queue ${name} is drained and its poison queue empty: no longer listed`);
    }
  }

  /** Applies `next` (see the class); the first failure ends the call (retry it: it is idempotent). */
  async apply(next: SluiceConfig): Promise<Result<void>> {
    const broker = this.#broker;
    const before = broker.config;
    for (const [name, q] of Object.entries(next.queues)) {
      const queue = broker.queue(name);
      const changed = queue === undefined ? await this.#create(name, q, next) : await this.#update(name, queue, before.queues[name], q);
      if (!changed.ok) return changed;
    }
    // The new config first, so a queue created above is judged by it (storage, bridge).
    broker.setConfig(withRemoved(next, before, broker.queues));
    for (const name of [...broker.queues.keys()]) {
      if (next.queues[name] === undefined && !broker.isRemoved(name)) this.#retire(name, before.queues[name]);
    }
    if (broker.memoryBudget.limitBytes !== next.memoryBudgetBytes) broker.memoryBudget.resize(next.memoryBudgetBytes);
    return ok();
  }

  async #create(name: string, q: QueueConfig, next: SluiceConfig): Promise<Result<void>> {
    const storage = storageOf(next, q);
    let queue: RelayQueue<Uint8Array>;
    if (storage === "jetstream") {
      if (this.#options.openJetStream === undefined) return err("unavailable", `queue '${name}': this node cannot open JetStream queues live`);
      const opened = await this.#options.openJetStream(name, q, next);
      if (!opened.ok) return opened;
      queue = opened.value;
    } else if (storage === "sqlite" && this.#broker.store === undefined) {
      return err("unavailable", `queue '${name}': storage "sqlite" needs the node's SQLite store, which it did not open at start-up (no SQLite queue then); restart the node to add SQLite queues`);
    } else {
      try {
        queue = this.#broker.createQueue(name, q);
      } catch (thrown) {
        return err("validation", `queue '${name}': ${thrown instanceof Error ? thrown.message : String(thrown)}`);
      }
    }
    this.#broker.setQueue(name, queue);
    this.#options.log?.(`sluice: control: queue ${name} added (storage ${storage})${q.bridge === undefined ? "" : "; its bridge starts at this node's next start"}`);
    return ok();
  }

  async #update(name: string, queue: RelayQueue<Uint8Array>, was: QueueConfig | undefined, q: QueueConfig): Promise<Result<void>> {
    if (this.#broker.isRemoved(name)) {
      this.#retiring.get(name)?.stop.abort();
      this.#retiring.delete(name);
      this.#broker.markRemoved(name, false);
      queue.seal?.(undefined);
      this.#options.log?.(`sluice: control: queue ${name} added back (it keeps what it holds)`);
    }
    if (JSON.stringify(was?.bridge) !== JSON.stringify(q.bridge)) this.#options.log?.(`sluice: control: queue ${name}: bridge settings take effect at this node's next start`);
    const options = queueOptionsFor(name, q);
    if (was !== undefined && JSON.stringify(queueOptionsFor(name, was)) === JSON.stringify(options)) return ok();
    if (queue.reconfigure === undefined) return err("unavailable", `queue '${name}' cannot be reconfigured live on this backend`);
    const done = await queue.reconfigure(options);
    if (!done.ok) return err(sluiceError(done.error.code, `queue '${name}': ${done.error.message}`));
    this.#options.log?.(`sluice: control: queue ${name} reconfigured (capacity ${q.capacity}, leaseMs ${q.leaseMs}, maxRetries ${q.maxRetries})`);
    return ok();
  }

  #retire(name: string, was: QueueConfig | undefined): void {
    const queue = this.#broker.queue(name);
    if (queue === undefined) return;
    const reason = `queue '${name}' was removed from the configuration`;
    queue.seal?.(reason);
    this.#broker.markRemoved(name, true);
    const retiring: Retiring = { stop: new AbortController(), storage: storageOf(this.#broker.config, was ?? name), drained: false };
    this.#retiring.set(name, retiring);
    this.#options.log?.(`sluice: control: queue ${name} removed: refusing publishes, draining for up to ${this.#drainMs()} ms`);
    void this.#drainThenPoison(name, queue, retiring);
  }

  // Consumers get `drainMs` to empty it; then a pump moves whatever it can lease to the poison
  // queue (also anything replayed into it later), until the queue is added back or dropped.
  async #drainThenPoison(name: string, queue: RelayQueue<Uint8Array>, retiring: Retiring): Promise<void> {
    const { stop } = retiring;
    const clock = this.#broker.clock;
    await deadline(whenEmpty(queue, clock, stop.signal), this.#drainMs(), { signal: stop.signal, clock });
    if (stop.signal.aborted) return;
    const left = queue.stats();
    if (left.pending + left.active > 0) this.#options.log?.(`sluice: control: removed queue ${name}: ${left.pending + left.active} message(s) left after the drain go to its poison queue`);
    const removed: SluiceError = sluiceError("queue.closed", `queue '${name}' was removed from the configuration before this message was delivered`);
    const poisonAll = (lease: Lease<Uint8Array>) => {
      queue.moveToPoison(lease, removed);
      return Promise.resolve(ok());
    };
    retiring.drained = true;
    await pump(queue, poisonAll, { concurrency: 1, signal: stop.signal, name: `control.retire.${name}`, role: "control" });
  }

  #drainMs(): number {
    return this.#options.drainMs ?? this.#broker.config.drainMs;
  }
}

// Resolves once the queue holds nothing pending or in flight, or on abort. Polled on the clock:
// an outside engine's levels change without queue events (JetStream refreshes its counts).
async function whenEmpty(queue: RelayQueue<Uint8Array>, clock: Clock, signal: AbortSignal): Promise<void> {
  const empty = () => {
    const s = queue.stats();
    return s.pending === 0 && s.active === 0;
  };
  if (empty()) return;
  for await (const _ of ticker(EMPTY_POLL_MS, { signal, clock })) if (empty()) return;
}

const EMPTY_POLL_MS = 100;

// The broker's config keeps listing the removed queues it still serves, so their storage and
// settings stay known (and an added-back queue is compared with them).
function withRemoved(next: SluiceConfig, before: SluiceConfig, served: ReadonlyMap<string, unknown>): SluiceConfig {
  const kept = Object.entries(before.queues).filter(([name]) => next.queues[name] === undefined && served.has(name));
  if (kept.length === 0) return next;
  return Object.freeze({ ...next, queues: Object.freeze({ ...Object.fromEntries(kept), ...next.queues }) });
}

/**
 * Leader-only queue bridges: scope `bridge/<queue>` per bridged queue; on every node only the
 * current leader of that scope runs the queue's bridge, fenced with its term.
 *
 * @module
 */
import type { LeadershipEvent } from "../mesh/leadership/events.ts";
import type { LeaderFence } from "../mesh/leadership/coordinator.ts";
import type { RelayQueue } from "../queue/relay-queue.ts";
import type { Bridge } from "../transport/bridge.ts";
import { type StartBridgesOptions, startQueueBridge } from "./bridges.ts";
import type { SluiceConfig } from "./config.ts";

/**
 * What `LeaderBridges` needs of the leadership coordinator.
 *
 * @example
 * ```ts
 * const leadership: BridgeLeadership = LeadershipCoordinator.create({ nodeId, store });
 * ```
 */
export interface BridgeLeadership {
  addScope(scope: string): void;
  fence(scope: string): LeaderFence | undefined;
  subscribe(listener: (event: LeadershipEvent) => void): () => void;
}

/**
 * The leadership scope of a queue's bridge.
 *
 * @example
 * ```ts
 * bridgeScope("jobs"); // "bridge/jobs"
 * ```
 */
export function bridgeScope(queue: string): string {
  return `bridge/${queue}`;
}

/**
 * Runs each bridged queue's bridge only while this node leads `bridge/<queue>`: on `elected` it
 * starts the bridge with the coordinator's fence for that term (FENCE on every socket, term on
 * every Relay call, nothing sent once the term is no longer current — see `bridge`); on `lost`
 * it stops it (in-flight deliveries go back to the queue uncounted; with a JetStream queue the
 * next leader gets them). A bridge of an older term still stopping does not delay the new one.
 *
 * @example
 * ```ts
 * const bridges = new LeaderBridges(broker.queues, config, coordinator, { log: console.log });
 * coordinator.start();
 * // at shutdown, before the drain:
 * await bridges.stop();
 * ```
 */
export class LeaderBridges {
  readonly #queues: ReadonlyMap<string, RelayQueue<Uint8Array>>;
  readonly #config: SluiceConfig;
  readonly #leadership: BridgeLeadership;
  readonly #options: StartBridgesOptions;
  readonly #running = new Map<string, Bridge>();
  readonly #stopping = new Set<Promise<unknown>>();
  readonly #unsubscribe: () => void;
  #stopped = false;

  constructor(queues: ReadonlyMap<string, RelayQueue<Uint8Array>>, config: SluiceConfig, leadership: BridgeLeadership, options: StartBridgesOptions = {}) {
    this.#queues = queues;
    this.#config = config;
    this.#leadership = leadership;
    this.#options = options;
    const scopes = new Map<string, string>();
    for (const name of queues.keys()) {
      if (config.queues[name]?.bridge === undefined) continue;
      scopes.set(bridgeScope(name), name);
      leadership.addScope(bridgeScope(name));
    }
    this.#unsubscribe = leadership.subscribe((event) => {
      const name = scopes.get(event.scope);
      if (name === undefined) return;
      if (event.type === "elected") this.#start(name, event.scope);
      else if (event.type === "lost") this.#stop(name);
    });
  }

  /** The bridges running now (this node leads their scope), by queue name. */
  get bridges(): ReadonlyMap<string, Bridge> {
    return this.#running;
  }

  /** Stops every bridge and waits for all of them (also those of older terms) to end. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#unsubscribe();
    for (const name of [...this.#running.keys()]) this.#stop(name);
    for (const stopping of [...this.#stopping]) await stopping;
  }

  #start(name: string, scope: string): void {
    const queue = this.#queues.get(name);
    const fence = this.#leadership.fence(scope);
    if (this.#stopped || queue === undefined || fence === undefined) return;
    this.#stop(name); // a bridge of an older term, if its `lost` was missed
    const started = startQueueBridge(queue, this.#config, this.#options, fence);
    if (started !== undefined) this.#running.set(name, started);
  }

  #stop(name: string): void {
    const running = this.#running.get(name);
    if (running === undefined) return;
    this.#running.delete(name);
    const stopping = running.stop();
    this.#stopping.add(stopping);
    void stopping.finally(() => this.#stopping.delete(stopping));
    this.#options.log?.(`sluice: bridge ${name} stopped: this node no longer leads ${bridgeScope(name)}`);
  }
}

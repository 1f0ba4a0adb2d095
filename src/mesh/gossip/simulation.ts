/**
 * A whole gossip cluster in one process on a `VirtualClock`: every node runs the same round and
 * exchange steps as the pumps (`exchange.ts`: `beginRound`, `requestFor`, `answer`, `absorb`,
 * `settle`, with the outbound pump's retry budget), and the network is an in-memory function
 * with message loss. Used by the CI test and `npm run bench:gossip`.
 *
 * Model of one round (all exchanges at the round's instant, nodes in random order): each live
 * node that does not miss its round sweeps and picks `fanout` targets; each exchange is up to
 * `maxRetries` attempts; an attempt fails when the request is lost, the target is down, the reply
 * is lost, or a slow party is too late. A slow node (Lifeguard's case) stalls like a heavy-tailed
 * pause — P(stall longer than m × the timeout) = `slowness / m` — so it misses a round with
 * probability `slowness`, answers a healthy sender too late with probability
 * `slowness / senderMultiplier`, and its own exchanges time out with probability
 * `slowness / ownMultiplier` (Lifeguard stretches the slow node's own timeout).
 *
 * @module
 */
import { err, ok, type Result } from "../../result/result.ts";
import { sluiceError } from "../../result/errors.ts";
import type { VirtualClock } from "../../result/virtual-clock.ts";
import type { GossipEnvelope } from "./envelope.ts";
import { absorb, answer, beginRound, type GossipPeer, type GossipTarget, requestFor, settle } from "./exchange.ts";
import { LocalHealth } from "./local-health.ts";
import { Membership, type MemberChange } from "./membership.ts";
import { mulberry32, shuffle } from "./sim-random.ts";

/**
 * Parameters of a simulated cluster.
 *
 * @example
 * ```ts
 * const options: SimulationOptions = { nodes: 1000, loss: 0.1, slowFraction: 0.01, seed: 7 };
 * ```
 */
export interface SimulationOptions {
  /** Nodes at the start, all knowing each other. Default 1000. */
  nodes?: number;
  fanout?: number;
  /** Probability that one message (request or reply) is lost. Default 0.1. */
  loss?: number;
  /** Share of nodes that are slow (rounded up). Default 0. */
  slowFraction?: number;
  /** How slow a slow node is (see the module comment). Default 0.5. */
  slowness?: number;
  intervalMs?: number;
  suspectAfterMs?: number;
  deadAfterMs?: number;
  /** Attempts per exchange (the outbound pump's `maxRetries`). Default 3. */
  maxRetries?: number;
  maxEnvelopeMembers?: number;
  /** False turns local health off (multiplier pinned at 1), for comparison. Default true. */
  lifeguard?: boolean;
  /** PRNG seed. Default 1. */
  seed?: number;
}

/**
 * One simulated node.
 *
 * @example
 * ```ts
 * const node: SimNode = sim.node("n17")!;
 * node.peer.membership.record("n3")?.status;
 * ```
 */
export interface SimNode {
  readonly id: string;
  readonly url: string;
  readonly peer: GossipPeer;
  readonly seeds: readonly string[];
  readonly slow: boolean;
  up: boolean;
  lastRoundAt: number | undefined;
}

/**
 * Counters of everything the simulation watches.
 *
 * @example
 * ```ts
 * sim.stats.falseDead; // 0: no live node was ever declared dead by anyone
 * ```
 */
export interface SimulationStats {
  exchanges: number;
  failedExchanges: number;
  /** Times a node's sweep moved a live member to suspect (false suspicions, later refuted). */
  falseSuspicions: number;
  /** …of which the suspecting node was itself slow. */
  falseSuspicionsBySlow: number;
  /** Times a node came to hold a live member dead, by its sweep or by gossip. Must stay 0. */
  falseDead: number;
  missedRounds: number;
}

/**
 * A simulated cluster. `step()` runs one round and advances the clock by `intervalMs`.
 *
 * @example
 * ```ts
 * const sim = new GossipSimulation(new VirtualClock(), { nodes: 1000, loss: 0.1 });
 * const joined = sim.join();
 * let rounds = 0;
 * while (sim.countSeeing(joined.id, ["alive"]) < sim.upCount() - 1) { await sim.step(); rounds++; }
 * ```
 */
export class GossipSimulation {
  readonly fanout: number;
  readonly loss: number;
  readonly slowness: number;
  readonly intervalMs: number;
  readonly maxRetries: number;
  readonly stats: SimulationStats = { exchanges: 0, failedExchanges: 0, falseSuspicions: 0, falseSuspicionsBySlow: 0, falseDead: 0, missedRounds: 0 };
  /** Round of the first sweep verdict about each node that was down at the time. */
  readonly verdicts = new Map<string, { suspect?: number; dead?: number }>();
  readonly random: () => number;
  readonly #options: SimulationOptions;
  readonly #nodes: SimNode[] = [];
  readonly #byUrl = new Map<string, SimNode>();
  readonly #byId = new Map<string, SimNode>();
  #round = 0;
  #nextId = 0;

  constructor(
    readonly clock: VirtualClock,
    options: SimulationOptions = {},
  ) {
    this.#options = options;
    this.fanout = options.fanout ?? 3;
    this.loss = options.loss ?? 0.1;
    this.slowness = options.slowness ?? 0.5;
    this.intervalMs = options.intervalMs ?? 1000;
    this.maxRetries = options.maxRetries ?? 3;
    this.random = mulberry32(options.seed ?? 1);
    const n = options.nodes ?? 1000;
    const slow = Math.ceil(n * (options.slowFraction ?? 0) - 1e-9);
    for (let i = 0; i < n; i++) this.#add([], i < slow);
    const records = this.#nodes.map((node) => node.peer.membership.self);
    for (const node of this.#nodes) node.peer.membership.restore(records);
  }

  /** Rounds run so far. */
  get round(): number {
    return this.#round;
  }

  /** Every node ever created (up or not). */
  get nodes(): readonly SimNode[] {
    return this.#nodes;
  }

  /** The node with this id. */
  node(id: string): SimNode | undefined {
    return this.#byId.get(id);
  }

  /** Nodes up now. */
  upCount(): number {
    let n = 0;
    for (const node of this.#nodes) if (node.up) n++;
    return n;
  }

  /** How many up nodes (other than `id` itself) hold `id` in one of `statuses`. */
  countSeeing(id: string, statuses: readonly string[]): number {
    let n = 0;
    for (const node of this.#nodes) {
      if (!node.up || node.id === id) continue;
      const status = node.peer.membership.record(id)?.status;
      if (status !== undefined && statuses.includes(status)) n++;
    }
    return n;
  }

  /** Starts a new node that knows one random up node as its seed; it gossips from the next round. */
  join(): SimNode {
    const up = this.#nodes.filter((n) => n.up);
    const seed = up[Math.floor(this.random() * up.length)]!;
    return this.#add([seed.url], false);
  }

  /** Crashes a random up, non-slow node (it stops answering and gossiping at once). */
  crash(): SimNode {
    const candidates = this.#nodes.filter((n) => n.up && !n.slow);
    const victim = candidates[Math.floor(this.random() * candidates.length)]!;
    victim.up = false;
    return victim;
  }

  /** Runs one round at the current instant, then advances the clock by `intervalMs`. */
  async step(): Promise<void> {
    this.#round++;
    const now = this.clock.now();
    const order = this.#nodes.filter((n) => n.up);
    shuffle(order, this.random);
    for (const node of order) {
      if (node.slow && this.random() < this.slowness) {
        this.stats.missedRounds++;
        continue;
      }
      const lateByMs = node.lastRoundAt === undefined ? 0 : now - node.lastRoundAt - this.intervalMs;
      node.lastRoundAt = now;
      const targets = beginRound(node.peer, { lateByMs, intervalMs: this.intervalMs, fanout: this.fanout, seeds: node.seeds, random: this.random });
      for (const target of targets) this.#exchange(node, target);
    }
    await this.clock.advance(this.intervalMs);
  }

  #exchange(from: SimNode, target: GossipTarget): void {
    this.stats.exchanges++;
    for (let attempt = 1; attempt <= this.maxRetries; attempt++) {
      const reply = this.#attempt(from, target);
      if (settle(from.peer, target, reply, attempt === this.maxRetries) !== "retry") {
        if (!reply.ok) this.stats.failedExchanges++;
        return;
      }
    }
  }

  #attempt(from: SimNode, target: GossipTarget): Result<GossipEnvelope> {
    const request = requestFor(from.peer, target, this.#round);
    const to = this.#byUrl.get(target.url);
    if (to === undefined || !to.up || this.random() < this.loss) return LOST;
    const reply = answer(to.peer, request, this.#round);
    absorb(to.peer, request);
    if (to.slow && this.random() < this.slowness / from.peer.health.multiplier) return LATE;
    if (this.random() < this.loss) return LOST;
    if (from.slow && this.random() < this.slowness / from.peer.health.multiplier) return LATE;
    return ok(reply);
  }

  #add(seeds: string[], slow: boolean): SimNode {
    const id = `n${this.#nextId++}`;
    const url = `sim://${id}`;
    const o = this.#options;
    const node: SimNode = {
      id,
      url,
      seeds,
      slow,
      up: true,
      lastRoundAt: undefined,
      peer: {
        health: new LocalHealth({ enabled: o.lifeguard ?? true }),
        membership: new Membership({
          id,
          url,
          clock: this.clock,
          suspectAfterMs: o.suspectAfterMs,
          deadAfterMs: o.deadAfterMs,
          maxEnvelopeMembers: o.maxEnvelopeMembers,
          onChange: (change) => this.#observe(node, change),
        }),
      },
    };
    this.#nodes.push(node);
    this.#byUrl.set(url, node);
    this.#byId.set(id, node);
    return node;
  }

  #observe(observer: SimNode, change: MemberChange): void {
    const subject = this.#byId.get(change.id);
    if (subject === undefined || change.cause === "self" || !observer.up) return;
    if (!subject.up) {
      if (change.cause !== "sweep" || (change.to !== "suspect" && change.to !== "dead")) return;
      const verdict = this.verdicts.get(change.id) ?? {};
      verdict[change.to] ??= this.#round;
      this.verdicts.set(change.id, verdict);
      return;
    }
    if (change.to === "dead") this.stats.falseDead++;
    if (change.to === "suspect" && change.cause === "sweep") {
      this.stats.falseSuspicions++;
      if (observer.slow) this.stats.falseSuspicionsBySlow++;
    }
  }

  /** Refutations so far by nodes that are up. */
  refutations(): number {
    let n = 0;
    for (const node of this.#nodes) if (node.up) n += node.peer.membership.refutations;
    return n;
  }
}

const LOST: Result<GossipEnvelope> = err(sluiceError("unavailable", "simulated message loss or a node that is down"));
const LATE: Result<GossipEnvelope> = err(sluiceError("timeout", "simulated slow node: answered after the timeout"));

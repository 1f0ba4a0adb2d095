/**
 * `GossipService`: one node's gossip — membership table, local health, the `gossip.outbound` and
 * `gossip.inbound` pumps and the round ticker — behind the calls the server mounts.
 *
 * @module
 */
import { type Clock, systemClock } from "../../result/clock.ts";
import { sluiceError } from "../../result/errors.ts";
import { err, ok, type Result } from "../../result/result.ts";
import { ticker } from "../../result/ticker.ts";
import { MetricsRegistry } from "../../queue/metrics/registry.ts";
import { type GossipOptions, type GossipTimers, resolveGossipTimers } from "./config.ts";
import { type GossipEnvelope, validateEnvelope } from "./envelope.ts";
import { answer, beginRound, chooseTargets, type GossipPeer } from "./exchange.ts";
import { InboundPump } from "./inbound.ts";
import { LocalHealth } from "./local-health.ts";
import type { QueueDepths } from "./member.ts";
import { Membership, type MemberView } from "./membership.ts";
import { GossipMetrics } from "./metrics.ts";
import { OutboundPump } from "./outbound.ts";
import { decodeGossipEnvelope, encodeGossipEnvelope } from "./wire.ts";

/**
 * The body of `GET /v1/cluster/members`: this node's id and every member, itself first.
 *
 * @example
 * ```ts
 * const body: ClusterMembers = gossip.members();
 * // { self: "n1", members: [{ id: "n1", url, status: "alive", incarnation, lastSeenAtMs, queues: { jobs: 3 } }, …] }
 * ```
 */
export interface ClusterMembers {
  readonly self: string;
  readonly members: readonly MemberView[];
}

/**
 * What `stop` reports about the inbound drain.
 *
 * @example
 * ```ts
 * const r = await gossip.stop();
 * if (r.ok) console.log(r.value.inboundMerged, r.value.inboundLeft);
 * ```
 */
export interface GossipStopReport {
  /** Envelopes merged during the drain. */
  readonly inboundMerged: number;
  /** Envelopes still queued when the drain deadline passed (0 normally). */
  readonly inboundLeft: number;
}

type State = "new" | "running" | "left" | "stopped";

/**
 * One node's gossip membership. Mounting it in a server:
 * - `POST /v1/mesh/gossip` (bearer auth as for every route): `receiveBytes(body)` → 200 with the
 *   returned bytes (`application/x-protobuf`); `validation` → 400, `queue.full` → 429,
 *   `unavailable` → 503. `receive(envelope)` is the same on decoded envelopes.
 * - `GET /v1/cluster/members`: `members()` as JSON.
 * - GOAWAY frames: `peerUrls()` (encode with `encodeGoAway`).
 * - Start: `start()`. SIGTERM: `await leave()` (announces `left`, one last round), then
 *   `await stop()` (ends the ticker and the outbound pump, drains the inbound pump).
 * A node with no peers and no seeds runs its ticker but sends nothing.
 *
 * @example
 * ```ts
 * const gossip = GossipService.create({ nodeId: "n1", url: "http://10.0.0.1:8787", seeds: ["http://10.0.0.2:8787"], send, metrics: registry });
 * gossip.start();
 * app.post("/v1/mesh/gossip", async (c) => reply(gossip.receiveBytes(new Uint8Array(await c.req.arrayBuffer()))));
 * app.get("/v1/cluster/members", (c) => c.json(gossip.members()));
 * process.on("SIGTERM", async () => { await gossip.leave(); await gossip.stop(); });
 * ```
 */
export class GossipService {
  readonly membership: Membership;
  readonly health: LocalHealth;
  readonly timers: GossipTimers;
  readonly metrics: GossipMetrics;
  readonly outbound: OutboundPump;
  readonly inbound: InboundPump;
  readonly clock: Clock;
  readonly #options: GossipOptions;
  readonly #peer: GossipPeer;
  readonly #random: () => number;
  readonly #seeds: readonly string[];
  readonly #stopTicker = new AbortController();
  #ticking: Promise<void> | undefined;
  #state: State = "new";
  #round = 0;
  #lastRoundAt: number | undefined;

  /** Builds a service (throws `TypeError`/`RangeError` on bad options); nothing runs until `start()`. */
  static create(options: GossipOptions): GossipService {
    return new GossipService(options);
  }

  private constructor(options: GossipOptions) {
    if (typeof options.send !== "function") throw new TypeError("gossip: send must be a function");
    this.#options = options;
    this.clock = options.clock ?? systemClock;
    this.timers = resolveGossipTimers(options);
    this.#random = options.random ?? Math.random;
    this.#seeds = [...(options.seeds ?? [])];
    this.membership = new Membership({
      id: options.nodeId,
      url: options.url,
      incarnation: options.incarnation,
      queues: this.#queueDepths(),
      clock: this.clock,
      suspectAfterMs: this.timers.suspectAfterMs,
      deadAfterMs: this.timers.deadAfterMs,
      forgetAfterMs: options.forgetAfterMs,
      maxEnvelopeMembers: options.maxEnvelopeMembers,
      retransmitMult: options.retransmitMult,
      onChange: options.onChange,
    });
    this.health = new LocalHealth(options.localHealth);
    this.#peer = { membership: this.membership, health: this.health };
    const registry = options.metrics ?? new MetricsRegistry();
    this.metrics = new GossipMetrics(registry, this.membership, this.health);
    const { send } = options;
    const common = { peer: this.#peer, clock: this.clock, metrics: this.metrics, registry };
    this.outbound = new OutboundPump({ ...common, send, timeoutMs: this.timers.timeoutMs, fanout: this.timers.fanout, settings: options.outbound });
    this.inbound = new InboundPump({ ...common, settings: options.inbound });
  }

  /** Rounds started so far. */
  get round(): number {
    return this.#round;
  }

  /** This node's id. */
  get id(): string {
    return this.membership.self.id;
  }

  /** Starts both pumps and the round ticker (idempotent; a stopped service stays stopped). */
  start(): void {
    if (this.#state !== "new") return;
    this.#state = "running";
    this.outbound.start();
    this.inbound.start();
    this.#ticking = this.#tick();
  }

  /**
   * The push-pull route: checks the envelope, queues its merge and answers at once with this
   * node's envelope for the sender. `validation` (400) for a bad envelope or one claiming this
   * node's id; `queue.full` (429) when the inbound pump is behind; `unavailable` (503) before
   * `start()` or after `stop()`.
   */
  receive(envelope: GossipEnvelope): Result<GossipEnvelope> {
    if (this.#state !== "running" && this.#state !== "left") return err(sluiceError("unavailable", "gossip is not running"));
    const checked = validateEnvelope(envelope);
    if (!checked.ok) return checked;
    if (envelope.fromId === this.id) return err(sluiceError("validation", `gossip envelope from this node's own id ${JSON.stringify(this.id)}`));
    const offered = this.inbound.offer(envelope);
    if (!offered.ok) return offered;
    return ok(answer(this.#peer, envelope, this.#round));
  }

  /** `receive` on protobuf bytes: the request body in, the response body out. */
  receiveBytes(body: Uint8Array): Result<Uint8Array> {
    const decoded = decodeGossipEnvelope(body);
    if (!decoded.ok) return decoded;
    const replied = this.receive(decoded.value);
    return replied.ok ? ok(encodeGossipEnvelope(replied.value)) : replied;
  }

  /** The `GET /v1/cluster/members` body. */
  members(): ClusterMembers {
    return { self: this.id, members: this.membership.list() };
  }

  /** Urls of the peers alive now (for GOAWAY). */
  peerUrls(): string[] {
    return this.membership.liveUrls();
  }

  /**
   * Graceful departure: stops the rounds, marks this node `left` at a raised incarnation and
   * pushes one last round to `fanout` live peers, waiting for it at most `deadlineMs` (default
   * 2 × intervalMs). Inbound exchanges keep being answered — with the `left` record — until `stop()`.
   */
  async leave(options: { deadlineMs?: number } = {}): Promise<Result<void>> {
    if (this.#state === "stopped") return err(sluiceError("unavailable", "gossip is stopped"));
    await this.#endTicker();
    this.membership.leave();
    if (this.#state !== "running") return ok();
    this.#state = "left";
    const targets = chooseTargets(this.membership, this.timers.fanout, this.#seeds, this.#random);
    this.outbound.enqueueRound(++this.#round, targets);
    await this.outbound.idle(options.deadlineMs ?? 2 * this.timers.intervalMs);
    return ok();
  }

  /**
   * Stops: no more rounds, outbound sends canceled, new inbound envelopes refused, and the inbound
   * pump drained — everything already accepted is merged (waiting at most `deadlineMs`, default
   * intervalMs).
   */
  async stop(options: { deadlineMs?: number } = {}): Promise<Result<GossipStopReport>> {
    if (this.#state === "stopped") return err(sluiceError("unavailable", "gossip is already stopped"));
    const started = this.#state !== "new";
    this.#state = "stopped";
    await this.#endTicker();
    await this.outbound.stop();
    const drained = started ? await this.inbound.drain(options.deadlineMs ?? this.timers.intervalMs) : { merged: 0, left: 0 };
    this.metrics.dispose();
    return ok({ inboundMerged: drained.merged, inboundLeft: drained.left });
  }

  /** This node's queue depths now; a throwing callback leaves the last ones in place. */
  #queueDepths(): QueueDepths | undefined {
    try {
      return this.#options.queueDepths?.();
    } catch {
      return undefined;
    }
  }

  async #endTicker(): Promise<void> {
    this.#stopTicker.abort();
    await this.#ticking;
  }

  async #tick(): Promise<void> {
    const { intervalMs, fanout } = this.timers;
    for await (const _ of ticker(intervalMs, { signal: this.#stopTicker.signal, clock: this.clock })) {
      const now = this.clock.now();
      const last = this.#lastRoundAt;
      // After a stall the ticker catches up in a burst: one round for it, not one per missed tick.
      if (last !== undefined && now - last < intervalMs / 2) continue;
      this.#lastRoundAt = now;
      const round = ++this.#round;
      this.metrics.rounds.inc();
      const targets = beginRound(this.#peer, {
        lateByMs: last === undefined ? 0 : now - last - intervalMs,
        intervalMs,
        fanout,
        seeds: this.#seeds,
        random: this.#random,
        queues: this.#queueDepths(),
      });
      this.outbound.enqueueRound(round, targets);
      this.inbound.trimPoison();
    }
  }
}

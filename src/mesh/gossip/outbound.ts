/**
 * The `gossip.outbound` pump: one queue item per target per round, sent with `concurrency` =
 * the fan-out, retried with a short delay, superseded by a newer round, poisoned (a suspicion
 * hint, never a verdict) after `maxRetries`.
 *
 * @module
 */
import { canceledError } from "../../result/errors.ts";
import { ok, type Result } from "../../result/result.ts";
import { withTimeout } from "../../result/with-timeout.ts";
import type { MetricsRegistry } from "../../queue/metrics/registry.ts";
import type { Lease } from "../../queue/lease.ts";
import { pump, type PumpReport } from "../../queue/pump.ts";
import { SafeTaskQueue } from "../../queue/safe-task-queue.ts";
import type { Clock } from "../../result/clock.ts";
import { gossipPumpConfig, type GossipPumpSettings, type SendEnvelope } from "./config.ts";
import { validateEnvelope } from "./envelope.ts";
import { type GossipPeer, type GossipTarget, requestFor, settle } from "./exchange.ts";
import type { GossipMetrics } from "./metrics.ts";
import { trimPoison, whenIdle } from "./pump-support.ts";

/**
 * One outbound exchange to do: the target and the round that asked for it.
 *
 * @example
 * ```ts
 * const item: OutboundItem = { url: "http://n2:8787", id: "n2", round: 17 };
 * ```
 */
export interface OutboundItem {
  readonly url: string;
  readonly id?: string;
  readonly round: number;
}

/**
 * What `new OutboundPump` needs.
 *
 * @example
 * ```ts
 * new OutboundPump({ peer, send, timeoutMs: 500, fanout: 3, clock, metrics, registry });
 * ```
 */
export interface OutboundPumpOptions {
  readonly peer: GossipPeer;
  readonly send: SendEnvelope;
  /** Time limit of one attempt, stretched by the local-health multiplier. */
  readonly timeoutMs: number;
  readonly fanout: number;
  readonly clock: Clock;
  readonly metrics: GossipMetrics;
  readonly registry?: MetricsRegistry;
  readonly settings?: GossipPumpSettings;
}

/**
 * The outbound pump. Each attempt builds a fresh envelope for its target (so a retry carries the
 * latest news), POSTs it through `send` under `withTimeout`, and on a reply merges it and acks.
 * A failure goes back to the queue (`requeueDelayMs` later) until the last attempt, which turns
 * into a suspicion hint about the target (`Membership.unreachable`) and a poison entry. An item
 * whose round is older than the newest round enqueued for the same url is dropped as superseded
 * (acked, counted in `sluice_pump_superseded_total`). A full queue skips that target this round.
 *
 * @example
 * ```ts
 * const outbound = new OutboundPump({ peer, send, timeoutMs: 500, fanout: 3, clock, metrics });
 * outbound.start();
 * outbound.enqueueRound(1, [{ url: "http://n2:8787", id: "n2" }]);
 * await outbound.stop();
 * ```
 */
export class OutboundPump {
  readonly queue: SafeTaskQueue<OutboundItem>;
  readonly concurrency: number;
  readonly #options: OutboundPumpOptions;
  readonly #poisonKept: number;
  readonly #newest = new Map<string, number>();
  readonly #stop = new AbortController();
  #running: Promise<Result<PumpReport>> | undefined;

  constructor(options: OutboundPumpOptions) {
    this.#options = options;
    const config = gossipPumpConfig<OutboundItem>("outbound", options.settings, { clock: options.clock, metrics: options.registry, fanout: options.fanout });
    this.queue = SafeTaskQueue.create<OutboundItem>(config.queue);
    this.concurrency = config.concurrency;
    this.#poisonKept = config.poisonKept;
  }

  /** Starts the workers (idempotent). */
  start(): void {
    this.#running ??= pump(this.queue, (lease, { signal }) => this.#handle(lease, signal), {
      concurrency: this.concurrency,
      signal: this.#stop.signal,
      name: "gossip.outbound",
      role: "gossip",
    });
  }

  /** Enqueues one item per target for `round`; returns how many the queue took. */
  enqueueRound(round: number, targets: readonly GossipTarget[]): number {
    let taken = 0;
    for (const target of targets) {
      this.#newest.set(target.url, round);
      const item: OutboundItem = target.id === undefined ? { url: target.url, round } : { url: target.url, id: target.id, round };
      if (this.queue.tryEnqueue(item).ok) taken++;
      else this.#options.metrics.rejectedOutbound.inc();
    }
    trimPoison(this.queue, this.#poisonKept);
    return taken;
  }

  /** Resolves once nothing is pending or in flight, or after `deadlineMs`. */
  idle(deadlineMs: number): Promise<boolean> {
    return whenIdle(this.queue, deadlineMs);
  }

  /** Cancels in-flight sends (they requeue uncounted), ends the workers and closes the queue. */
  async stop(): Promise<void> {
    this.#stop.abort();
    await this.#running;
    this.queue.close();
  }

  async #handle(lease: Lease<OutboundItem>, signal: AbortSignal): Promise<Result<unknown>> {
    const item = lease.payload;
    const { peer, send, timeoutMs, clock, metrics } = this.#options;
    if (item.round < (this.#newest.get(item.url) ?? item.round)) {
      metrics.superseded.inc();
      return ok();
    }
    const target: GossipTarget = item.id === undefined ? { url: item.url } : { url: item.url, id: item.id };
    const request = requestFor(peer, target, item.round);
    const sent = await withTimeout(async (s) => send(item.url, request, s), timeoutMs * peer.health.multiplier, { signal, clock });
    if (signal.aborted && !sent.ok) return { ok: false, error: canceledError(signal) };
    const reply = sent.ok ? validateEnvelope(sent.value) : sent;
    const outcome = settle(peer, target, reply, lease.isPoisoned);
    if (outcome === "retry") return reply;
    if (this.#newest.get(item.url) === item.round) this.#newest.delete(item.url);
    if (outcome === "merged") return ok();
    metrics.hints.inc();
    return reply;
  }
}

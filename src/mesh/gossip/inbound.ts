/**
 * The `gossip.inbound` pump: the route answers at once and leaves the merge to this bounded
 * queue; when it is full the route refuses (429) and the sender retries later.
 *
 * @module
 */
import { sluiceError } from "../../result/errors.ts";
import { err, ok, type Result } from "../../result/result.ts";
import type { Clock } from "../../result/clock.ts";
import type { MetricsRegistry } from "../../queue/metrics/registry.ts";
import { pump, type PumpReport } from "../../queue/pump.ts";
import { SafeTaskQueue } from "../../queue/safe-task-queue.ts";
import { gossipPumpConfig, type GossipPumpSettings } from "./config.ts";
import type { GossipEnvelope } from "./envelope.ts";
import { absorb, type GossipPeer } from "./exchange.ts";
import type { GossipMetrics } from "./metrics.ts";
import { trimPoison, whenIdle } from "./pump-support.ts";

/**
 * What `new InboundPump` needs.
 *
 * @example
 * ```ts
 * new InboundPump({ peer, clock, metrics, settings: { capacity: 64 } });
 * ```
 */
export interface InboundPumpOptions {
  readonly peer: GossipPeer;
  readonly clock: Clock;
  readonly metrics: GossipMetrics;
  readonly registry?: MetricsRegistry;
  readonly settings?: GossipPumpSettings;
}

/**
 * What `drain` reports: envelopes merged while draining, and those still queued at its deadline.
 *
 * @example
 * ```ts
 * const { merged, left } = await inbound.drain(1000);
 * ```
 */
export interface InboundDrainReport {
  readonly merged: number;
  readonly left: number;
}

/**
 * The inbound pump: `offer` queues a received envelope (`fullMode: "reject"`); its workers merge
 * them (`absorb`: merge + the sender counts as heard from). A merge cannot fail, so an item is
 * acked at once; the poison queue only sees items that stalled.
 *
 * @example
 * ```ts
 * const inbound = new InboundPump({ peer, clock, metrics });
 * inbound.start();
 * const offered = inbound.offer(envelope); // queue.full → the route answers 429
 * await inbound.drain(1000);
 * ```
 */
export class InboundPump {
  readonly queue: SafeTaskQueue<GossipEnvelope>;
  readonly concurrency: number;
  readonly #options: InboundPumpOptions;
  readonly #poisonKept: number;
  readonly #stop = new AbortController();
  #running: Promise<Result<PumpReport>> | undefined;
  #merged = 0;

  constructor(options: InboundPumpOptions) {
    this.#options = options;
    const config = gossipPumpConfig<GossipEnvelope>("inbound", options.settings, { clock: options.clock, metrics: options.registry });
    this.queue = SafeTaskQueue.create<GossipEnvelope>(config.queue);
    this.concurrency = config.concurrency;
    this.#poisonKept = config.poisonKept;
  }

  /** Envelopes merged so far. */
  get merged(): number {
    return this.#merged;
  }

  /** Starts the workers (idempotent). */
  start(): void {
    this.#running ??= pump(
      this.queue,
      async (lease) => {
        absorb(this.#options.peer, lease.payload);
        this.#merged++;
        return ok();
      },
      { concurrency: this.concurrency, signal: this.#stop.signal, name: "gossip.inbound", role: "gossip" },
    );
  }

  /** Queues an envelope for merging: `queue.full` (→ 429) when the pump is behind, `unavailable` once draining. */
  offer(envelope: GossipEnvelope): Result<void> {
    const added = this.queue.tryEnqueue(envelope);
    if (added.ok) return ok();
    if (added.error.code === "queue.full") {
      this.#options.metrics.rejectedInbound.inc();
      return err(sluiceError("queue.full", "gossip inbound queue is full; retry later", { metadata: { capacity: this.queue.options.capacity } }));
    }
    return err(sluiceError("unavailable", "gossip is shutting down"));
  }

  /** Drops the oldest poison entries beyond the kept number. */
  trimPoison(): void {
    trimPoison(this.queue, this.#poisonKept);
  }

  /**
   * Merges everything already accepted (waiting at most `deadlineMs`), then stops the workers and
   * closes the queue. The caller stops offering first.
   */
  async drain(deadlineMs: number): Promise<InboundDrainReport> {
    const before = this.#merged;
    await whenIdle(this.queue, deadlineMs);
    this.#stop.abort();
    await this.#running;
    this.queue.close();
    const s = this.queue.stats();
    return { merged: this.#merged - before, left: s.pending + s.active };
  }
}

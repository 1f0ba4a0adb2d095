/**
 * How a JetStream delivery begins and ends beyond ack: the lease a pulled message becomes, the
 * hand-back (record, then nak) and the poisoning (record, copy, term, delete).
 *
 * @module
 */
import type { JetStreamManager, JsMsg } from "@nats-io/jetstream";
import { type SluiceError, sluiceError } from "../../result/errors.ts";
import type { QueueEventType } from "../../queue/events.ts";
import type { PoisonExhausted } from "../../queue/journal.ts";
import type { Lease } from "../../queue/lease.ts";
import { leaseOf } from "../../queue/lease-rules.ts";
import type { QueueMetrics } from "../../queue/metrics/queue-metrics.ts";
import type { ResolvedQueueOptions } from "../../queue/options.ts";
import type { AttemptRecords, Attempts } from "./attempt-records.ts";
import { type Delivery, nextDeliveryToken } from "./deliveries.ts";
import type { JetStreamNames } from "./names.ts";
import type { PoisonStream } from "./poison-stream.ts";

/**
 * What `DeliveryOutcomes` works with: the queue's options, names, stores and reporting.
 *
 * @example
 * ```ts
 * new DeliveryOutcomes({ options, names, jsm, records, poison, metrics: () => metrics, emit });
 * ```
 */
export interface OutcomeHost {
  readonly options: ResolvedQueueOptions;
  readonly names: JetStreamNames;
  readonly jsm: JetStreamManager;
  readonly records: AttemptRecords;
  readonly poison: PoisonStream;
  metrics(): QueueMetrics;
  emit(type: QueueEventType, lease?: Lease<Uint8Array>, error?: SluiceError): void;
}

/**
 * Builds deliveries and ends them by hand-back or poison, for one `JetStreamQueue`.
 *
 * @example
 * ```ts
 * const delivery = outcomes.delivery(msg, record, clock.now(), marginMs);
 * await outcomes.handBack(delivery, 0);
 * ```
 */
export class DeliveryOutcomes {
  readonly #running = new Set<Promise<void>>();

  constructor(private readonly host: OutcomeHost) {}

  /** Resolves once every hand-back and poisoning started so far has finished. */
  async settled(): Promise<void> {
    while (this.#running.size > 0) await Promise.allSettled([...this.#running]);
  }

  // Keeps `work` in #running until it ends.
  #track(work: Promise<void>): Promise<void> {
    this.#running.add(work);
    return work.finally(() => this.#running.delete(work));
  }

  /** The delivery a pulled message becomes, with a fresh fencing token and its local deadline. */
  delivery(msg: JsMsg, record: Attempts, now: number, marginMs: number): Delivery {
    const { options } = this.host;
    const last = record.history.at(-1);
    const item = {
      payload: msg.data,
      sequenceId: msg.seq,
      enqueuedAt: msg.info.timestampNanos > 0 ? Math.floor(msg.info.timestampNanos / 1e6) : now,
      lastError: last === undefined ? undefined : sluiceError(last.code as never, last.message),
      failures: record.failures,
    };
    const lease = leaseOf(item, { attempt: msg.info.deliveryCount, token: nextDeliveryToken(), leasedAt: now, suspect: false }, options);
    return { lease, msg, record, deadline: now + options.leaseMs - marginMs };
  }

  /** Records how the delivery ended, then gives the message back to JetStream after `delayMs`. */
  handBack(delivery: Delivery, delayMs: number): Promise<void> {
    return this.#track(this.#handBack(delivery, delayMs));
  }

  async #handBack(delivery: Delivery, delayMs: number): Promise<void> {
    this.host.metrics().requeued.value++;
    this.host.emit("requeued", delivery.lease);
    try {
      await this.host.records.write(delivery.msg.seq, delivery.record);
    } catch {
      // NATS is unreachable: the nak would not arrive either; the redelivery counts it as a stall.
    }
    delivery.msg.nak(delayMs);
  }

  /** Copies the message with its record into the poison stream, then terminates and removes it here. */
  toPoison(delivery: Delivery, error: SluiceError, exhausted: PoisonExhausted): Promise<void> {
    return this.#track(this.#toPoison(delivery, error, exhausted));
  }

  async #toPoison(delivery: Delivery, error: SluiceError, exhausted: PoisonExhausted): Promise<void> {
    const { msg, record, lease } = delivery;
    record.poisonAs = exhausted;
    try {
      // The record first: if the node dies before term(), the redelivery is poisoned at once.
      await this.host.records.write(msg.seq, record);
      await this.host.poison.add(msg.data, {
        sequenceId: msg.seq,
        code: error.code,
        message: error.message,
        attempts: lease.attempt,
        exhausted,
        history: record.history,
        enqueuedAt: lease.enqueuedAt,
        poisonedAt: this.host.options.clock.now(),
      });
      msg.term(); // no reason: nats-server 2.9 ignores a term() that carries one (the reason is in the poison copy)
      // nats-server 2.9 keeps a terminated message in a work-queue stream (held, ack-pending,
      // forever): delete it, so the stream holds only live work.
      await this.host.jsm.streams.deleteMessage(this.host.names.stream, msg.seq, false);
      void this.host.records.forget(msg.seq).catch(() => {});
      this.host.metrics().poisoned.value++;
      this.host.emit("poisoned", lease, error);
    } catch {
      // Not stored as poison: JetStream redelivers it after AckWait and it is poisoned then.
    }
  }
}

/**
 * The deliveries one node holds from a JetStream queue, by fencing token, with the local lease
 * deadline that fences them.
 *
 * @module
 */
import type { JsMsg } from "@nats-io/jetstream";
import type { Lease } from "../../queue/lease.ts";
import type { Attempts } from "./attempt-records.ts";

/**
 * One delivery of one message to this node.
 *
 * @example
 * ```ts
 * const delivery: Delivery = { lease, msg, record, deadline: clock.now() + leaseMs - margin };
 * ```
 */
export interface Delivery {
  readonly lease: Lease<Uint8Array>;
  readonly msg: JsMsg;
  readonly record: Attempts;
  /** Local clock ms after which this delivery is dead here (before JetStream's AckWait runs out). */
  deadline: number;
}

/**
 * The local fence: a delivery is dead here this long before JetStream's AckWait ends, so an ack
 * racing the redelivery to another node is refused here (`lease.inactive`) instead of acking the
 * message the other node now holds. Covers the network delay of the delivery and of the ack.
 *
 * @example
 * ```ts
 * fenceMarginMs(30_000); // 1000
 * ```
 */
export function fenceMarginMs(leaseMs: number): number {
  return Math.min(1000, Math.max(20, Math.floor(leaseMs / 10)));
}

// Tokens of every JetStream queue in the process come from one counter: unique across queues.
let lastToken = 0;

/**
 * A fresh fencing token.
 *
 * @example
 * ```ts
 * const token = nextDeliveryToken();
 * ```
 */
export function nextDeliveryToken(): number {
  return ++lastToken;
}

/**
 * The live deliveries of one queue on this node.
 *
 * A delivery is live until it is ended here, its deadline passes, or a later delivery of the
 * same message arrives (JetStream redelivered it: this one's lease is gone).
 *
 * @example
 * ```ts
 * const live = new LiveDeliveries();
 * live.add(delivery);
 * const held = live.live(lease.token, clock.now()); // undefined once fenced
 * ```
 */
export class LiveDeliveries {
  readonly #byToken = new Map<number, Delivery>();
  readonly #bySeq = new Map<number, number>();

  get size(): number {
    return this.#byToken.size;
  }

  /** Holds `delivery`; an older delivery of the same message is dropped (superseded). */
  add(delivery: Delivery): void {
    const seq = delivery.msg.seq;
    const older = this.#bySeq.get(seq);
    if (older !== undefined) this.#byToken.delete(older);
    this.#byToken.set(delivery.lease.token, delivery);
    this.#bySeq.set(seq, delivery.lease.token);
  }

  /** The delivery with this token if it is still live at `now`. */
  live(token: number, now: number): Delivery | undefined {
    const delivery = this.#byToken.get(token);
    return delivery !== undefined && now <= delivery.deadline ? delivery : undefined;
  }

  /** The delivery with this token, live or past its deadline but not yet swept. */
  held(token: number): Delivery | undefined {
    return this.#byToken.get(token);
  }

  /** Ends a delivery here. */
  end(delivery: Delivery): void {
    const token = delivery.lease.token;
    if (this.#byToken.get(token) !== delivery) return;
    this.#byToken.delete(token);
    if (this.#bySeq.get(delivery.msg.seq) === token) this.#bySeq.delete(delivery.msg.seq);
  }

  /** Removes and returns the deliveries whose deadline passed. */
  sweep(now: number): Delivery[] {
    const expired: Delivery[] = [];
    for (const delivery of this.#byToken.values()) if (now > delivery.deadline) expired.push(delivery);
    for (const delivery of expired) this.end(delivery);
    return expired;
  }

  /** Every live delivery (for drain). */
  all(): Delivery[] {
    return [...this.#byToken.values()];
  }
}

/**
 * The publishing side of `JetStreamQueue`: admission (closed, sealed, NATS down, a capacity
 * lowered live), the publish itself (publisher.ts), and `enqueue`'s wait for room.
 *
 * @module
 */
import { err, ok, type Result } from "../../result/result.ts";
import { delay } from "../../result/delay.ts";
import type { ResolvedQueueOptions } from "../../queue/options.ts";
import type { Enqueued } from "../../queue/relay-queue.ts";
import { Waiters } from "../../queue/waiters.ts";
import type { StreamPublisher } from "./publisher.ts";

/**
 * What `JetStreamIntake` reads from its queue.
 *
 * @example
 * ```ts
 * new JetStreamIntake({ publisher, options: () => queue.options, closedReason: () => undefined, connected: () => true, messages: () => 0, streamMaxMsgs: 1024, stored: () => {} });
 * ```
 */
export interface IntakeHost {
  readonly publisher: StreamPublisher;
  options(): ResolvedQueueOptions;
  /** Why the queue takes no publishes now (draining, closed), if it does not. */
  closedReason(): string | undefined;
  connected(): boolean;
  /** Messages in the stream at the last count (at most `sweepMs` old). */
  messages(): number;
  /** The stream's `max_msgs` when the queue opened. */
  readonly streamMaxMsgs: number;
  /** Called once per message JetStream stored (not for a repeated key). */
  stored(sequenceId: number): void;
}

/**
 * Admission and publishing for one JetStream queue.
 *
 * @example
 * ```ts
 * const added = intake.tryEnqueue(bytes, "order-17");
 * intake.publisher.whenStored(added, reply);
 * ```
 */
export class JetStreamIntake {
  readonly publisher: StreamPublisher;
  /** The stream's `max_msgs`: above `capacity` after a live shrink (limits are only raised on NATS). */
  streamMaxMsgs: number;
  /** Why publishes are refused while deliveries go on (`seal`). */
  sealed: string | undefined;
  readonly #room = new Waiters<void>();

  constructor(private readonly host: IntakeHost) {
    this.publisher = host.publisher;
    this.streamMaxMsgs = host.streamMaxMsgs;
    this.publisher.onSettled = (stored) => {
      if (stored.ok && !stored.value.duplicate) host.stored(stored.value.sequenceId);
      this.#room.serve(ok());
    };
  }

  /** Adds a message, waiting for room when the queue's `fullMode` is "wait"; answers once stored. */
  async enqueue(payload: Uint8Array, options: { signal?: AbortSignal; key?: string } = {}): Promise<Result<Enqueued>> {
    for (;;) {
      const added = this.tryEnqueue(payload, options.key);
      const stored = added.ok ? await this.publisher.stored(added) : added;
      if (!this.waitsForRoom(stored)) return stored;
      // JetStream says "full" only by refusing: wait for a publish to settle here, or poll.
      const { sweepMs, clock } = this.host.options();
      const waited = this.publisher.inFlight > 0 && !added.ok
        ? await this.#room.wait(options.signal)
        : await delay(Math.max(10, sweepMs / 4), { signal: options.signal, clock });
      if (!waited.ok) return waited;
    }
  }

  /** Admission, then the publish; pass the result to `publisher.whenStored` for the answer. */
  tryEnqueue(payload: Uint8Array, key?: string): Result<Enqueued> {
    const { name, capacity } = this.host.options();
    const closed = this.host.closedReason() ?? this.sealed;
    if (closed !== undefined) return err("queue.closed", closed);
    if (!this.host.connected()) return err("unavailable", `queue '${name}' cannot store new messages: NATS is not connected`);
    // A capacity lowered live is Sluice's own bound (the stream keeps its higher max_msgs): as of
    // the last count plus the publishes this node has in flight.
    if (capacity < this.streamMaxMsgs && this.host.messages() + this.publisher.inFlight >= capacity) {
      return err("queue.full", `queue '${name}' is full (capacity ${capacity})`, { metadata: { capacity } });
    }
    return this.publisher.start(payload, key);
  }

  /** True when `added` is the `queue.full` that `enqueue()` waits out. */
  waitsForRoom(added: Result<unknown>): boolean {
    return !added.ok && added.error.code === "queue.full" && this.host.options().fullMode !== "reject";
  }

  /** Producers waiting for room try again (the capacity changed). */
  roomChanged(): void {
    this.#room.failAll(ok());
  }
}

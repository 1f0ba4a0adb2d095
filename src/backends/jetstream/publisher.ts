/**
 * Publishing into a queue's stream: admission now, the stored answer when JetStream's PubAck
 * comes back, answers in call order, and a bound on publishes in flight.
 *
 * @module
 */
import type { JetStreamClient, PubAck } from "@nats-io/jetstream";
import { type SluiceError, sluiceError } from "../../result/errors.ts";
import { err, ok, type Result } from "../../result/result.ts";
import type { Enqueued } from "../../queue/relay-queue.ts";

/** Publishes awaiting their PubAck at once, per queue and node (the rest wait or are refused)… */
const MAX_IN_FLIGHT = 16_384;
/** …and their payload bytes, so a burst of large messages stays bounded in memory. */
const MAX_IN_FLIGHT_BYTES = 32 * 1024 * 1024;

/**
 * Maps a failed JetStream publish to a Sluice error: a full stream (discard new) is
 * `queue.full`; no server, no responders, a timeout or a closed connection is `unavailable`.
 *
 * @example
 * ```ts
 * publishError("jobs", new Error("maximum messages exceeded")).code; // "queue.full"
 * ```
 */
export function publishError(queue: string, cause: unknown): SluiceError {
  const text = String((cause as Error)?.message ?? cause);
  if (/maximum (messages|bytes)( per subject)? exceeded|resource limits exceeded|insufficient resources/i.test(text)) {
    return sluiceError("queue.full", `queue '${queue}' is full (JetStream: ${text})`, { cause });
  }
  if (/message size exceeds maximum/i.test(text)) {
    return sluiceError("frame.too_large", `queue '${queue}': the message is larger than NATS accepts (max_payload): ${text}`, { cause });
  }
  return sluiceError("unavailable", `queue '${queue}' cannot store new messages: NATS JetStream: ${text}`, { cause });
}

/**
 * The publishing half of `JetStreamQueue`.
 *
 * @example
 * ```ts
 * const publisher = new StreamPublisher(js, "jobs", "sluice.q.jobs");
 * const added = publisher.start(bytes, "order-17");
 * publisher.whenStored(added, (stored) => reply(stored));
 * ```
 */
export class StreamPublisher {
  readonly #tickets = new WeakMap<Enqueued, Promise<Result<Enqueued>>>();
  /** Settles each publish still waiting for its PubAck (by `failPending`). */
  readonly #pending = new Set<(outcome: Result<Enqueued>) => void>();
  #chain: Promise<unknown> = Promise.resolve();
  #bytes = 0;
  #onSettled: (stored: Result<Enqueued>) => void = () => {};

  constructor(
    private readonly js: JetStreamClient,
    private readonly queue: string,
    private readonly subject: string,
  ) {}

  /** Publishes awaiting their PubAck. */
  get inFlight(): number {
    return this.#pending.size;
  }

  /** Called once per publish with its outcome (count it; room for a waiting producer). */
  set onSettled(callback: (stored: Result<Enqueued>) => void) {
    this.#onSettled = callback;
  }

  /** Starts a publish; `queue.full` at once when too many are in flight. */
  start(payload: Uint8Array, key?: string): Result<Enqueued> {
    if (this.#pending.size >= MAX_IN_FLIGHT || (this.#bytes > 0 && this.#bytes + payload.byteLength > MAX_IN_FLIGHT_BYTES)) {
      return err("queue.full", `queue '${this.queue}' has ${this.#pending.size} publishes (${this.#bytes} bytes) waiting for JetStream`);
    }
    this.#bytes += payload.byteLength;
    const placeholder: Enqueued = { sequenceId: 0, duplicate: false };
    const stored = new Promise<Result<Enqueued>>((resolve) => {
      let settled = false;
      const settle = (outcome: Result<Enqueued>) => {
        if (settled) return;
        settled = true;
        this.#pending.delete(settle);
        this.#bytes -= payload.byteLength;
        resolve(outcome);
        this.#onSettled(outcome);
      };
      this.#pending.add(settle);
      this.js.publish(this.subject, payload, key === undefined ? undefined : { msgID: key }).then(
        (ack: PubAck) => settle(ok({ sequenceId: ack.seq, duplicate: ack.duplicate })),
        (cause: unknown) => settle(err(publishError(this.queue, cause))),
      );
    });
    this.#tickets.set(placeholder, stored);
    return ok(placeholder);
  }

  /**
   * Answers every publish still waiting for its PubAck with `error` (the connection dropped:
   * the client would wait out its request timeout). Such a message may still have been stored;
   * a producer that resends it (with its Idempotency-Key, deduplicated) loses nothing.
   */
  failPending(error: SluiceError): void {
    for (const settle of [...this.#pending]) settle(err(error));
  }

  /** The stored outcome of `added` (a `start` result), awaited. */
  stored(added: Result<Enqueued>): Promise<Result<Enqueued>> {
    return (added.ok ? this.#tickets.get(added.value) : undefined) ?? Promise.resolve(added);
  }

  /** Answers `added` once stored, after every answer asked for before it. */
  whenStored(added: Result<Enqueued>, answer: (result: Result<Enqueued>) => void): void {
    const stored = this.stored(added);
    this.#chain = this.#chain.then(() => stored).then(answer).catch(() => {}); // one answer that throws must not stop the rest
  }

  /** Runs `done` once every publish started so far has its answer. */
  afterCommit(done: (committed: Result<void>) => void): void {
    this.#chain = this.#chain.then(() => done(ok()));
  }
}

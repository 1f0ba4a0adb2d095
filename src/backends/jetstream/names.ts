/**
 * How a Sluice queue maps onto JetStream names: its stream, subject, durable consumer, poison
 * stream and attempt-record bucket. Queue names allow `.`, which NATS subjects split on and
 * stream names forbid, so every name is an escaped form of the queue name.
 *
 * @module
 */

/**
 * The JetStream names of one queue.
 *
 * @example
 * ```ts
 * const names = jetStreamNames("jobs.high");
 * names.stream; // "SLUICE_jobs_2ehigh"
 * ```
 */
export interface JetStreamNames {
  /** Work-queue stream holding the queue's messages. */
  readonly stream: string;
  readonly subject: string;
  /** The durable pull consumer every node shares. */
  readonly consumer: string;
  /** Limits stream holding poisoned messages with their failure history. */
  readonly poisonStream: string;
  readonly poisonSubject: string;
  /** KV bucket of per-message failure and stall counts (JetStream counts every redelivery alike). */
  readonly attempts: string;
}

/**
 * The names for queue `queue` (any name `QUEUE_NAME_PATTERN` allows).
 *
 * @example
 * ```ts
 * jetStreamNames("jobs").subject; // "sluice.q.jobs"
 * ```
 */
export function jetStreamNames(queue: string): JetStreamNames {
  const token = escapeName(queue);
  return {
    stream: `SLUICE_${token}`,
    subject: `sluice.q.${token}`,
    consumer: "sluice",
    poisonStream: `SLUICE_POISON_${token}`,
    poisonSubject: `sluice.poison.${token}`,
    attempts: `sluice-attempts-${token}`,
  };
}

// Letters, digits and '-' stay; everything else ('.', '_' itself) becomes `_xx`: an injective escape.
function escapeName(name: string): string {
  return name.replace(/[^A-Za-z0-9-]/g, (c) => `_${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
}

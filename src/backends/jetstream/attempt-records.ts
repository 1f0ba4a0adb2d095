/**
 * Per-message failure and stall counts for the JetStream backend, kept in a KV bucket keyed by
 * stream sequence. JetStream counts every redelivery alike (an explicit nak, an AckWait expiry,
 * a crashed node), but Sluice poisons on two budgets, so the holder of a delivery records how it
 * ended *before* handing the message back; a redelivery the record does not explain was a stall.
 *
 * @module
 */
import type { KV } from "@nats-io/kv";
import type { AttemptRecord } from "../../queue/item.ts";
import type { PoisonExhausted } from "../../queue/journal.ts";

/**
 * What is known about the past deliveries of one message.
 *
 * @example
 * ```ts
 * const record: Attempts = { failures: 1, stalls: 0, neutral: 0, history: [{ attempt: 1, code: "internal", message: "boom", at: 0 }] };
 * ```
 */
export interface Attempts {
  /** Explicit failures (`fail`, NACK): poison at `maxRetries`. */
  failures: number;
  /** Stalls (expiry, vanished consumer, crashed node): poison at `maxStalls`. */
  stalls: number;
  /** Deliveries handed back through no fault of the message (drain, a consumer that stopped reading). */
  neutral: number;
  /** Failed and stalled deliveries, oldest first. */
  history: AttemptRecord[];
  /** Set just before it is copied to the poison stream: a redelivery (its node died first) goes straight there. */
  poisonAs?: PoisonExhausted;
}

/**
 * An empty record (a message on its first delivery).
 *
 * @example
 * ```ts
 * const record = noAttempts();
 * ```
 */
export function noAttempts(): Attempts {
  return { failures: 0, stalls: 0, neutral: 0, history: [] };
}

/**
 * Reads and writes attempt records in one queue's KV bucket.
 *
 * @example
 * ```ts
 * const records = new AttemptRecords(await new Kvm(nc).create(names.attempts, { history: 1 }));
 * const record = await records.read(msg.seq);
 * ```
 */
export class AttemptRecords {
  constructor(private readonly kv: KV) {}

  /** The record of stream sequence `seq` (an empty one if none was written). */
  async read(seq: number): Promise<Attempts> {
    const entry = await this.kv.get(String(seq));
    if (entry === null || entry.operation !== "PUT" || entry.length === 0) return noAttempts();
    try {
      return { ...noAttempts(), ...(entry.json() as Partial<Attempts>) };
    } catch {
      return noAttempts(); // a record we cannot read counts nothing: the message is not punished for it
    }
  }

  /** Writes the record of `seq` (before the delivery is handed back). */
  async write(seq: number, record: Attempts): Promise<void> {
    await this.kv.put(String(seq), JSON.stringify(record));
  }

  /** Forgets `seq` once the message is acked, poisoned or purged. */
  async forget(seq: number): Promise<void> {
    await this.kv.purge(String(seq));
  }
}

/**
 * Charges a record with the redeliveries it does not explain: delivery number `delivery` means
 * `delivery - 1` earlier deliveries, each a failure, a stall or neutral; the rest were stalls
 * nobody lived to record (an AckWait expiry, a node killed holding it). Returns how many.
 *
 * @example
 * ```ts
 * const unexplained = chargeUnexplained(record, msg.info.deliveryCount, clock.now());
 * ```
 */
export function chargeUnexplained(record: Attempts, delivery: number, now: number, leaseMs: number): number {
  const unexplained = delivery - 1 - record.failures - record.stalls - record.neutral;
  for (let i = 0; i < unexplained; i++) {
    record.stalls++;
    record.history.push({
      attempt: delivery - unexplained + i,
      code: "lease.expired",
      message: `delivery ended without an ack within ${leaseMs} ms (lease expired or its node died)`,
      at: now,
    });
  }
  return Math.max(0, unexplained);
}

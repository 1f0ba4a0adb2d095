/**
 * The JetStream backend's poison queue: a limits stream per queue holding each poisoned message's
 * payload with its last error, budgets and failure history in one header.
 *
 * @module
 */
import { headers } from "@nats-io/nats-core";
import type { JetStreamClient, JetStreamManager, StoredMsg } from "@nats-io/jetstream";
import { sluiceError } from "../../result/errors.ts";
import type { AttemptRecord } from "../../queue/item.ts";
import type { PoisonExhausted } from "../../queue/journal.ts";
import type { PoisonEntry } from "../../queue/poison-queue.ts";
import type { PoisonView } from "../../queue/relay-queue.ts";
import type { JetStreamNames } from "./names.ts";

/** Header carrying everything but the payload, as JSON. */
const POISON_HEADER = "Sluice-Poison";
/** Entries `list()` reads at most: a poison queue is for inspection, not a second backlog. */
const MAX_LISTED = 10_000;

/**
 * What is recorded with a poisoned message.
 *
 * @example
 * ```ts
 * const record: PoisonRecord = { sequenceId: 7, code: "internal", message: "boom", attempts: 5, exhausted: "failures", history: [], enqueuedAt: 0, poisonedAt: 10 };
 * ```
 */
export interface PoisonRecord {
  readonly sequenceId: number;
  readonly code: string;
  readonly message: string;
  readonly attempts: number;
  readonly exhausted: PoisonExhausted;
  readonly history: readonly AttemptRecord[];
  readonly enqueuedAt: number;
  readonly poisonedAt: number;
}

/**
 * A queue's poison stream; `replay` publishes entries back onto the queue's subject (they get
 * new sequence ids there, as any JetStream republish does) and then deletes them here.
 *
 * @example
 * ```ts
 * const poison = new PoisonStream<Uint8Array>("jobs.poison", names, js, jsm);
 * await poison.add(payload, record);
 * const entries = await poison.list();
 * ```
 */
export class PoisonStream implements PoisonView<Uint8Array> {
  #size = 0;

  constructor(
    readonly name: string,
    private readonly names: JetStreamNames,
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
  ) {}

  get size(): number {
    return this.#size;
  }

  /** Re-reads the entry count from the stream. */
  async refresh(): Promise<void> {
    this.#size = (await this.jsm.streams.info(this.names.poisonStream)).state.messages;
  }

  /**
   * Stores a poisoned message. The message id makes a repeat (a node that died between this
   * and terminating the original, whose redelivery is poisoned again) a no-op.
   */
  async add(payload: Uint8Array, record: PoisonRecord): Promise<void> {
    const h = headers();
    h.set(POISON_HEADER, JSON.stringify(record));
    const ack = await this.js.publish(this.names.poisonSubject, payload, { headers: h, msgID: `poison-${record.sequenceId}-${record.enqueuedAt}` });
    if (!ack.duplicate) this.#size++;
  }

  async list(): Promise<PoisonEntry<Uint8Array>[]> {
    return (await this.#stored()).map(({ record, msg }) => ({
      sequenceId: record.sequenceId,
      payload: msg.data,
      lastError: sluiceError(record.code as never, record.message),
      attempts: record.attempts,
      history: record.history,
      enqueuedAt: record.enqueuedAt,
      poisonedAt: record.poisonedAt,
      exhausted: record.exhausted,
    }));
  }

  async replay(ids?: readonly number[]): Promise<number> {
    let replayed = 0;
    for (const { msg } of await this.#stored(ids)) {
      await this.js.publish(this.names.subject, msg.data);
      await this.jsm.streams.deleteMessage(this.names.poisonStream, msg.seq, false);
      replayed++;
    }
    await this.refresh();
    return replayed;
  }

  async purge(ids?: readonly number[]): Promise<number> {
    if (ids === undefined) {
      const purged = (await this.jsm.streams.purge(this.names.poisonStream)).purged;
      await this.refresh();
      return purged;
    }
    let purged = 0;
    for (const { msg } of await this.#stored(ids)) {
      await this.jsm.streams.deleteMessage(this.names.poisonStream, msg.seq, false);
      purged++;
    }
    await this.refresh();
    return purged;
  }

  // Entries in stream order, optionally only those whose queue sequence id is in `ids`.
  async #stored(ids?: readonly number[]): Promise<{ record: PoisonRecord; msg: StoredMsg }[]> {
    const state = (await this.jsm.streams.info(this.names.poisonStream)).state;
    this.#size = state.messages;
    const wanted = ids === undefined ? undefined : new Set(ids);
    const found: { record: PoisonRecord; msg: StoredMsg }[] = [];
    let seq = state.first_seq;
    while (state.messages > 0 && seq <= state.last_seq && found.length < MAX_LISTED) {
      // Direct get with next_by_subj skips deleted sequences (the stream has allow_direct).
      const msg = await this.jsm.direct.getMessage(this.names.poisonStream, { seq, next_by_subj: this.names.poisonSubject }).catch(() => null);
      if (msg === null) break;
      seq = msg.seq + 1;
      const record = JSON.parse(msg.header.get(POISON_HEADER)) as PoisonRecord;
      if (wanted === undefined || wanted.has(record.sequenceId)) found.push({ record, msg });
    }
    return found;
  }
}

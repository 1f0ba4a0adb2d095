import type { Result } from "../result/result.ts";
import type { SluiceError } from "../result/errors.ts";
import type { QueueItem } from "../queue/item.ts";
import type { JournalState, QueueJournal, StoredItem, StoredPoison } from "../queue/journal.ts";
import type { PayloadCodec } from "./payload-codec.ts";
import { baseColumns, errorText, historyText, itemFromRow, poisonFromRow, stateColumns, storedItemFromRow } from "./rows.ts";
import type { SqlStatements } from "./statements.ts";

/** Where a dirty item's row was when this commit window began, and where it must end up. */
interface Pending<T> {
  readonly item: QueueItem<T>;
  readonly origin: "new" | "items" | "poison";
  state: "live" | "poison" | "gone";
  leased: boolean;
  notBefore: number;
  poison: StoredPoison<T> | undefined;
}

/**
 * What a queue journal needs from the store it belongs to (internal).
 *
 * @example
 * ```ts
 * const journal = new SqlQueueJournal("jobs", bytesCodec, statements, host);
 * ```
 */
export interface JournalHost {
  /** This journal has changes: schedule a commit. */
  markDirty(journal: SqlQueueJournal<unknown>): void;
  afterCommit(done: (committed: Result<void>) => void): void;
  flush(): Result<void>;
  readonly failure: SluiceError | undefined;
}

/**
 * One queue's journal in a `SqlStore` (see `QueueJournal`). Changes are coalesced per item
 * within a commit window — only an item's final state is written, and an item enqueued and
 * acked in the same window never touches the disk — then written by the store's group commit.
 *
 * @example
 * ```ts
 * const journal = store.journal("jobs", bytesCodec);
 * const queue = SafeTaskQueue.create<Uint8Array>({ name: "jobs", journal });
 * ```
 */
export class SqlQueueJournal<T> implements QueueJournal<T> {
  readonly #pending = new Map<number, Pending<T>>();
  #lastSequence = 0;

  constructor(
    readonly queue: string,
    private readonly codec: PayloadCodec<T>,
    private readonly sql: SqlStatements,
    private readonly host: JournalHost,
  ) {}

  get dirty(): boolean {
    return this.#pending.size > 0;
  }

  get failure(): SluiceError | undefined {
    return this.host.failure;
  }

  recover(): QueueItem<T>[] {
    return this.sql.leasedItems.all(this.queue).map((row) => itemFromRow(row, this.codec));
  }

  load(): JournalState<T> {
    const flushed = this.host.flush();
    if (!flushed.ok) throw new Error(flushed.error.message);
    const count = this.sql.countItems.all(this.queue)[0]!;
    const last = this.sql.lastSequence.all(this.queue, this.queue, this.queue)[0]!;
    this.#lastSequence = Number(last.last ?? 0);
    return {
      items: Number(count.n),
      lastSequence: this.#lastSequence,
      poison: this.sql.poisonEntries.all(this.queue).map((row) => poisonFromRow(row, this.codec)),
      keys: this.sql.itemKeys.all(this.queue).map((row) => [row.key as string, row.seq as number] as const),
    };
  }

  page(afterSequence: number, maxItems: number, maxBytes: number): StoredItem<T>[] {
    // Items enqueued straight to the store may still sit in this commit window.
    if (this.#pending.size > 0) this.host.flush();
    // Sizes first: large payloads past the budget are never read (1 MiB rows × a page would be).
    let count = 0;
    let bytes = 0;
    for (const row of this.sql.pageSizes.all(this.queue, afterSequence, maxItems)) {
      bytes += row.n as number;
      if (count > 0 && bytes > maxBytes) break;
      count++;
    }
    if (count === 0) return [];
    return this.sql.pageItems.all(this.queue, afterSequence, count).map((row) => storedItemFromRow(row, this.codec));
  }

  added(item: QueueItem<T>): void {
    this.#track(item, "new");
  }

  changed(item: QueueItem<T>, leased: boolean, notBefore: number): void {
    const pending = this.#track(item, "items");
    pending.state = "live";
    pending.leased = leased;
    pending.notBefore = notBefore;
  }

  removed(item: QueueItem<T>): void {
    this.#track(item, "items").state = "gone";
  }

  poisoned(entry: StoredPoison<T>): void {
    const pending = this.#track(entry.item, "items");
    pending.state = "poison";
    pending.poison = entry;
  }

  replayed(item: QueueItem<T>): void {
    const pending = this.#track(item, "poison");
    pending.state = "live";
    pending.leased = false;
    pending.notBefore = 0;
  }

  purged(item: QueueItem<T>): void {
    this.#track(item, "poison").state = "gone";
  }

  sizeOf(payload: T): number {
    return this.codec.sizeOf?.(payload) ?? this.codec.encode(payload).byteLength;
  }

  afterCommit(done: (committed: Result<void>) => void): void {
    this.host.afterCommit(done);
  }

  /**
   * Writes every pending change (inside the store's transaction). The pending set is cleared
   * by `committed()` only once the transaction commits, so a failed commit is retried whole.
   */
  write(): void {
    const { sql, queue } = this;
    for (const p of this.#pending.values()) {
      const seq = p.item.sequenceId;
      if (seq > this.#lastSequence) this.#lastSequence = seq;
      if (p.state === "live") {
        if (p.origin === "items") sql.updateItem.run(...stateColumns(p.item, p.leased, p.notBefore), queue, seq);
        else {
          if (p.origin === "poison") sql.deletePoison.run(queue, seq);
          sql.insertItem.run(queue, seq, ...baseColumns(p.item, this.codec), ...stateColumns(p.item, p.leased, p.notBefore));
        }
      } else if (p.state === "poison") {
        if (p.origin === "items") sql.deleteItem.run(queue, seq);
        const e = p.poison!;
        sql.insertPoison.run(
          queue, seq, ...baseColumns(e.item, this.codec), e.attempts, e.item.failures, e.item.stalls,
          errorText(e.error), historyText(e.item.history), e.poisonedAt, e.exhausted,
        );
      } else if (p.origin === "items") {
        sql.deleteItem.run(queue, seq);
      } else if (p.origin === "poison") {
        sql.deletePoison.run(queue, seq);
      }
    }
    sql.saveSequence.run(queue, this.#lastSequence);
  }

  /** The transaction holding `write()` committed. */
  committed(): void {
    this.#pending.clear();
  }

  #track(item: QueueItem<T>, origin: Pending<T>["origin"]): Pending<T> {
    let pending = this.#pending.get(item.sequenceId);
    if (pending === undefined) {
      pending = { item, origin, state: "live", leased: false, notBefore: 0, poison: undefined };
      if (this.#pending.size === 0) this.host.markDirty(this as SqlQueueJournal<unknown>);
      this.#pending.set(item.sequenceId, pending);
    }
    return pending;
  }
}

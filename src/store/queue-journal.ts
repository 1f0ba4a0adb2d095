import type { Result } from "../result/result.ts";
import type { SluiceError } from "../result/errors.ts";
import type { QueueItem } from "../queue/item.ts";
import type { JournalState, QueueJournal, StoredItem, StoredPoison } from "../queue/journal.ts";
import type { PayloadCodec } from "./payload-codec.ts";
import { baseColumns, decodeMarks, encodeMarks, errorText, historyText, itemFromRow, poisonFromRow, stateColumns, storedItemFromRow } from "./rows.ts";
import type { SqlValue } from "./sql-driver.ts";
import { DELETE_ROWS, INSERT_ROWS, type SqlStatements } from "./statements.ts";

/** Where a dirty item's row was when this commit window began, and where it must end up. */
interface Pending<T> {
  readonly item: QueueItem<T>;
  readonly origin: "new" | "items" | "poison";
  state: "live" | "poison" | "gone";
  leased: boolean;
  notBefore: number;
  poison: StoredPoison<T> | undefined;
  /** Only a lease happened to a stored item this window: written as a lease mark, not a row update. */
  leaseOnly: boolean;
}

/** A row of `lease_marks` as this journal knows it: the leases (sequence id, attempt) it holds. */
interface MarkRow {
  readonly id: number;
  readonly seqs: readonly number[];
  readonly attempts: readonly number[];
}

/** Lease-mark rows kept at most; past it the oldest half is folded into the items (see `write`). */
const MARK_ROWS = 16;

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
 * acked in the same window never touches the disk — then written by the store's group commit:
 * new items in multi-row INSERTs, acks in multi-row DELETEs.
 *
 * **Lease marks.** A lease of an item already stored (the common case: published in one window,
 * delivered in the next) is not an UPDATE of its row: the window's leases go into one
 * `lease_marks` row — (sequence id, attempt) pairs — committed before the DELIVER as before.
 * A lease raises an item's attempts, so at start-up an item is leased when its newest mark's
 * attempt exceeds the attempts its row holds (`recover`). Mark rows are dropped once old: open
 * leases in them are first written into their items (`leased = 1`). Where an item's attempts go
 * down — a requeue that does not count the attempt, a poison entry replayed — the mark rows up
 * to its own are folded that way first, so no stale mark outranks its row.
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
  /** Leases that stand as marks only: sequence id → the id of the mark row that holds it. */
  readonly #marks = new Map<number, number>();
  /** Mark rows in the store, oldest first. */
  #markRows: MarkRow[] = [];
  /** The last mark row id used (undefined until read from the store). */
  #markId: number | undefined;
  /** Start-up: every stored mark row goes with the next commit (their leases are rows again). */
  #dropMarks = false;
  /** What the write in progress did to the marks, applied by `committed()`. */
  #plan: { row: MarkRow | undefined; ended: readonly number[]; folded: number } | undefined;

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
    const items = this.sql.leasedItems.all(this.queue).map((row) => itemFromRow(row, this.codec));
    const rows = this.sql.leaseMarks.all(this.queue);
    this.#markId = rows.length === 0 ? 0 : Number(rows[rows.length - 1]!.id);
    if (rows.length === 0) return items;
    // The newest mark of each item (later rows are later leases).
    const newest = new Map<number, number>();
    for (const row of rows) decodeMarks(row.marks, (seq, attempts) => newest.set(seq, attempts));
    const leased = new Map(items.map((item) => [item.sequenceId, item]));
    for (const [seq, attempts] of newest) {
      const known = leased.get(seq);
      if (known !== undefined && attempts <= known.attempts) continue;
      const row = known === undefined ? this.sql.getItem.all(this.queue, seq)[0] : undefined;
      if (known === undefined && (row === undefined || attempts <= (row.attempts as number))) continue;
      const item = known ?? itemFromRow(row!, this.codec);
      item.attempts = attempts;
      leased.set(seq, item);
      // Leased again as a row (`leased = 1`), so the marks can go: recovery's own changes override it.
      const pending = this.#track(item, "items");
      pending.leased = true;
    }
    this.#dropMarks = true;
    this.host.markDirty(this as SqlQueueJournal<unknown>);
    return [...leased.values()].sort((a, b) => a.sequenceId - b.sequenceId);
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
    const fresh = !this.#pending.has(item.sequenceId);
    const pending = this.#track(item, "items");
    pending.state = "live";
    pending.leased = leased;
    pending.notBefore = notBefore;
    // A lease (the only change with leased = true) alters nothing but `attempts`.
    pending.leaseOnly = fresh && leased && notBefore === 0;
  }

  removed(item: QueueItem<T>): void {
    const pending = this.#track(item, "items");
    pending.state = "gone";
    pending.leaseOnly = false;
  }

  poisoned(entry: StoredPoison<T>): void {
    const pending = this.#track(entry.item, "items");
    pending.state = "poison";
    pending.poison = entry;
    pending.leaseOnly = false;
  }

  replayed(item: QueueItem<T>): void {
    const pending = this.#track(item, "poison");
    pending.state = "live";
    pending.leased = false;
    pending.notBefore = 0;
    pending.leaseOnly = false;
  }

  purged(item: QueueItem<T>): void {
    const pending = this.#track(item, "poison");
    pending.state = "gone";
    pending.leaseOnly = false;
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
    const { sql, queue, codec } = this;
    const marks = this.#marks;
    let rows: SqlValue[] = [];
    let deletes: number[] = [];
    const leaseSeqs: number[] = [];
    const leaseAttempts: number[] = [];
    const ended: number[] = [];
    // Mark rows folded into the items this commit (from the oldest): half once there are too many.
    let folded = this.#markRows.length >= MARK_ROWS ? MARK_ROWS / 2 : 0;
    if (this.#dropMarks) {
      sql.deleteAllMarks.run(queue);
      folded = 0;
    }
    for (const p of this.#pending.values()) {
      const item = p.item;
      const seq = item.sequenceId;
      if (seq > this.#lastSequence) this.#lastSequence = seq;
      if (p.leaseOnly) {
        leaseSeqs.push(seq);
        leaseAttempts.push(item.attempts);
        continue;
      }
      const marked = marks.get(seq);
      if (marked !== undefined) {
        ended.push(seq);
        // Requeued with its attempt not counted (attempts - 1): the mark would outrank the row.
        if (p.state === "live" && p.origin === "items") folded = Math.max(folded, this.#outranked(marked, seq, item.attempts));
      }
      // Back from poison with attempts reset: no stored mark of it may outrank the new row.
      if (p.origin === "poison") folded = Math.max(folded, this.#markRows.findLastIndex((r) => r.seqs.includes(seq)) + 1);
      if (p.state === "live") {
        if (p.origin === "items") sql.updateItem.run(...stateColumns(item, p.leased, p.notBefore), queue, seq);
        else if (p.origin === "new" && item.failures === 0 && item.stalls === 0 && item.lastError === undefined && !item.history?.length) {
          rows.push(queue, seq, codec.encode(item.payload), item.enqueuedAt, item.key ?? null, item.attempts, p.notBefore, p.leased ? 1 : 0);
          if (rows.length === 8 * INSERT_ROWS) {
            sql.insertNewItems(INSERT_ROWS).run(...rows);
            rows = [];
          }
        } else {
          if (p.origin === "poison") sql.deletePoison.run(queue, seq);
          sql.insertItem.run(queue, seq, ...baseColumns(item, codec), ...stateColumns(item, p.leased, p.notBefore));
        }
      } else if (p.state === "poison") {
        if (p.origin === "items") sql.deleteItem.run(queue, seq);
        const e = p.poison!;
        sql.insertPoison.run(
          queue, seq, ...baseColumns(e.item, codec), e.attempts, e.item.failures, e.item.stalls,
          errorText(e.error), historyText(e.item.history), e.poisonedAt, e.exhausted,
        );
      } else if (p.origin === "items") {
        deletes.push(seq);
        if (deletes.length === DELETE_ROWS) {
          sql.deleteItems(DELETE_ROWS).run(queue, ...deletes);
          deletes = [];
        }
      } else if (p.origin === "poison") {
        sql.deletePoison.run(queue, seq);
      }
    }
    if (rows.length > 0) sql.insertNewItems(rows.length / 8).run(...rows);
    if (deletes.length > 0) sql.deleteItems(deletes.length).run(queue, ...deletes);
    if (folded > 0) this.#fold(folded);
    let row: MarkRow | undefined;
    if (leaseSeqs.length > 0) {
      row = { id: (this.#markId ?? this.#storedMarkId()) + 1, seqs: leaseSeqs, attempts: leaseAttempts };
      sql.insertMarks.run(queue, row.id, encodeMarks(leaseSeqs, leaseAttempts));
    }
    sql.saveSequence.run(queue, this.#lastSequence);
    this.#plan = { row, ended, folded };
  }

  /** The transaction holding `write()` committed. */
  committed(): void {
    this.#pending.clear();
    const plan = this.#plan;
    this.#plan = undefined;
    const marks = this.#marks;
    if (this.#dropMarks) {
      this.#dropMarks = false;
      marks.clear();
      this.#markRows = [];
    }
    if (plan === undefined) return;
    for (const seq of plan.ended) marks.delete(seq);
    for (const dropped of this.#markRows.splice(0, plan.folded)) {
      for (const seq of dropped.seqs) if (marks.get(seq) === dropped.id) marks.delete(seq);
    }
    const row = plan.row;
    if (row === undefined) return;
    this.#markId = row.id;
    this.#markRows.push(row);
    for (const seq of row.seqs) marks.set(seq, row.id);
  }

  // The oldest `count` mark rows go: the leases in them that still stand become rows (`leased = 1`).
  #fold(count: number): void {
    const { sql, queue } = this;
    const rows = this.#markRows;
    for (let r = 0; r < count; r++) {
      const { id, seqs, attempts } = rows[r]!;
      for (let i = 0; i < seqs.length; i++) {
        const seq = seqs[i]!;
        // Ended, marked again since, or written by this commit anyway.
        if (this.#marks.get(seq) !== id || this.#pending.has(seq)) continue;
        sql.leaseItem.run(attempts[i]!, queue, seq);
      }
    }
    sql.deleteMarksThrough.run(queue, rows[count - 1]!.id);
  }

  // How many mark rows must fold so that mark row `id`'s lease of `seq` cannot outrank `attempts`.
  #outranked(id: number, seq: number, attempts: number): number {
    const at = this.#markRows.findIndex((r) => r.id === id);
    const row = this.#markRows[at];
    return row !== undefined && row.attempts[row.seqs.indexOf(seq)]! > attempts ? at + 1 : 0;
  }

  #storedMarkId(): number {
    return Number(this.sql.lastMarkId.all(this.queue)[0]?.id ?? 0);
  }

  #track(item: QueueItem<T>, origin: Pending<T>["origin"]): Pending<T> {
    let pending = this.#pending.get(item.sequenceId);
    if (pending === undefined) {
      pending = { item, origin, state: "live", leased: false, notBefore: 0, poison: undefined, leaseOnly: false };
      if (this.#pending.size === 0) this.host.markDirty(this as SqlQueueJournal<unknown>);
      this.#pending.set(item.sequenceId, pending);
    }
    return pending;
  }
}

import { type Clock, systemClock, type TimerHandle } from "../result/clock.ts";
import { type SluiceError, sluiceError } from "../result/errors.ts";
import { err, ok, type Result } from "../result/result.ts";
import type { QueueJournal } from "../queue/journal.ts";
import type { PayloadCodec } from "./payload-codec.ts";
import { type JournalHost, SqlQueueJournal } from "./queue-journal.ts";
import { type Durability, prepareDatabase } from "./schema.ts";
import { inTransaction, type SqlDriver } from "./sql-driver.ts";
import { prepareStatements, type SqlStatements } from "./statements.ts";

/**
 * Options of `SqlStore.open`.
 *
 * @example
 * ```ts
 * const options: SqlStoreOptions = { driver, path: "data/sluice.db", durability: "process" };
 * ```
 */
export interface SqlStoreOptions {
  readonly driver: SqlDriver;
  /** The database file, named in every error. */
  readonly path: string;
  readonly durability?: Durability;
  /**
   * Group commit window: changes are committed this long after the first one. Default 0: at the
   * end of the event-loop turn (`setImmediate` where the runtime has it and no `clock` is given,
   * else the next timer turn).
   */
  readonly commitDelayMs?: number;
  /** After a failed commit, how long until it is retried. Default 1000. */
  readonly retryMs?: number;
  readonly clock?: Clock;
  /** Told about a failed commit and about the recovery after it. */
  readonly log?: (line: string) => void;
}

/**
 * The durable store of a server: one SQLite database, a `QueueJournal` per queue, and the
 * idempotency keys, all written by one **group commit** — every change of a commit window in
 * one transaction, so a receipt costs no fsync of its own.
 *
 * A failed commit (disk full, I/O error) is rolled back and kept: it is retried every `retryMs`
 * with everything recorded since, and until one succeeds `failure` is set (queues refuse new
 * messages with `unavailable`; consumers keep working, their acks wait in memory for the disk).
 *
 * @example
 * ```ts
 * const opened = SqlStore.open({ driver: openSqlite("data/sluice.db"), path: "data/sluice.db" });
 * if (!opened.ok) throw new Error(opened.error.message);
 * const queue = SafeTaskQueue.create<Uint8Array>({ name: "jobs", journal: opened.value.journal("jobs", bytesCodec) });
 * queue.afterCommit(() => sendReceipt());
 * ```
 */
export class SqlStore implements JournalHost {
  readonly path: string;
  readonly #driver: SqlDriver;
  readonly #sql: SqlStatements;
  readonly #clock: Clock;
  readonly #commitDelayMs: number;
  readonly #retryMs: number;
  readonly #log: (line: string) => void;
  readonly #dirty = new Set<SqlQueueJournal<unknown>>();
  readonly #keys = new Map<string, { queue: string; key: string; seq: number; expiresAt: number }>();
  #waiting: Array<(committed: Result<void>) => void> = [];
  #timer: TimerHandle | undefined;
  /** A commit is scheduled (a timer or an immediate). */
  #scheduled = false;
  /** End-of-turn scheduling, when the runtime has it and the system clock is in use. */
  readonly #immediate: ((run: () => void) => unknown) | undefined;
  #failure: SluiceError | undefined;
  #closed = false;
  #commits = 0;

  /** Opens (creating if needed) and locks the database; errors name the file and the cause. */
  static open(options: SqlStoreOptions): Result<SqlStore> {
    try {
      prepareDatabase(options.driver, options.durability ?? "process");
      return ok(new SqlStore(options, prepareStatements(options.driver)));
    } catch (thrown) {
      try {
        options.driver.close();
      } catch {
        // The open error is the one worth reporting.
      }
      const why = describe(thrown);
      const hint = /locked|busy/i.test(why) ? " — another Sluice server (or another program) has this data dir open" : "";
      return err("unavailable", `store: cannot open ${options.path}: ${why}${hint}`, { cause: thrown });
    }
  }

  private constructor(options: SqlStoreOptions, sql: SqlStatements) {
    this.path = options.path;
    this.#driver = options.driver;
    this.#sql = sql;
    this.#clock = options.clock ?? systemClock;
    const immediate = (globalThis as { setImmediate?: (run: () => void) => unknown }).setImmediate;
    // Bound: workerd's setImmediate refuses any `this` but the global one ("Illegal invocation").
    this.#immediate = options.clock === undefined ? immediate?.bind(globalThis) : undefined;
    this.#commitDelayMs = options.commitDelayMs ?? 0;
    this.#retryMs = options.retryMs ?? 1000;
    this.#log = options.log ?? (() => {});
  }

  /**
   * The connection, for the few tables other layers keep in the same database (leadership
   * leases, fence terms): a server's store holds its file with an exclusive lock, so they cannot
   * open a second connection. Their statements run on their own, between group commits (every
   * commit runs synchronously), so they never join or split one.
   */
  get driver(): SqlDriver {
    return this.#driver;
  }

  /** Set while commits fail; cleared by the next successful one. */
  get failure(): SluiceError | undefined {
    return this.#failure;
  }

  /** The journal of queue `name` (one per queue and store). */
  journal<T>(name: string, codec: PayloadCodec<T>): QueueJournal<T> {
    return new SqlQueueJournal<T>(name, codec, this.#sql, this);
  }

  /** Remembers an idempotency key of `queue` until `expiresAt` (clock ms), committed with the next group. */
  rememberKey(queue: string, key: string, seq: number, expiresAt: number): void {
    this.#keys.set(`${queue}\u0000${key}`, { queue, key, seq, expiresAt });
    this.#schedule();
  }

  /** The sequence id an unexpired idempotency key of `queue` stands for, if any. */
  findKey(queue: string, key: string, now: number): number | undefined {
    const pending = this.#keys.get(`${queue}\u0000${key}`);
    if (pending !== undefined) return pending.expiresAt > now ? pending.seq : undefined;
    const row = this.#sql.findKey.all(queue, key, now)[0];
    return row === undefined ? undefined : (row.seq as number);
  }

  markDirty(journal: SqlQueueJournal<unknown>): void {
    this.#dirty.add(journal);
    this.#schedule();
  }

  afterCommit(done: (committed: Result<void>) => void): void {
    if (this.#dirty.size === 0 && this.#keys.size === 0) return done(ok());
    this.#waiting.push(done);
    this.#schedule();
  }

  /** Commits everything pending now, in one transaction, and tells the waiters. */
  flush(): Result<void> {
    if (this.#timer !== undefined) {
      this.#clock.clearTimeout(this.#timer);
      this.#timer = undefined;
      this.#scheduled = false;
    }
    // With nothing pending, a failed store still needs a write to find out it has recovered.
    if (this.#dirty.size === 0 && this.#keys.size === 0 && this.#failure === undefined) return this.#answer(ok());
    if (this.#closed) return this.#answer(err("unavailable", `store: ${this.path} is closed`));
    try {
      inTransaction(this.#driver, () => {
        for (const journal of this.#dirty) journal.write();
        for (const k of this.#keys.values()) this.#sql.putKey.run(k.queue, k.key, k.seq, k.expiresAt);
        if (++this.#commits % 1024 === 0) this.#sql.expireKeys.run(this.#clock.now());
        if (this.#failure !== undefined) this.#sql.probe.run(String(this.#clock.now()));
      });
    } catch (thrown) {
      return this.#failed(thrown);
    }
    this.#driver.committed?.();
    for (const journal of this.#dirty) journal.committed();
    this.#dirty.clear();
    this.#keys.clear();
    if (this.#failure !== undefined) this.#log(`store: writes to ${this.path} work again`);
    this.#failure = undefined;
    return this.#answer(ok());
  }

  /**
   * Commits what is pending, then writes a consistent copy of the whole database to `path`
   * (SQLite's `VACUUM INTO`) while the server keeps running: the online backup.
   */
  backupTo(path: string): Result<void> {
    const flushed = this.flush();
    if (!flushed.ok) return flushed;
    try {
      this.#driver.exec(`VACUUM INTO '${path.replaceAll("'", "''")}'`);
      return ok();
    } catch (thrown) {
      return err("unavailable", `store: cannot back up ${this.path} to ${path}: ${describe(thrown)}`);
    }
  }

  /** Commits what is pending and closes the database. */
  close(): Result<void> {
    const flushed = this.flush();
    this.#closed = true;
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    try {
      this.#driver.close();
    } catch (thrown) {
      return err("unavailable", `store: cannot close ${this.path}: ${describe(thrown)}`);
    }
    return flushed;
  }

  #schedule(): void {
    if (this.#scheduled || this.#closed) return;
    this.#scheduled = true;
    if (this.#immediate !== undefined && this.#failure === undefined && this.#commitDelayMs === 0) {
      // After the I/O callbacks of this turn: every write they made lands in one commit, and no
      // timer clamp delays the receipts.
      this.#immediate(this.#run);
    } else {
      this.#timer = this.#clock.setTimeout(this.#run, this.#failure === undefined ? this.#commitDelayMs : this.#retryMs);
    }
  }

  readonly #run = (): void => {
    this.#scheduled = false;
    this.#timer = undefined;
    this.flush();
  };

  #failed(thrown: unknown): Result<void> {
    const first = this.#failure === undefined;
    this.#failure = sluiceError("unavailable", `store: cannot write ${this.path}: ${describe(thrown)}`, { cause: thrown });
    if (first) this.#log(`${this.#failure.message}; new messages are refused until it recovers (retry every ${this.#retryMs} ms)`);
    const answered = this.#answer(err(this.#failure));
    this.#schedule();
    return answered;
  }

  #answer(committed: Result<void>): Result<void> {
    const waiting = this.#waiting;
    if (waiting.length === 0) return committed;
    this.#waiting = [];
    for (const done of waiting) done(committed);
    return committed;
  }
}

function describe(thrown: unknown): string {
  return thrown instanceof Error ? thrown.message : String(thrown);
}

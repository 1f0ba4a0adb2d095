/**
 * `LeaseBook`: what a `SluiceQueue` Durable Object keeps about its consumer connections so that
 * a consumer still connected after the object hibernated (or was evicted) carries on where it
 * was: its unused credit and the leases it holds (token, item, attempt, deadline). Kept in the
 * object's SQL storage beside the queue's own tables, keyed by the connection id each socket
 * carries in its attachment.
 *
 * The book is written lazily — the changes since the last write, at most once per `saveMs`
 * after something happened — not with every delivery: an object hibernates only after a quiet
 * spell (10 s on workerd) with no timer pending, so the write always lands before it can
 * hibernate, and a busy object pays one small write a second instead of two per message. A crash
 * needs no book (the sockets die with the process; the queue's crash recovery applies), and a
 * stale book only costs at-least-once redelivery: a lease it does not list is recovered as a
 * stall, one it lists but that was acked is no longer leased in the store and is ignored.
 * Each open also bumps `epoch`, from which the object's lease table takes its token lane.
 *
 * @example
 * ```ts
 * const book = LeaseBook.open(driver);
 * const held = book.consumers.get(socketId); // { credit, leases } as last saved
 * book.save(new Map([[socketId, { credit: 8, leases: [{ token, seq, attempt: 1, deadline }] }]]));
 * ```
 */
import { inTransaction, type SqlDriver, type SqlStatement } from "../../store/sql-driver.ts";

/**
 * One lease as the book keeps it.
 *
 * @example
 * ```ts
 * const lease: BookLease = { token: 16777216, seq: 42, attempt: 1, deadline: Date.now() + 30_000 };
 * ```
 */
export interface BookLease {
  readonly token: number;
  readonly seq: number;
  readonly attempt: number;
  readonly deadline: number;
}

/**
 * A consumer connection as the book keeps it.
 *
 * @example
 * ```ts
 * const state: BookConsumer = { credit: 10, leases: [] };
 * ```
 */
export interface BookConsumer {
  readonly credit: number;
  readonly leases: readonly BookLease[];
}

const TABLES = `
CREATE TABLE IF NOT EXISTS sluice_do_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sluice_do_consumers (socket TEXT PRIMARY KEY, credit INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS sluice_do_leases (
  token INTEGER PRIMARY KEY, socket TEXT NOT NULL, seq INTEGER NOT NULL, attempt INTEGER NOT NULL, deadline INTEGER NOT NULL);
`;

/**
 * The persisted consumer state of one Durable Object (see the module doc).
 *
 * @example
 * ```ts
 * const book = LeaseBook.open(driver);
 * console.log(book.epoch, book.consumers.size);
 * ```
 */
export class LeaseBook {
  /** Opens of this object so far, this one included. */
  readonly epoch: number;
  /** The consumers as last saved, by connection id. */
  readonly consumers: ReadonlyMap<string, BookConsumer>;
  readonly #driver: SqlDriver;
  readonly #sql: Record<"putConsumer" | "dropConsumer" | "putLease" | "dropLease" | "putMeta", SqlStatement>;
  readonly #savedCredit = new Map<string, number>();
  readonly #savedLeases = new Map<number, BookLease & { readonly socket: string }>();

  /** Creates the tables if needed, bumps the epoch and reads the last saved state. */
  static open(driver: SqlDriver): LeaseBook {
    return new LeaseBook(driver);
  }

  private constructor(driver: SqlDriver) {
    this.#driver = driver;
    let epoch = 0;
    inTransaction(driver, () => {
      driver.exec(TABLES);
      const row = driver.prepare("SELECT value FROM sluice_do_meta WHERE key = 'epoch'").all()[0];
      epoch = Number(row?.value ?? 0) + 1;
      driver.prepare("INSERT OR REPLACE INTO sluice_do_meta (key, value) VALUES ('epoch', ?)").run(String(epoch));
    });
    this.epoch = epoch;
    const p = (text: string) => driver.prepare(text);
    this.#sql = {
      putConsumer: p("INSERT OR REPLACE INTO sluice_do_consumers (socket, credit) VALUES (?, ?)"),
      dropConsumer: p("DELETE FROM sluice_do_consumers WHERE socket = ?"),
      putLease: p("INSERT OR REPLACE INTO sluice_do_leases (token, socket, seq, attempt, deadline) VALUES (?, ?, ?, ?, ?)"),
      dropLease: p("DELETE FROM sluice_do_leases WHERE token = ?"),
      putMeta: p("INSERT OR REPLACE INTO sluice_do_meta (key, value) VALUES (?, ?)"),
    };
    const consumers = new Map<string, { credit: number; leases: BookLease[] }>();
    for (const row of p("SELECT socket, credit FROM sluice_do_consumers").all()) {
      consumers.set(row.socket as string, { credit: Number(row.credit), leases: [] });
      this.#savedCredit.set(row.socket as string, Number(row.credit));
    }
    for (const row of p("SELECT token, socket, seq, attempt, deadline FROM sluice_do_leases ORDER BY token").all()) {
      const lease = { token: Number(row.token), seq: Number(row.seq), attempt: Number(row.attempt), deadline: Number(row.deadline) };
      this.#savedLeases.set(lease.token, { ...lease, socket: row.socket as string });
      consumers.get(row.socket as string)?.leases.push(lease);
    }
    this.consumers = consumers;
  }

  /** A value kept beside the book (e.g. the queue's name, for wake-ups that carry no request). */
  meta(key: string): string | undefined {
    const row = this.#driver.prepare("SELECT value FROM sluice_do_meta WHERE key = ?").all(key)[0];
    return row === undefined ? undefined : String(row.value);
  }

  /** Stores `value` under `key` (see `meta`). */
  setMeta(key: string, value: string): void {
    this.#sql.putMeta.run(key, value);
  }

  /**
   * Makes the stored book equal `now` (every live consumer connection and its leases), writing
   * only the differences, in one transaction. Returns how many rows changed.
   */
  save(now: ReadonlyMap<string, BookConsumer>): number {
    let changed = 0;
    inTransaction(this.#driver, () => {
      for (const socket of [...this.#savedCredit.keys()]) {
        if (now.has(socket)) continue;
        this.#sql.dropConsumer.run(socket);
        this.#savedCredit.delete(socket);
        changed++;
      }
      const live = new Set<number>();
      for (const [socket, consumer] of now) {
        if (this.#savedCredit.get(socket) !== consumer.credit) {
          this.#sql.putConsumer.run(socket, consumer.credit);
          this.#savedCredit.set(socket, consumer.credit);
          changed++;
        }
        for (const lease of consumer.leases) {
          live.add(lease.token);
          const saved = this.#savedLeases.get(lease.token);
          if (saved !== undefined && saved.socket === socket && saved.seq === lease.seq && saved.deadline === lease.deadline) continue;
          this.#sql.putLease.run(lease.token, socket, lease.seq, lease.attempt, lease.deadline);
          this.#savedLeases.set(lease.token, { ...lease, socket });
          changed++;
        }
      }
      for (const token of [...this.#savedLeases.keys()]) {
        if (live.has(token)) continue;
        this.#sql.dropLease.run(token);
        this.#savedLeases.delete(token);
        changed++;
      }
    });
    return changed;
  }
}

/**
 * The small SQL driver interface the store runs on. Drivers live in `src/runtime/`
 * (`bun:sqlite` on Bun, `node:sqlite` on Deno, a Durable Object's `ctx.storage.sql` on workerd).
 * Statements take positional `?` parameters.
 *
 * @module
 */

/**
 * A value that crosses the driver boundary: SQLite's INTEGER/REAL, TEXT, BLOB and NULL.
 *
 * @example
 * ```ts
 * const params: SqlValue[] = ["jobs", 42, new Uint8Array([1]), null];
 * ```
 */
export type SqlValue = number | string | Uint8Array | null;

/**
 * A prepared statement.
 *
 * @example
 * ```ts
 * const insert = driver.prepare("INSERT INTO t(a, b) VALUES (?, ?)");
 * insert.run(1, "x");
 * const rows = driver.prepare("SELECT a, b FROM t WHERE a > ?").all(0);
 * ```
 */
export interface SqlStatement {
  run(...params: SqlValue[]): void;
  all(...params: SqlValue[]): Record<string, SqlValue>[];
}

/**
 * An open database connection.
 *
 * @example
 * ```ts
 * driver.exec("PRAGMA journal_mode = WAL");
 * driver.exec("BEGIN"); insert.run(1, "x"); driver.exec("COMMIT");
 * driver.close();
 * ```
 */
export interface SqlDriver {
  /** Runs one or more statements without parameters. */
  exec(sql: string): void;
  prepare(sql: string): SqlStatement;
  close(): void;
  /**
   * Optional: runs `body` as one transaction, rolled back if it throws. A driver whose host owns
   * transactions and connection settings — a Durable Object's SQL storage refuses BEGIN, COMMIT
   * and PRAGMA — provides it; the store then sends none of those and uses this instead.
   */
  transaction?(body: () => void): void;
  /**
   * Optional: told after each committed group commit. A file driver uses it to write the WAL back
   * to the disk off the event loop (`src/runtime/wal-writeback.ts`); durability does not depend on it.
   */
  committed?(): void;
}

/**
 * Runs `body` in one transaction on `driver`: its own `transaction` when it has one, else
 * `BEGIN IMMEDIATE` … `COMMIT` (`ROLLBACK` and rethrow when `body` throws).
 *
 * @example
 * ```ts
 * inTransaction(driver, () => { insert.run(1, "x"); insert.run(2, "y"); });
 * ```
 */
export function inTransaction(driver: SqlDriver, body: () => void): void {
  if (driver.transaction !== undefined) return driver.transaction(body);
  driver.exec("BEGIN IMMEDIATE");
  try {
    body();
    driver.exec("COMMIT");
  } catch (thrown) {
    driver.exec("ROLLBACK");
    throw thrown;
  }
}

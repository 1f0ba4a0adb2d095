/**
 * The small SQL driver interface the store runs on. Drivers live in `src/runtime/`
 * (`bun:sqlite` on Bun, `node:sqlite` on Deno); the Durable Object SQL storage of workerd can be a
 * third. Statements take positional `?` parameters.
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
}

/**
 * The store's SQL driver on Bun: `bun:sqlite`, built in (no native addon).
 *
 * @example
 * ```ts
 * const driver = openBunSqlite("data/sluice.db");
 * ```
 */
import { Database } from "bun:sqlite";
import type { SqlDriver, SqlValue } from "../store/sql-driver.ts";
import { walWriteback } from "./wal-writeback.ts";

/**
 * Opens (creating) the database file at `path` with `bun:sqlite`.
 *
 * @example
 * ```ts
 * const store = SqlStore.open({ driver: openBunSqlite(path), path });
 * ```
 */
export function openBunSqlite(path: string): SqlDriver {
  const db = new Database(path, { create: true, strict: true });
  const writeback = walWriteback(path);
  // bun:sqlite keeps the file (and its lock) open while any statement is unfinalized.
  const statements: { finalize(): void }[] = [];
  return {
    exec: (sql) => void db.exec(sql),
    prepare: (sql) => {
      const statement = db.prepare(sql);
      statements.push(statement);
      return {
        // Bound, not wrapped: no rest array and spread per call (a multi-row INSERT binds 96 values).
        run: statement.run.bind(statement) as (...params: SqlValue[]) => void,
        all: (...params: SqlValue[]) => statement.all(...params) as Record<string, SqlValue>[],
      };
    },
    committed: writeback.committed,
    close: () => {
      writeback.close();
      for (const statement of statements.splice(0)) statement.finalize();
      db.close(true);
    },
  };
}

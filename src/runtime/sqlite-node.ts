/**
 * The store's SQL driver on Deno (and Node ≥ 22.5): `node:sqlite`'s `DatabaseSync`.
 *
 * @example
 * ```ts
 * const driver = openNodeSqlite("data/sluice.db");
 * ```
 */
import { DatabaseSync } from "node:sqlite";
import type { SqlDriver, SqlValue } from "../store/sql-driver.ts";
import { walWriteback } from "./wal-writeback.ts";

/**
 * Opens (creating) the database file at `path` with `node:sqlite`.
 *
 * @example
 * ```ts
 * const store = SqlStore.open({ driver: openNodeSqlite(path), path });
 * ```
 */
export function openNodeSqlite(path: string): SqlDriver {
  const db = new DatabaseSync(path);
  const writeback = walWriteback(path);
  return {
    exec: (sql) => db.exec(sql),
    prepare: (sql) => {
      const statement = db.prepare(sql);
      return {
        run: (...params: SqlValue[]) => void statement.run(...params),
        all: (...params: SqlValue[]) => statement.all(...params) as Record<string, SqlValue>[],
      };
    },
    committed: writeback.committed,
    close: () => {
      writeback.close();
      db.close();
    },
  };
}

/**
 * Opens the store's SQL driver of the runtime this runs on: `bun:sqlite` on Bun, `node:sqlite`
 * on Deno. Both run the same SQL (src/store/).
 *
 * @example
 * ```ts
 * const driver = await openSqlite("data/sluice.db");
 * ```
 */
import type { SqlDriver } from "../store/sql-driver.ts";

/**
 * The runtime's SQLite driver on the file at `path` (":memory:" for a private in-memory database).
 *
 * @example
 * ```ts
 * const opened = SqlStore.open({ driver: await openSqlite(path), path });
 * ```
 */
export async function openSqlite(path: string): Promise<SqlDriver> {
  if ("Bun" in globalThis) return (await import("./sqlite-bun.ts")).openBunSqlite(path);
  return (await import("./sqlite-node.ts")).openNodeSqlite(path);
}

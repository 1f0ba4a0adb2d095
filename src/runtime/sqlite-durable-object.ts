/**
 * The store's third SQL driver: a Durable Object's own SQLite (`ctx.storage.sql`, workerd and
 * Cloudflare, `enableSql = true`), so a queue in a `SluiceQueue` object runs the same journal as on
 * Bun and Deno.
 *
 * What differs from a database file: there is no BEGIN/COMMIT and no PRAGMA (the host refuses
 * them). Writes made in one turn of the object are committed together by the host's implicit
 * transaction, and `transaction` here is `ctx.storage.transactionSync` (atomic, rolled back when
 * the body throws) — so the store's group commit is still one atomic write. Durability is the
 * host's: its output gate holds every outgoing message (a RECEIPT, a 202) until the writes made
 * before it are durable, which is what "a receipt is a promise" needs. Locking is the host's too:
 * one object, one thread.
 *
 * @example
 * ```ts
 * const opened = SqlStore.open({ driver: openDurableObjectSql(ctx.storage), path: "durable-object:jobs" });
 * ```
 */
import type { SqlDriver, SqlValue } from "../store/sql-driver.ts";
import type { DurableObjectStorage } from "./workerd/types.ts";

/**
 * A `SqlDriver` over a Durable Object's storage. `close` does nothing (the host owns the database).
 *
 * @example
 * ```ts
 * const driver = openDurableObjectSql(ctx.storage);
 * driver.prepare("SELECT count(*) AS n FROM items").all();
 * ```
 */
export function openDurableObjectSql(storage: DurableObjectStorage): SqlDriver {
  const sql = storage.sql;
  return {
    exec: (text) => void sql.exec(text),
    prepare: (text) => ({
      run: (...params: SqlValue[]) => void sql.exec(text, ...params),
      all: (...params: SqlValue[]) => sql.exec(text, ...params).toArray().map(blobsAsBytes),
    }),
    close: () => {},
    transaction: (body) => storage.transactionSync(body),
  };
}

// The host hands BLOBs back as ArrayBuffers; the store expects Uint8Arrays (as bun:sqlite and node:sqlite give).
function blobsAsBytes(row: Record<string, unknown>): Record<string, SqlValue> {
  for (const key in row) {
    const value = row[key];
    if (value instanceof ArrayBuffer) row[key] = new Uint8Array(value);
  }
  return row as Record<string, SqlValue>;
}

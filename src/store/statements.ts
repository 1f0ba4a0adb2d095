import type { SqlDriver, SqlStatement } from "./sql-driver.ts";

const BASE_COLUMNS = "payload, enqueued_at, key";
const STATE_COLUMNS = "attempts = ?, failures = ?, stalls = ?, not_before = ?, leased = ?, last_error = ?, history = ?";

/**
 * Every statement the store runs, prepared once per connection (internal).
 *
 * @example
 * ```ts
 * const sql = prepareStatements(driver);
 * sql.deleteItem.run("jobs", 42);
 * ```
 */
export interface SqlStatements {
  readonly insertItem: SqlStatement;
  readonly updateItem: SqlStatement;
  readonly deleteItem: SqlStatement;
  readonly insertPoison: SqlStatement;
  readonly deletePoison: SqlStatement;
  readonly saveSequence: SqlStatement;
  readonly leasedItems: SqlStatement;
  readonly countItems: SqlStatement;
  readonly lastSequence: SqlStatement;
  readonly poisonEntries: SqlStatement;
  readonly itemKeys: SqlStatement;
  readonly pageItems: SqlStatement;
  /** Sequence ids and payload sizes of the next items: how many fit a byte budget, without reading them. */
  readonly pageSizes: SqlStatement;
  readonly putKey: SqlStatement;
  readonly findKey: SqlStatement;
  readonly expireKeys: SqlStatement;
  /** A write that proves the disk takes writes again. */
  readonly probe: SqlStatement;
}

/**
 * Prepares the store's statements on `driver`.
 *
 * @example
 * ```ts
 * const sql = prepareStatements(driver);
 * ```
 */
export function prepareStatements(driver: SqlDriver): SqlStatements {
  const p = (text: string) => driver.prepare(text);
  return {
    insertItem: p(
      `INSERT OR REPLACE INTO items (queue, seq, ${BASE_COLUMNS}, attempts, failures, stalls, not_before, leased, last_error, history)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    updateItem: p(`UPDATE items SET ${STATE_COLUMNS} WHERE queue = ? AND seq = ?`),
    deleteItem: p("DELETE FROM items WHERE queue = ? AND seq = ?"),
    insertPoison: p(
      `INSERT OR REPLACE INTO poison (queue, seq, ${BASE_COLUMNS}, attempts, failures, stalls, last_error, history, poisoned_at, exhausted)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    deletePoison: p("DELETE FROM poison WHERE queue = ? AND seq = ?"),
    saveSequence: p("INSERT INTO queues (name, last_seq) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET last_seq = max(last_seq, excluded.last_seq)"),
    leasedItems: p("SELECT * FROM items INDEXED BY items_leased WHERE queue = ? AND leased = 1 ORDER BY seq"),
    countItems: p("SELECT count(*) AS n FROM items WHERE queue = ?"),
    lastSequence: p(
      `SELECT max(coalesce((SELECT last_seq FROM queues WHERE name = ?), 0),
                  coalesce((SELECT max(seq) FROM items WHERE queue = ?), 0),
                  coalesce((SELECT max(seq) FROM poison WHERE queue = ?), 0)) AS last`,
    ),
    poisonEntries: p("SELECT * FROM poison WHERE queue = ? ORDER BY poisoned_at, seq"),
    itemKeys: p("SELECT key, seq FROM items WHERE queue = ? AND key IS NOT NULL"),
    // `leased = 0`: a delivery resumed at start-up (QueueCreateOptions.resumeLease) is in memory already.
    pageItems: p("SELECT * FROM items WHERE queue = ? AND seq > ? AND leased = 0 ORDER BY seq LIMIT ?"),
    pageSizes: p("SELECT length(payload) AS n FROM items WHERE queue = ? AND seq > ? AND leased = 0 ORDER BY seq LIMIT ?"),
    putKey: p("INSERT OR REPLACE INTO idempotency (queue, key, seq, expires_at) VALUES (?, ?, ?, ?)"),
    findKey: p("SELECT seq FROM idempotency WHERE queue = ? AND key = ? AND expires_at > ?"),
    expireKeys: p("DELETE FROM idempotency WHERE expires_at <= ?"),
    probe: p("INSERT OR REPLACE INTO sluice_meta (key, value) VALUES ('probe', ?)"),
  };
}

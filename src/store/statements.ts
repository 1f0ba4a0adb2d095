import type { SqlDriver, SqlStatement } from "./sql-driver.ts";

const BASE_COLUMNS = "payload, enqueued_at, key";
/** Rows per `insertNewItems` at most (8 parameters a row: under the 100 a Durable Object binds). */
export const INSERT_ROWS = 12;
/** Sequence ids per `deleteItems` at most. */
export const DELETE_ROWS = 64;
const NEW_ROW = "(?, ?, ?, ?, ?, ?, 0, 0, ?, ?, NULL, NULL)";
const NEW_COLUMNS = `(queue, seq, ${BASE_COLUMNS}, attempts, failures, stalls, not_before, leased, last_error, history)`;
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
  /**
   * `rows` (1 … `INSERT_ROWS`) new items with no failure record in one statement, each as queue,
   * seq, payload, enqueued_at, key, attempts, not_before, leased (prepared on first use).
   */
  insertNewItems(rows: number): SqlStatement;
  /** `count` (1 … `DELETE_ROWS`) items of one queue in one statement: queue, then the sequence ids. */
  deleteItems(count: number): SqlStatement;
  /** A lease written into its item (a lease mark folded): attempts, queue, seq. */
  readonly leaseItem: SqlStatement;
  readonly getItem: SqlStatement;
  /** One commit's lease marks: queue, id, marks (see `encodeMarks`). */
  readonly insertMarks: SqlStatement;
  /** A queue's lease-mark rows, oldest first. */
  readonly leaseMarks: SqlStatement;
  readonly lastMarkId: SqlStatement;
  /** A queue's mark rows up to an id (inclusive). */
  readonly deleteMarksThrough: SqlStatement;
  readonly deleteAllMarks: SqlStatement;
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
  const inserts: SqlStatement[] = [];
  const deletes: SqlStatement[] = [];
  return {
    insertNewItems: (rows) =>
      (inserts[rows] ??= p(`INSERT OR REPLACE INTO items ${NEW_COLUMNS} VALUES ${Array<string>(rows).fill(NEW_ROW).join(", ")}`)),
    deleteItems: (count) => (deletes[count] ??= p(`DELETE FROM items WHERE queue = ? AND seq IN (${Array<string>(count).fill("?").join(", ")})`)),
    insertItem: p(
      `INSERT OR REPLACE INTO items (queue, seq, ${BASE_COLUMNS}, attempts, failures, stalls, not_before, leased, last_error, history)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    updateItem: p(`UPDATE items SET ${STATE_COLUMNS} WHERE queue = ? AND seq = ?`),
    deleteItem: p("DELETE FROM items WHERE queue = ? AND seq = ?"),
    leaseItem: p("UPDATE items SET attempts = ?, leased = 1 WHERE queue = ? AND seq = ?"),
    getItem: p("SELECT * FROM items WHERE queue = ? AND seq = ?"),
    insertMarks: p("INSERT OR REPLACE INTO lease_marks (queue, id, marks) VALUES (?, ?, ?)"),
    leaseMarks: p("SELECT id, marks FROM lease_marks WHERE queue = ? ORDER BY id"),
    lastMarkId: p("SELECT max(id) AS id FROM lease_marks WHERE queue = ?"),
    deleteMarksThrough: p("DELETE FROM lease_marks WHERE queue = ? AND id <= ?"),
    deleteAllMarks: p("DELETE FROM lease_marks WHERE queue = ?"),
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

/**
 * `SqlFenceTermStore`: the highest fencing term per scope in the server's SQLite database, so a
 * downstream Sluice keeps refusing superseded terms after a restart. Runtime-neutral (the store's
 * `SqlDriver`).
 *
 * @module
 */
import { err, ok, type Result } from "../../result/result.ts";
import type { SqlDriver, SqlStatement } from "../../store/sql-driver.ts";
import type { FenceTermStore } from "./fence-terms.ts";

/**
 * The table: one row per scope, its highest accepted term.
 *
 * @example
 * ```ts
 * driver.exec(FENCE_TERMS_TABLE_SQL);
 * ```
 */
export const FENCE_TERMS_TABLE_SQL = "CREATE TABLE IF NOT EXISTS sluice_fence_terms (scope TEXT PRIMARY KEY, term INTEGER NOT NULL) WITHOUT ROWID";

/**
 * Fence terms in SQL: `save` is one statement that only ever raises a term (`MAX`), committed
 * on its own before it returns (a new term is rare: once per change of leader), so it is
 * durable before any send under it is accepted.
 *
 * @example
 * ```ts
 * const fences = new FenceTerms(new SqlFenceTermStore(driver));
 * ```
 */
export class SqlFenceTermStore implements FenceTermStore {
  readonly #driver: SqlDriver;
  readonly #save: SqlStatement;

  /** Creates the table if needed (throws the driver's error: the caller names the file). */
  constructor(driver: SqlDriver) {
    this.#driver = driver;
    driver.exec(FENCE_TERMS_TABLE_SQL);
    this.#save = driver.prepare(
      "INSERT INTO sluice_fence_terms (scope, term) VALUES (?, ?) ON CONFLICT(scope) DO UPDATE SET term = MAX(term, excluded.term)",
    );
  }

  load(): ReadonlyMap<string, number> {
    const rows = this.#driver.prepare("SELECT scope, term FROM sluice_fence_terms").all();
    return new Map(rows.map((row) => [String(row.scope), Number(row.term)]));
  }

  save(scope: string, term: number): Result<void> {
    try {
      this.#save.run(scope, term);
      return ok();
    } catch (thrown) {
      return err("unavailable", thrown instanceof Error ? thrown.message : String(thrown), { cause: thrown });
    }
  }
}

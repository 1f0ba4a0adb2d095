/**
 * `SqlLeaseStore`: leadership leases in the server's SQLite database (one node). Runtime-neutral:
 * it speaks the store's `SqlDriver` interface (bun:sqlite on Bun, node:sqlite on Deno, injected
 * from src/runtime/).
 *
 * @module
 */
import { type Clock, systemClock } from "../../result/clock.ts";
import { ok } from "../../result/result.ts";
import type { SqlDriver, SqlStatement, SqlValue } from "../../store/sql-driver.ts";
import { checkLeaseArgs, checkScope, type LeaderLease, type LeaseLookup, type LeaseResult, type LeaseStore, nextTerm, noFloor, refused, storeUnavailable } from "./lease-store.ts";

/**
 * The table: one row per scope; a released lease keeps its row (holder '', expiry 0) so the
 * scope's highest term survives the release and every restart.
 *
 * @example
 * ```ts
 * driver.exec(LEASES_TABLE_SQL);
 * ```
 */
export const LEASES_TABLE_SQL =
  "CREATE TABLE IF NOT EXISTS sluice_leader_leases (scope TEXT PRIMARY KEY, holder TEXT NOT NULL, term INTEGER NOT NULL, expires_at_ms INTEGER NOT NULL) WITHOUT ROWID";

/**
 * Leases in SQL. Each operation is one read and at most one write, run synchronously: on one
 * connection (the server's store holds its database with an exclusive lock, so it is the only
 * writer) nothing can interleave, which makes the read-then-write a compare-and-swap. Terms per
 * scope are the row's term + 1 (or `termFloor()` when higher: `nextTerm`), committed before the
 * answer, so they increase across restarts.
 * A driver error (disk full, I/O) answers `unavailable`.
 *
 * @example
 * ```ts
 * const leases = new SqlLeaseStore(driver); // e.g. the server store's connection
 * const won = await leases.tryAcquire("bridge/jobs", "node-a", 10_000);
 * ```
 */
export class SqlLeaseStore implements LeaseStore {
  readonly #clock: Clock;
  readonly #termFloor: () => number;
  readonly #select: SqlStatement;
  readonly #upsert: SqlStatement;

  /** Creates the table if needed (throws the driver's error: the caller names the file). */
  constructor(driver: SqlDriver, options: { clock?: Clock; termFloor?: () => number } = {}) {
    this.#clock = options.clock ?? systemClock;
    this.#termFloor = options.termFloor ?? noFloor;
    driver.exec(LEASES_TABLE_SQL);
    this.#select = driver.prepare("SELECT holder, term, expires_at_ms FROM sluice_leader_leases WHERE scope = ?");
    this.#upsert = driver.prepare(
      "INSERT INTO sluice_leader_leases (scope, holder, term, expires_at_ms) VALUES (?, ?, ?, ?) " +
        "ON CONFLICT(scope) DO UPDATE SET holder = excluded.holder, term = excluded.term, expires_at_ms = excluded.expires_at_ms",
    );
  }

  get(scope: string): Promise<LeaseLookup> {
    checkScope(scope);
    return this.#run(scope, (row) => ok(row === undefined || row.holder === "" ? undefined : leaseOf(scope, row)));
  }

  tryAcquire(scope: string, holder: string, ttlMs: number): Promise<LeaseResult> {
    checkLeaseArgs(scope, holder, ttlMs);
    const now = this.#clock.now();
    return this.#run(scope, (row) => {
      if (row !== undefined && row.holder !== "" && row.holder !== holder && row.expiresAtMs > now) {
        const current = leaseOf(scope, row);
        return refused("held", `${scope} is held by ${current.holder} (term ${current.term}) until ${current.expiresAtMs}`, current);
      }
      const lease = { scope, holder, term: nextTerm(row?.term ?? 0, this.#termFloor), expiresAtMs: now + ttlMs };
      this.#upsert.run(scope, holder, lease.term, lease.expiresAtMs);
      return ok(lease);
    });
  }

  tryRenew(scope: string, holder: string, term: number, ttlMs: number): Promise<LeaseResult> {
    checkLeaseArgs(scope, holder, ttlMs, term);
    const now = this.#clock.now();
    return this.#run(scope, (row) => {
      const current = row === undefined || row.holder === "" ? undefined : leaseOf(scope, row);
      if (current === undefined || current.holder !== holder || current.term !== term) return refused("not_leader", `${holder} does not hold ${scope} in term ${term}`, current);
      if (current.expiresAtMs <= now) return refused("expired", `${holder}'s lease of ${scope} (term ${term}) expired at ${current.expiresAtMs}`, current);
      const lease = { ...current, expiresAtMs: now + ttlMs };
      this.#upsert.run(scope, holder, term, lease.expiresAtMs);
      return ok(lease);
    });
  }

  release(scope: string, holder: string, term: number): Promise<LeaseResult> {
    checkLeaseArgs(scope, holder, undefined, term);
    return this.#run(scope, (row) => {
      const current = row === undefined || row.holder === "" ? undefined : leaseOf(scope, row);
      if (current === undefined || current.holder !== holder || current.term !== term) return refused("not_leader", `${holder} does not hold ${scope} in term ${term}`, current);
      this.#upsert.run(scope, "", term, 0);
      return ok(current);
    });
  }

  // One read (and the caller's write) with driver errors answered as `unavailable`.
  #run<R extends LeaseResult | LeaseLookup>(scope: string, step: (row: Row | undefined) => R): Promise<R | ReturnType<typeof storeUnavailable>> {
    try {
      return Promise.resolve(step(rowOf(this.#select.all(scope)[0])));
    } catch (thrown) {
      return Promise.resolve(storeUnavailable(`leadership store: ${thrown instanceof Error ? thrown.message : String(thrown)}`, thrown));
    }
  }
}

interface Row {
  readonly holder: string;
  readonly term: number;
  readonly expiresAtMs: number;
}

function rowOf(raw: Record<string, SqlValue> | undefined): Row | undefined {
  if (raw === undefined) return undefined;
  return { holder: String(raw.holder), term: Number(raw.term), expiresAtMs: Number(raw.expires_at_ms) };
}

function leaseOf(scope: string, row: Row): LeaderLease {
  return { scope, holder: row.holder, term: row.term, expiresAtMs: row.expiresAtMs };
}

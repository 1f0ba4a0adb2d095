/**
 * The `LeaseStore` contract of leadership (DESIGN.md "Mesh roles", Leadership): leases per scope
 * with a strictly increasing fencing `term`, over compare-and-swap. Implementations:
 * `MemoryLeaseStore` (tests, or one node without a store), `SqlLeaseStore` (one node, SQLite)
 * and `NatsKvLeaseStore` (clustered, NATS KV revisions).
 *
 * @module
 */
import { type SluiceError, sluiceError } from "../../result/errors.ts";

/**
 * A leadership lease: `holder` leads `scope` in `term` until `expiresAtMs` (the holder's clock,
 * ms since the epoch on the system clock). Terms of a scope strictly increase with every
 * acquisition, survive restarts of the store, and are never reused.
 *
 * @example
 * ```ts
 * const lease: LeaderLease = { scope: "bridge/jobs", holder: "node-a", term: 7, expiresAtMs: 1795000010000 };
 * ```
 */
export interface LeaderLease {
  readonly scope: string;
  readonly holder: string;
  readonly term: number;
  readonly expiresAtMs: number;
}

/**
 * Why a lease operation did not go through:
 * - `held`: someone else holds an unexpired lease (`current` says who);
 * - `expired`: the caller's lease ran out before it renewed — it must acquire again (new term);
 * - `not_leader`: the caller does not hold this lease (another holder or term is current);
 * - `unavailable`: the store could not be reached or answered with an error; nothing is known.
 *
 * @example
 * ```ts
 * const reason: LeaseRefusalReason = "held";
 * ```
 */
export type LeaseRefusalReason = "held" | "expired" | "not_leader" | "unavailable";

/**
 * The answer of a lease operation: the lease (`ok`), or why not, with the current lease when the
 * store knows it. It is a `Result<LeaderLease>` (the error's code: `lease.inactive` for
 * held / not_leader, `lease.expired`, `unavailable`) with the reason spelled out.
 *
 * @example
 * ```ts
 * const r = await store.tryAcquire("bridge/jobs", "node-a", 10_000);
 * if (r.ok) lead(r.value.term);
 * else if (r.reason === "held") follow(r.current);
 * ```
 */
export type LeaseResult =
  | { readonly ok: true; readonly value: LeaderLease }
  | { readonly ok: false; readonly reason: LeaseRefusalReason; readonly error: SluiceError; readonly current?: LeaderLease };

/**
 * Leases per scope with compare-and-swap. Every method answers, never throws; a store that
 * cannot be reached answers `unavailable` (the caller must then assume nothing).
 *
 * - `get`: the current lease (it may have expired: compare `expiresAtMs`), or undefined when
 *   nobody holds the scope (never held, or released).
 * - `tryAcquire`: takes the scope when nobody holds it, its lease expired, or `holder` holds it
 *   already (a restarted node with the same id) — always with a NEW, higher term, and
 *   `expiresAtMs` = now + `ttlMs`; otherwise `held`.
 * - `tryRenew`: moves the expiry of `holder`'s lease in `term` to now + `ttlMs`, keeping the
 *   term; `not_leader` if another holder or term is current, `expired` if it ran out first.
 * - `release`: ends `holder`'s lease in `term` at once (others may acquire); `not_leader` otherwise.
 *
 * @example
 * ```ts
 * const store: LeaseStore = new MemoryLeaseStore({ clock });
 * const won = await store.tryAcquire("bridge/jobs", "node-a", 10_000);
 * if (won.ok) await store.tryRenew("bridge/jobs", "node-a", won.value.term, 10_000);
 * ```
 */
export interface LeaseStore {
  get(scope: string): Promise<LeaseLookup>;
  tryAcquire(scope: string, holder: string, ttlMs: number): Promise<LeaseResult>;
  tryRenew(scope: string, holder: string, term: number, ttlMs: number): Promise<LeaseResult>;
  release(scope: string, holder: string, term: number): Promise<LeaseResult>;
}

/**
 * The answer of `LeaseStore.get`: the lease, none, or (failed) why not.
 *
 * @example
 * ```ts
 * const seen: LeaseLookup = await store.get("bridge/jobs");
 * if (seen.ok && seen.value !== undefined) console.log(seen.value.holder);
 * ```
 */
export type LeaseLookup =
  | { readonly ok: true; readonly value: LeaderLease | undefined }
  | { readonly ok: false; readonly reason: "unavailable"; readonly error: SluiceError };

const CODES: Readonly<Record<LeaseRefusalReason, SluiceError["code"]>> = {
  held: "lease.inactive",
  expired: "lease.expired",
  not_leader: "lease.inactive",
  unavailable: "unavailable",
};

/**
 * A refused `LeaseResult`.
 *
 * @example
 * ```ts
 * return refused("held", `bridge/jobs is held by node-b until ${lease.expiresAtMs}`, lease);
 * ```
 */
export function refused(reason: LeaseRefusalReason, message: string, current?: LeaderLease, cause?: unknown): LeaseResult {
  const error = sluiceError(CODES[reason], message, { cause, metadata: current === undefined ? { reason } : { reason, holder: current.holder, term: current.term } });
  return current === undefined ? { ok: false, reason, error } : { ok: false, reason, error, current };
}

/**
 * Checks a scope name (programmer error → `TypeError`): non-empty, at most 256 characters, letters,
 * digits and `. _ - / =` (what every store can key on, NATS KV included).
 *
 * @example
 * ```ts
 * checkScope("bridge/jobs"); // ok
 * checkScope("bridge jobs"); // throws TypeError
 * ```
 */
export function checkScope(scope: string): void {
  if (typeof scope !== "string" || !/^[A-Za-z0-9._\-/=]{1,256}$/.test(scope) || scope.startsWith("/") || scope.endsWith("/") || scope.includes("//")) {
    throw new TypeError(`leadership: scope ${JSON.stringify(scope)} must be 1..256 of A-Z a-z 0-9 . _ - / = (no leading, trailing or double "/")`);
  }
}

/**
 * Checks the arguments every store method shares (programmer errors → `TypeError`/`RangeError`).
 *
 * @example
 * ```ts
 * checkLeaseArgs("bridge/jobs", "node-a", 10_000);
 * ```
 */
export function checkLeaseArgs(scope: string, holder: string, ttlMs?: number, term?: number): void {
  checkScope(scope);
  if (typeof holder !== "string" || holder === "") throw new TypeError("leadership: holder must be a non-empty string");
  if (ttlMs !== undefined && !(Number.isFinite(ttlMs) && ttlMs > 0)) throw new RangeError(`leadership: ttlMs must be > 0 (got ${ttlMs})`);
  if (term !== undefined && !(Number.isSafeInteger(term) && term > 0)) throw new RangeError(`leadership: term must be a positive safe integer (got ${term})`);
}

/**
 * The `unavailable` answer (a store that could not be reached); it fits every method's answer type.
 *
 * @example
 * ```ts
 * catch (thrown) { return storeUnavailable(`leadership store: ${String(thrown)}`, thrown); }
 * ```
 */
export function storeUnavailable(message: string, cause?: unknown): { readonly ok: false; readonly reason: "unavailable"; readonly error: SluiceError } {
  return { ok: false, reason: "unavailable", error: sluiceError("unavailable", message, { cause, metadata: { reason: "unavailable" } }) };
}

/**
 * No floor: terms are plain counters (1, 2, 3 …).
 *
 * @example
 * ```ts
 * nextTerm(4, noFloor); // 5
 * ```
 */
export const noFloor = (): number => 0;

/**
 * The term after `previous`: `previous + 1`, or the floor when that is higher. With the wall
 * clock as the floor (what the server uses), terms keep increasing even when a store loses its
 * data (a fresh data dir, a new KV bucket) or the server moves to another store — as long as the
 * clock is past the time of the last term — so a downstream that remembers a term never has
 * to be reset by hand.
 *
 * @example
 * ```ts
 * nextTerm(7, () => 0);                 // 8
 * nextTerm(7, () => 1_795_000_000_000); // 1795000000000
 * ```
 */
export function nextTerm(previous: number, floor: () => number): number {
  return Math.max(previous + 1, Math.floor(floor()));
}

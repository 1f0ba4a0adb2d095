/**
 * The downstream side of fencing: the highest leadership term accepted per scope, remembered
 * across restarts when there is somewhere to keep it.
 *
 * @module
 */
import { fenceRefusal } from "../../protocol/fence.ts";
import { err, ok, type Result } from "../../result/result.ts";

/**
 * Where `FenceTerms` keeps the highest term per scope (a table in the server's SQLite store:
 * `SqlFenceTermStore`). `save` must be durable when it returns ok.
 *
 * @example
 * ```ts
 * const kept: FenceTermStore = { load: () => new Map([["bridge/jobs", 7]]), save: () => ok() };
 * ```
 */
export interface FenceTermStore {
  load(): ReadonlyMap<string, number>;
  save(scope: string, term: number): Result<void>;
}

/**
 * Highest accepted term per scope: what makes a receiving Sluice refuse a deposed leader's late
 * sends (Kleppmann's fencing token: the resource checks the token).
 *
 * - `admit(scope, term)` — a sender announces its term (FENCE frame, or a Relay request): a
 *   term below the highest is refused (`lease.inactive`); a higher one becomes the highest,
 *   saved first (`unavailable` if it cannot be saved: nothing is accepted under a term that a
 *   restart could forget); an equal one is fine.
 * - `check(scope, term)` — before each send on a fenced socket: ok only while `term` is still
 *   the highest (`lease.inactive` once a higher one was admitted).
 * Without a `FenceTermStore` the terms live in memory (lost at restart).
 *
 * @example
 * ```ts
 * const fences = new FenceTerms();
 * fences.admit("bridge/jobs", 4).ok; // true
 * fences.check("bridge/jobs", 3).ok; // false: lease.inactive
 * ```
 */
export class FenceTerms {
  readonly #highest: Map<string, number>;
  readonly #store: FenceTermStore | undefined;

  constructor(store?: FenceTermStore) {
    this.#store = store;
    this.#highest = new Map(store?.load() ?? []);
  }

  /** The highest term accepted for `scope` (0: none yet). */
  highest(scope: string): number {
    return this.#highest.get(scope) ?? 0;
  }

  /** Every scope with its highest accepted term. */
  entries(): [string, number][] {
    return [...this.#highest];
  }

  /** A sender announces `term` for `scope`: refused when lower than the highest; a higher one is saved first. */
  admit(scope: string, term: number): Result<void> {
    const highest = this.highest(scope);
    if (term < highest) return err(fenceRefusal(scope, term, highest));
    if (term === highest) return ok();
    const saved = this.#store?.save(scope, term) ?? ok();
    if (!saved.ok) return err("unavailable", `fence: cannot record term ${term} of ${scope}: ${saved.error.message}`, { cause: saved.error });
    this.#highest.set(scope, term);
    return ok();
  }

  /** ok while `term` is the highest accepted for `scope`. */
  check(scope: string, term: number): Result<void> {
    const highest = this.highest(scope);
    if (term === highest) return ok();
    if (term < highest) return err(fenceRefusal(scope, term, highest));
    return err("unavailable", `fence: term ${term} of ${scope} was never recorded (announce it with FENCE first)`);
  }
}

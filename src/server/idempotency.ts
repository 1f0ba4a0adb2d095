import { type Clock, systemClock } from "../result/clock.ts";
import { ok, type Result } from "../result/result.ts";

/**
 * What the cache hands back: the sequence id, and whether this call was a repeat.
 *
 * @example
 * ```ts
 * const r = await cache.run("jobs", key, publish); // Result<IdempotentOutcome>
 * ```
 */
export interface IdempotentOutcome {
  readonly sequenceId: number;
  readonly duplicate: boolean;
}

/**
 * Where keys outlive the process (the SQL store): looked up when the in-memory cache has no
 * entry, written with the publish's commit.
 *
 * @example
 * ```ts
 * const cache = new IdempotencyCache({ windowMs: 300_000, keys: store });
 * ```
 */
export interface DurableKeys {
  rememberKey(scope: string, key: string, sequenceId: number, expiresAt: number): void;
  findKey(scope: string, key: string, now: number): number | undefined;
}

interface Entry {
  readonly expiresAt: number;
  readonly outcome: Promise<Result<{ sequenceId: number }>>;
}

/**
 * Remembers `Idempotency-Key`s for `windowMs`, so a retried POST returns the
 * first publish's sequence id instead of enqueueing the message twice.
 *
 * Bounded: entries expire after the window and at most `maxEntries` are kept in memory (the
 * oldest go first); with `keys` (the store) every key is also kept durably for its whole window,
 * so neither eviction nor a restart forgets it. Since every entry lives for the same window, insertion order is expiry order and
 * eviction only ever looks at the front of the map. A publish still in progress is shared by
 * concurrent requests with the same key; a failed publish is forgotten so a retry can succeed.
 *
 * @example
 * ```ts
 * const cache = new IdempotencyCache({ windowMs: 300_000 });
 * const r = await cache.run("jobs", "order-17", () => queue.enqueue(bytes));
 * if (r.ok) r.value.duplicate; // true on the second call within 5 minutes
 * ```
 */
export class IdempotencyCache {
  readonly windowMs: number;
  readonly maxEntries: number;
  readonly #clock: Clock;
  readonly #entries = new Map<string, Entry>();
  readonly #durable: DurableKeys | undefined;

  constructor(options: { windowMs: number; maxEntries?: number; clock?: Clock; keys?: DurableKeys }) {
    this.windowMs = options.windowMs;
    this.maxEntries = options.maxEntries ?? 100_000;
    this.#clock = options.clock ?? systemClock;
    this.#durable = options.keys;
  }

  /** Keys currently remembered. */
  get size(): number {
    return this.#entries.size;
  }

  /** Runs `publish` once per (scope, key) within the window; repeats get its result with `duplicate: true`. */
  async run(scope: string, key: string, publish: () => Promise<Result<{ sequenceId: number; duplicate?: boolean }>>): Promise<Result<IdempotentOutcome>> {
    if (this.windowMs === 0) return this.#fresh(await publish());
    const now = this.#clock.now();
    this.#evict(now);
    const id = `${scope}\u0000${key}`;
    const existing = this.#entries.get(id);
    if (existing !== undefined && existing.expiresAt > now) {
      const first = await existing.outcome;
      return first.ok ? ok({ sequenceId: first.value.sequenceId, duplicate: true }) : this.#fresh(await publish());
    }
    this.#entries.delete(id);
    // Past the in-memory cache (evicted, or from before a restart), the store still knows it.
    const stored = existing === undefined ? this.#durable?.findKey(scope, key, now) : undefined;
    if (stored !== undefined) return ok({ sequenceId: stored, duplicate: true });
    const outcome = publish();
    const entry: Entry = { expiresAt: now + this.windowMs, outcome };
    this.#entries.set(id, entry);
    const result = await outcome;
    if (!result.ok && this.#entries.get(id) === entry) this.#entries.delete(id);
    if (result.ok && !result.value.duplicate) this.#durable?.rememberKey(scope, key, result.value.sequenceId, entry.expiresAt);
    return this.#fresh(result);
  }

  #fresh(result: Result<{ sequenceId: number; duplicate?: boolean }>): Result<IdempotentOutcome> {
    return result.ok ? ok({ sequenceId: result.value.sequenceId, duplicate: result.value.duplicate ?? false }) : result;
  }

  #evict(now: number): void {
    for (const [id, entry] of this.#entries) {
      if (entry.expiresAt > now && this.#entries.size < this.maxEntries) break;
      this.#entries.delete(id);
    }
  }
}

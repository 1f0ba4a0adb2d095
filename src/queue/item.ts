/**
 * `QueueItem`, the queue's internal record of a message, and its helpers.
 *
 * @module
 */
import type { SluiceError } from "../result/errors.ts";
import type { PoisonExhausted } from "./journal.ts";

/**
 * One ended delivery, as kept in an item's history.
 *
 * @example
 * ```ts
 * for (const r of entry.history) console.log(r.attempt, r.code, r.at);
 * ```
 */
export interface AttemptRecord {
  readonly attempt: number;
  readonly code: string;
  readonly message: string;
  readonly at: number;
}

/**
 * The queue's own record of a message across deliveries (internal).
 *
 * Kept small on purpose — a million pending items each cost one of these — so the failure
 * history is allocated only once an item has failed.
 *
 * @example
 * ```ts
 * const item = newItem(payload, 1, clock.now(), undefined);
 * recordFailure(item, 1, error, clock.now());
 * ```
 */
export interface QueueItem<T> {
  payload: T;
  sequenceId: number;
  /** Deliveries started since enqueue or the last replay (the last lease's `attempt`). */
  attempts: number;
  /** Explicit failures (`fail`, NACK) in this round: poison at `maxRetries`. */
  failures: number;
  /** Stalls (lease expiry, consumer disconnect, process crash) in this round: poison at `maxStalls`. */
  stalls: number;
  enqueuedAt: number;
  /** Its last consumer vanished holding other leases too: redeliver it alone (crash attribution). */
  suspect: boolean;
  /** Payload bytes counted against a journaled queue's memory window (0 when not journaled). */
  bytes: number;
  lastError: SluiceError | undefined;
  /** Idempotency key, while the item is alive. */
  key: string | undefined;
  /** Failed deliveries, oldest first; survives poison replay. */
  history: AttemptRecord[] | undefined;
}

/**
 * Creates the record of a freshly enqueued message.
 *
 * @example
 * ```ts
 * const item = newItem(payload, ++sequence, clock.now(), key);
 * ```
 */
export function newItem<T>(payload: T, sequenceId: number, now: number, key: string | undefined): QueueItem<T> {
  return new Item(payload, sequenceId, now, key);
}

/** What few items ever get: failures, stalls, a last error and history, a key, the suspect mark. */
interface ItemExtra {
  failures: number;
  stalls: number;
  lastError: SluiceError | undefined;
  key: string | undefined;
  history: AttemptRecord[] | undefined;
  suspect: boolean;
}

// The item of a pending message: five fields and one for the rarely-set rest (`ItemExtra`, made
// on first use), so a million pending items cost what their common fields do (heap per pending
// item ≤ 100 bytes, issue 21) rather than eleven slots each.
class Item<T> implements QueueItem<T> {
  payload: T;
  sequenceId: number;
  attempts = 0;
  enqueuedAt: number;
  bytes = 0;
  #extra: ItemExtra | undefined = undefined;

  constructor(payload: T, sequenceId: number, enqueuedAt: number, key: string | undefined) {
    this.payload = payload;
    this.sequenceId = sequenceId;
    this.enqueuedAt = enqueuedAt;
    if (key !== undefined) this.#more().key = key;
  }

  get failures(): number {
    return this.#extra?.failures ?? 0;
  }
  set failures(value: number) {
    if (value !== 0 || this.#extra !== undefined) this.#more().failures = value;
  }
  get stalls(): number {
    return this.#extra?.stalls ?? 0;
  }
  set stalls(value: number) {
    if (value !== 0 || this.#extra !== undefined) this.#more().stalls = value;
  }
  get suspect(): boolean {
    return this.#extra?.suspect ?? false;
  }
  set suspect(value: boolean) {
    if (value || this.#extra !== undefined) this.#more().suspect = value;
  }
  get lastError(): SluiceError | undefined {
    return this.#extra?.lastError;
  }
  set lastError(value: SluiceError | undefined) {
    if (value !== undefined || this.#extra !== undefined) this.#more().lastError = value;
  }
  get key(): string | undefined {
    return this.#extra?.key;
  }
  set key(value: string | undefined) {
    if (value !== undefined || this.#extra !== undefined) this.#more().key = value;
  }
  get history(): AttemptRecord[] | undefined {
    return this.#extra?.history;
  }
  set history(value: AttemptRecord[] | undefined) {
    if (value !== undefined || this.#extra !== undefined) this.#more().history = value;
  }

  #more(): ItemExtra {
    this.#extra ??= { failures: 0, stalls: 0, lastError: undefined, key: undefined, history: undefined, suspect: false };
    return this.#extra;
  }
}

/**
 * Remembers why a delivery ended, for the poison queue and the next lease's `lastError`.
 *
 * @example
 * ```ts
 * recordFailure(item, lease.attempt, error, clock.now());
 * ```
 */
export function recordFailure<T>(item: QueueItem<T>, attempt: number, error: SluiceError, now: number): void {
  item.lastError = error;
  (item.history ??= []).push({ attempt, code: error.code, message: error.message, at: now });
}

/**
 * A delivery stalled (expired, consumer vanished, process died): recorded, and counted toward `maxStalls`.
 *
 * @example
 * ```ts
 * recordStall(item, lease.attempt, sluiceError("lease.expired", "expired"), clock.now());
 * ```
 */
export function recordStall<T>(item: QueueItem<T>, attempt: number, error: SluiceError, now: number): void {
  recordFailure(item, attempt, error, now);
  item.stalls++;
}

/**
 * Which poison budget `item` has used up, if any: failures (`maxRetries`) or stalls (`maxStalls`).
 *
 * @example
 * ```ts
 * if (exhaustedBudget(item, options) !== undefined) poison(item);
 * ```
 */
export function exhaustedBudget(item: { readonly failures: number; readonly stalls: number }, limits: { readonly maxRetries: number; readonly maxStalls: number }): PoisonExhausted | undefined {
  if (item.failures >= limits.maxRetries) return "failures";
  if (item.stalls >= limits.maxStalls) return "stalls";
  return undefined;
}

/**
 * `LeaseTable`: the lease bookkeeping the queue delegates to, implemented twice with one
 * interface — in WASM (`assembly/leases.ts`, loaded by `src/wasm/`) and in plain JS (the reference).
 *
 * A lease occupies a slot. Its fencing token packs the slot's generation and the slot index into
 * one JS-safe integer: `token = generation * 2^24 + slot`. Releasing or expiring a slot bumps its
 * generation, so a token from an earlier delivery of the same slot is detectably stale.
 * Payloads never enter the table: callers keep them in a JS array indexed by `slotOf(token)`.
 *
 * @example
 * ```ts
 * const table: LeaseTable = createJsLeaseTable();
 * const token = table.acquire(1, clock.now() + 30_000);
 * records[table.slotOf(token)] = item;
 * table.extend(token, clock.now() + 30_000); // heartbeat
 * table.release(token);                       // ack / fail
 * table.isActive(token);                      // false: stale now
 * ```
 *
 * Ordering: deadlines live in a min-heap (binary in JS, 4-ary in WASM) keyed by (deadline,
 * acquire sequence), so leases with equal deadlines expire in acquire order, identically in both
 * implementations. Free slots are reused last-freed-first; new slots are taken in index order.
 */
export interface LeaseTable {
  /** Number of live leases. */
  readonly size: number;
  /** Starts a delivery: allocates a slot and returns its fencing token (> 0). Grows as needed. */
  acquire(attempt: number, deadline: number): number;
  /** True while `token` is the current, live delivery of its slot. */
  isActive(token: number): boolean;
  /** Slot index of a token (valid whether or not the token is still active). */
  slotOf(token: number): number;
  /** Attempt number recorded at acquire, or -1 if the token is not active. */
  attemptOf(token: number): number;
  /** Deadline of the lease, or -1 if the token is not active. */
  deadlineOf(token: number): number;
  /** Moves an active lease's deadline (heartbeat). False, and no change, if the token is stale. */
  extend(token: number, deadline: number): boolean;
  /** Ends an active lease and frees its slot. False, and no change, if the token is stale. */
  release(token: number): boolean;
  /**
   * `deadlineOf` then `release` in one call (one boundary crossing for WASM): ends an active lease
   * and returns the deadline it had, or -1, and no change, if the token is stale. The ack path.
   */
  take(token: number): number;
  /**
   * Ends every lease whose deadline is <= `now`, earliest first, writing their tokens to `out`.
   * Writes at most `out.length` tokens and returns how many; call again while it returns
   * `out.length` to drain the rest. Expired slots are freed like `release`.
   */
  expireUpTo(now: number, out: Float64Array): number;
  /** Earliest deadline among live leases, or `Infinity` when there are none. */
  nextDeadline(): number;
  /**
   * Batch `acquire`: `count` leases (at most `out.length`) with the same attempt and deadline,
   * tokens written to `out`; returns how many. One boundary crossing per batch for WASM.
   */
  acquireMany(attempt: number, deadline: number, count: number, out: Float64Array): number;
  /** Batch `release` of `tokens[0, count)`; returns how many were active (stale ones are skipped). */
  releaseMany(tokens: Float64Array, count: number): number;
}

/**
 * Which generations a table uses: `index + 1`, `index + 1 + count`, … — so tables on different
 * lanes (of the same `count`) can never issue the same token: a token names its queue.
 *
 * @example
 * ```ts
 * const lane: TokenLane = { index: 3, count: TOKEN_LANES };
 * ```
 */
export interface TokenLane {
  readonly index: number;
  readonly count: number;
}

/** The lane of a table that shares its token space with nobody (generations 1, 2, 3, …). */
export const SINGLE_LANE: TokenLane = Object.freeze({ index: 0, count: 1 });

/**
 * Lanes handed out to queues' tables: the first 64 queues of a process get distinct token
 * spaces; after that lanes repeat (the queue's own foreign-lease guard still holds), and a slot
 * reaches a generation wrap after 2^29 / 64 ≈ 8 M reuses instead of 2^29.
 *
 * @example
 * ```ts
 * nextTokenLane(); // { index: 0, count: 64 }, then index 1, …
 * ```
 */
export const TOKEN_LANES = 64;
let lanesIssued = 0;

/**
 * The next queue's token lane (round robin over `TOKEN_LANES`).
 *
 * @example
 * ```ts
 * const table = createLeaseTable({ lane: nextTokenLane() });
 * ```
 */
export function nextTokenLane(): TokenLane {
  return { index: lanesIssued++ % TOKEN_LANES, count: TOKEN_LANES };
}

/** Bits of the token that hold the slot index (16,777,216 slots). */
export const LEASE_SLOT_BITS = 24;
/** 2^24: multiplier that moves the generation above the slot bits. */
export const LEASE_SLOT_SPAN = 1 << LEASE_SLOT_BITS;
/** Generations run 1 .. 2^29 - 1 and wrap back to 1 (0 is never used, so tokens are > 0). */
export const LEASE_GENERATION_LIMIT = 2 ** 29;

/**
 * Slot index of a token (pure arithmetic, shared by both implementations); `token` is a
 * non-negative safe integer (callers validate wire tokens first).
 *
 * @example
 * ```ts
 * tokenSlot(3 * LEASE_SLOT_SPAN + 5); // 5
 * ```
 */
export function tokenSlot(token: number): number {
  // Not `token % LEASE_SLOT_SPAN`: tokens pass 2^31, and `%` on a double is an fmod call in V8
  // (about a tenth of a pump's time per message on Deno). `>>> 0` keeps the low 32 bits of the
  // integer exactly (2^24 divides 2^32), so for a token — a non-negative safe integer — it is the same.
  return (token >>> 0) & (LEASE_SLOT_SPAN - 1);
}

/**
 * Test hook both implementations carry (not part of `LeaseTable`): sets slot `slot`'s generation
 * so tests reach the generation wrap without 2^29 releases. Returns false for unused slots.
 *
 * @example
 * ```ts
 * setGenerationForTest(table, 0, LEASE_GENERATION_LIMIT - 1);
 * ```
 */
export function setGenerationForTest(table: LeaseTable, slot: number, generation: number): boolean {
  const hook = (table as { setGenerationForTest?: (s: number, g: number) => boolean }).setGenerationForTest;
  if (!hook) throw new TypeError("this LeaseTable has no test hook");
  return hook.call(table, slot, generation);
}

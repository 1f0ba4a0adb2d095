/**
 * `ResumableLeaseTable`: the `LeaseTable` of a queue in a Durable Object, which can take back
 * tokens issued by the object's previous incarnation (`restore`), so a consumer that stayed
 * connected through hibernation acks its lease with the token it was given.
 *
 * Same token layout as the WASM/JS tables (`generation * 2^24 + slot`, `tokenSlot` arithmetic):
 * the transport keys held leases by slot. Generations run on a lane (`TokenLane`) the object picks
 * from a counter it bumps at every rebuild, so a fresh lease never takes a token the previous
 * incarnation issued (until the lanes wrap, 64 rebuilds later). Plain JS and linear scans for the
 * earliest deadline: a Durable Object holds a few thousand leases at most and sweeps once per
 * lease period, so simplicity wins over the heap the hot-path tables keep.
 *
 * @example
 * ```ts
 * const table = new ResumableLeaseTable({ index: epoch % 64, count: 64 });
 * table.restore(token, 2, deadline);      // a lease from before hibernation
 * const fresh = table.acquire(1, Date.now() + 30_000);
 * ```
 */
import { LEASE_GENERATION_LIMIT, LEASE_SLOT_SPAN, type LeaseTable, type TokenLane, tokenSlot } from "../../wasm/lease-table.ts";

/**
 * A lease table that can restore tokens issued before a rebuild (see the module doc).
 *
 * @example
 * ```ts
 * const table = new ResumableLeaseTable({ index: 3, count: 64 });
 * ```
 */
export class ResumableLeaseTable implements LeaseTable {
  readonly #gen: number[] = [];
  readonly #attempt: number[] = [];
  /** Deadline of the live lease in a slot; -1 when the slot is free. */
  readonly #deadline: number[] = [];
  /** Acquire order, so equal deadlines expire in acquire order (as in the other tables). */
  readonly #order: number[] = [];
  readonly #free: number[] = [];
  readonly #start: number;
  readonly #step: number;
  #count = 0;
  #sequence = 0;
  #sealed = false;

  constructor(lane: TokenLane) {
    this.#start = lane.index + 1;
    this.#step = lane.count;
  }

  get size(): number {
    return this.#count;
  }

  /**
   * Takes back `token` (live before the rebuild) with its attempt and deadline. Only before the
   * first `acquire`; false when the token is not a valid one or its slot is already taken.
   */
  restore(token: number, attempt: number, deadline: number): boolean {
    if (this.#sealed || !Number.isSafeInteger(token) || token < LEASE_SLOT_SPAN) return false;
    const slot = tokenSlot(token);
    while (this.#deadline.length <= slot) this.#deadline.push(-1), this.#gen.push(0), this.#attempt.push(0), this.#order.push(0);
    if (this.#deadline[slot]! >= 0) return false;
    this.#gen[slot] = Math.floor(token / LEASE_SLOT_SPAN);
    this.#occupy(slot, attempt, deadline);
    return true;
  }

  acquire(attempt: number, deadline: number): number {
    if (!this.#sealed) this.#seal();
    let slot = this.#free.pop();
    if (slot === undefined) {
      slot = this.#deadline.length;
      if (slot >= LEASE_SLOT_SPAN) throw new RangeError("lease table is full (2^24 live leases)");
      this.#deadline.push(-1), this.#gen.push(this.#start), this.#attempt.push(0), this.#order.push(0);
    }
    this.#occupy(slot, attempt, deadline);
    return this.#gen[slot]! * LEASE_SLOT_SPAN + slot;
  }

  acquireMany(attempt: number, deadline: number, count: number, out: Float64Array): number {
    const n = Math.min(count, out.length);
    for (let i = 0; i < n; i++) out[i] = this.acquire(attempt, deadline);
    return n;
  }

  isActive(token: number): boolean {
    return this.#active(token) >= 0;
  }

  slotOf(token: number): number {
    return tokenSlot(token);
  }

  attemptOf(token: number): number {
    const slot = this.#active(token);
    return slot < 0 ? -1 : this.#attempt[slot]!;
  }

  deadlineOf(token: number): number {
    const slot = this.#active(token);
    return slot < 0 ? -1 : this.#deadline[slot]!;
  }

  extend(token: number, deadline: number): boolean {
    const slot = this.#active(token);
    if (slot < 0) return false;
    this.#deadline[slot] = deadline;
    return true;
  }

  release(token: number): boolean {
    const slot = this.#active(token);
    if (slot < 0) return false;
    this.#vacate(slot);
    return true;
  }

  take(token: number): number {
    const slot = this.#active(token);
    if (slot < 0) return -1;
    const deadline = this.#deadline[slot]!;
    this.#vacate(slot);
    return deadline;
  }

  releaseMany(tokens: Float64Array, count: number): number {
    let released = 0;
    for (let i = 0; i < Math.min(count, tokens.length); i++) if (this.release(tokens[i]!)) released++;
    return released;
  }

  expireUpTo(now: number, out: Float64Array): number {
    const due: number[] = [];
    for (let slot = 0; slot < this.#deadline.length; slot++) {
      const deadline = this.#deadline[slot]!;
      if (deadline >= 0 && deadline <= now) due.push(slot);
    }
    due.sort((a, b) => this.#deadline[a]! - this.#deadline[b]! || this.#order[a]! - this.#order[b]!);
    const n = Math.min(due.length, out.length);
    for (let i = 0; i < n; i++) {
      const slot = due[i]!;
      out[i] = this.#gen[slot]! * LEASE_SLOT_SPAN + slot;
      this.#vacate(slot);
    }
    return n;
  }

  nextDeadline(): number {
    let next = Infinity;
    for (const deadline of this.#deadline) if (deadline >= 0 && deadline < next) next = deadline;
    return next;
  }

  #occupy(slot: number, attempt: number, deadline: number): void {
    this.#attempt[slot] = attempt;
    this.#deadline[slot] = deadline;
    this.#order[slot] = ++this.#sequence;
    this.#count++;
  }

  // Slots below the highest restored one that nobody took back are free for new leases.
  #seal(): void {
    this.#sealed = true;
    for (let slot = this.#deadline.length - 1; slot >= 0; slot--) {
      if (this.#deadline[slot]! >= 0) continue;
      this.#gen[slot] = this.#start;
      this.#free.push(slot);
    }
  }

  #vacate(slot: number): void {
    this.#deadline[slot] = -1;
    this.#count--;
    // The next generation on this object's lane: never a token the previous incarnation issued.
    let gen = this.#gen[slot]! + this.#step;
    if ((gen - this.#start) % this.#step !== 0) gen = this.#start;
    if (gen >= LEASE_GENERATION_LIMIT) gen = this.#start;
    this.#gen[slot] = gen;
    if (this.#sealed) this.#free.push(slot);
  }

  #active(token: number): number {
    if (!Number.isSafeInteger(token) || token < 1) return -1;
    const slot = tokenSlot(token);
    if (slot >= this.#deadline.length || this.#deadline[slot]! < 0) return -1;
    return this.#gen[slot] === Math.floor(token / LEASE_SLOT_SPAN) ? slot : -1;
  }
}

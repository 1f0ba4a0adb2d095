/**
 * Pure-JS reference `LeaseTable`: typed arrays, same record layout and heap discipline as
 * `assembly/leases.ts`, so differential tests can demand identical tokens and expiry order.
 *
 * @example
 * ```ts
 * const table = createJsLeaseTable();
 * const token = table.acquire(1, 30_000);
 * table.release(token); // true
 * ```
 */
import { LEASE_GENERATION_LIMIT, LEASE_SLOT_SPAN, type LeaseTable, SINGLE_LANE, type TokenLane, tokenSlot } from "./lease-table.ts";

class JsLeaseTable implements LeaseTable {
  private cap: number;
  private high = 0;
  private count = 0;
  private freeHead = -1;
  private seq = 0;
  // Heap, indexed by heap position.
  private hDeadline: Float64Array;
  private hSeq: Float64Array;
  private hSlot: Uint32Array;
  // Slots, indexed by slot. `attempt` holds the next free slot while a slot is free.
  private gen: Uint32Array;
  private attempt: Uint32Array;
  private heapIndex: Int32Array;

  private readonly genStart: number;
  private readonly genStep: number;

  constructor(initialSlots: number, lane: TokenLane = SINGLE_LANE) {
    this.genStart = lane.index + 1;
    this.genStep = lane.count;
    this.cap = Math.max(16, initialSlots);
    this.hDeadline = new Float64Array(this.cap);
    this.hSeq = new Float64Array(this.cap);
    this.hSlot = new Uint32Array(this.cap);
    this.gen = new Uint32Array(this.cap);
    this.attempt = new Uint32Array(this.cap);
    this.heapIndex = new Int32Array(this.cap);
  }

  get size(): number {
    return this.count;
  }

  private grow(): void {
    const cap = Math.min(this.cap * 2, LEASE_SLOT_SPAN);
    const f64 = (a: Float64Array) => { const b = new Float64Array(cap); b.set(a); return b; };
    const u32 = (a: Uint32Array) => { const b = new Uint32Array(cap); b.set(a); return b; };
    this.hDeadline = f64(this.hDeadline);
    this.hSeq = f64(this.hSeq);
    this.hSlot = u32(this.hSlot);
    this.gen = u32(this.gen);
    this.attempt = u32(this.attempt);
    const hi = new Int32Array(cap);
    hi.set(this.heapIndex);
    this.heapIndex = hi;
    this.cap = cap;
  }

  private put(i: number, d: number, s: number, slot: number): void {
    this.hDeadline[i] = d;
    this.hSeq[i] = s;
    this.hSlot[i] = slot;
    this.heapIndex[slot] = i;
  }

  private siftUp(start: number, d: number, s: number, slot: number): void {
    let i = start;
    const hd = this.hDeadline;
    const hs = this.hSeq;
    while (i > 0) {
      const parent = (i - 1) >>> 1;
      const pd = hd[parent]!;
      const ps = hs[parent]!;
      if (!(d < pd || (d === pd && s < ps))) break;
      this.put(i, pd, ps, this.hSlot[parent]!);
      i = parent;
    }
    this.put(i, d, s, slot);
  }

  private siftDown(start: number, d: number, s: number, slot: number): void {
    let i = start;
    const n = this.count;
    const hd = this.hDeadline;
    const hs = this.hSeq;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      let c = l;
      let cd = hd[l]!;
      let cs = hs[l]!;
      if (l + 1 < n) {
        const rd = hd[l + 1]!;
        const rs = hs[l + 1]!;
        if (rd < cd || (rd === cd && rs < cs)) {
          c = l + 1;
          cd = rd;
          cs = rs;
        }
      }
      if (!(cd < d || (cd === d && cs < s))) break;
      this.put(i, cd, cs, this.hSlot[c]!);
      i = c;
    }
    this.put(i, d, s, slot);
  }

  /**
   * Bottom-up (Floyd) deletion: the hole walks down along the smaller child to a leaf (one
   * comparison a level instead of sift-down's two) and the last entry, put there, is sifted up.
   * Released and expired leases are nearly always the root and the last entry among the latest
   * deadlines, so that sift-up rarely moves. Same keys, so the same expiry order as before.
   */
  private removeAt(i: number): void {
    const slot = this.hSlot[i]!;
    const n = --this.count;
    if (i !== n) {
      const hd = this.hDeadline;
      const hs = this.hSeq;
      const d = hd[n]!;
      const s = hs[n]!;
      const ls = this.hSlot[n]!;
      let h = i;
      for (;;) {
        const l = 2 * h + 1;
        if (l >= n) break;
        let c = l;
        if (l + 1 < n) {
          const ld = hd[l]!;
          const rd = hd[l + 1]!;
          if (rd < ld || (rd === ld && hs[l + 1]! < hs[l]!)) c = l + 1;
        }
        this.put(h, hd[c]!, hs[c]!, this.hSlot[c]!);
        h = c;
      }
      this.siftUp(h, d, s, ls);
    }
    let g = this.gen[slot]! + this.genStep;
    if (g >= LEASE_GENERATION_LIMIT) g = this.genStart;
    this.gen[slot] = g;
    this.heapIndex[slot] = -1;
    this.attempt[slot] = this.freeHead;
    this.freeHead = slot;
  }

  private activeSlot(token: number): number {
    if (!(token >= 1 && token <= Number.MAX_SAFE_INTEGER) || Math.floor(token) !== token) return -1;
    const slot = tokenSlot(token);
    if (slot >= this.high) return -1;
    if (this.heapIndex[slot]! < 0 || this.gen[slot] !== Math.floor(token / LEASE_SLOT_SPAN)) return -1;
    return slot;
  }

  acquire(attempt: number, deadline: number): number {
    let slot: number;
    if (this.freeHead >= 0) {
      slot = this.freeHead;
      this.freeHead = this.attempt[slot]!;
      if (this.freeHead === 0xffffffff) this.freeHead = -1;
    } else {
      if (this.high >= LEASE_SLOT_SPAN) throw new RangeError("lease table is full (2^24 live leases)");
      if (this.high === this.cap) this.grow();
      slot = this.high++;
      this.gen[slot] = this.genStart;
    }
    this.attempt[slot] = attempt;
    this.seq += 1;
    this.siftUp(this.count++, deadline, this.seq, slot);
    return this.gen[slot]! * LEASE_SLOT_SPAN + slot;
  }

  acquireMany(attempt: number, deadline: number, count: number, out: Float64Array): number {
    const n = Math.min(count, out.length);
    for (let i = 0; i < n; i++) out[i] = this.acquire(attempt, deadline);
    return n;
  }

  isActive(token: number): boolean {
    return this.activeSlot(token) >= 0;
  }

  slotOf(token: number): number {
    return tokenSlot(token);
  }

  attemptOf(token: number): number {
    const s = this.activeSlot(token);
    return s < 0 ? -1 : this.attempt[s]!;
  }

  deadlineOf(token: number): number {
    const s = this.activeSlot(token);
    return s < 0 ? -1 : this.hDeadline[this.heapIndex[s]!]!;
  }

  extend(token: number, deadline: number): boolean {
    const s = this.activeSlot(token);
    if (s < 0) return false;
    const i = this.heapIndex[s]!;
    const old = this.hDeadline[i]!;
    const sq = this.hSeq[i]!;
    if (deadline < old) this.siftUp(i, deadline, sq, s);
    else this.siftDown(i, deadline, sq, s);
    return true;
  }

  release(token: number): boolean {
    const s = this.activeSlot(token);
    if (s < 0) return false;
    this.removeAt(this.heapIndex[s]!);
    return true;
  }

  take(token: number): number {
    const s = this.activeSlot(token);
    if (s < 0) return -1;
    const i = this.heapIndex[s]!;
    const deadline = this.hDeadline[i]!;
    this.removeAt(i);
    return deadline;
  }

  releaseMany(tokens: Float64Array, count: number): number {
    const n = Math.min(count, tokens.length);
    let released = 0;
    for (let i = 0; i < n; i++) if (this.release(tokens[i]!)) released++;
    return released;
  }

  expireUpTo(now: number, out: Float64Array): number {
    let n = 0;
    while (n < out.length && this.count > 0 && this.hDeadline[0]! <= now) {
      const slot = this.hSlot[0]!;
      out[n++] = this.gen[slot]! * LEASE_SLOT_SPAN + slot;
      this.removeAt(0);
    }
    return n;
  }

  nextDeadline(): number {
    return this.count === 0 ? Infinity : this.hDeadline[0]!;
  }

  setGenerationForTest(slot: number, generation: number): boolean {
    if (slot >= this.high || generation === 0 || generation >= LEASE_GENERATION_LIMIT) return false;
    this.gen[slot] = generation;
    return true;
  }
}

/**
 * The pure-JS reference lease table.
 *
 * @example
 * ```ts
 * const table = createJsLeaseTable({ initialSlots: 4096 });
 * ```
 */
export function createJsLeaseTable(options: { initialSlots?: number; lane?: TokenLane } = {}): LeaseTable {
  return new JsLeaseTable(options.initialSlots ?? 1024, options.lane);
}

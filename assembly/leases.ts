// Lease table: slots with generation counters plus a 4-ary min-heap of deadlines.
// One 32-byte record per index i serves two arrays at once, so the table grows by appending
// memory and never moves anything:
//   +0  heap[i].deadline f64   +8  heap[i].seq f64   +16 heap[i].slot u32
//   +20 slot[i].generation u32 +24 slot[i].attempt u32 (next free slot while free)
//   +28 slot[i].heapIndex i32 (-1 while free)
// Heap order is (deadline, seq): seq is the acquire sequence number, so equal deadlines expire
// in acquire order and every correct heap yields the same expiry order (the JS reference too).

import { radixScratchBytes, radixSortEntries } from "./sort";

const REC: usize = 32;
const SLOT_SPAN: f64 = 16777216.0; // 2^24
const MAX_SLOTS: u32 = 1 << 24;
const GEN_LIMIT: u32 = 1 << 29;

let recBase: usize = 0;
let scratch: usize = 0; // f64 × scratchCap, for batch in/out
let scratchCap: u32 = 0;
let cap: u32 = 0; // records backed by memory
let high: u32 = 0; // slots ever used
let size: u32 = 0;
let freeHead: i32 = -1;
let seq: f64 = 0;
// Token lanes: generations of this table are lane + 1, lane + 1 + lanes, … (≡ lane + 1 mod lanes),
// so tables on different lanes never issue the same token.
let genStart: u32 = 1;
let genStep: u32 = 1;

// @ts-ignore: decorator
@inline function rec(i: u32): usize { return recBase + <usize>i * REC; }

/** Places the scratch area (`scratchSlots` f64) and the records; returns 0 if memory cannot grow. */
export function leaseSetup(scratchAt: usize, scratchSlots: u32, recordsAt: usize, initialSlots: u32, lane: u32, lanes: u32): u32 {
  genStart = lane + 1;
  genStep = lanes;
  scratch = scratchAt;
  scratchCap = scratchSlots;
  recBase = recordsAt;
  cap = 0;
  high = 0;
  size = 0;
  freeHead = -1;
  seq = 0;
  return grow(max<u32>(initialSlots, 16)) ? 1 : 0;
}

function grow(to: u32): bool {
  const end = recBase + <usize>to * REC;
  const have = <usize>memory.size() << 16;
  if (end > have && memory.grow(<i32>((end - have + 0xffff) >>> 16)) < 0) return false;
  cap = to;
  return true;
}

// @ts-ignore: decorator
@inline function less(d1: f64, s1: f64, d2: f64, s2: f64): bool {
  return d1 < d2 || (d1 == d2 && s1 < s2);
}

// @ts-ignore: decorator
@inline function put(i: u32, d: f64, s: f64, slot: u32): void {
  const r = rec(i);
  store<f64>(r, d);
  store<f64>(r, s, 8);
  store<u32>(r, slot, 16);
  store<i32>(rec(slot), <i32>i, 28);
}

// A 4-ary heap: half the depth of a binary heap, and a node's four children sit in two adjacent
// cache lines, so a pop touches about half as many lines (the sweep is memory-bound). The expiry
// order is fixed by the (deadline, seq) keys, so it still equals the JS reference's binary heap.
function siftUp(start: u32, d: f64, s: f64, slot: u32): void {
  let i = start;
  while (i > 0) {
    const parent = (i - 1) >>> 2;
    const pr = rec(parent);
    const pd = load<f64>(pr);
    const ps = load<f64>(pr, 8);
    if (!less(d, s, pd, ps)) break;
    put(i, pd, ps, load<u32>(pr, 16));
    i = parent;
  }
  put(i, d, s, slot);
}

/** The smallest of the (up to 4) children of a heap node, its first child at `first`, in a heap of `n`. */
// @ts-ignore: decorator
@inline function smallestChild(first: u32, n: u32): u32 {
  const last = min<u32>(first + 4, n);
  let c = first;
  let cr = rec(first);
  let cd = load<f64>(cr);
  let cs = load<f64>(cr, 8);
  for (let k = first + 1; k < last; k++) {
    const kr = rec(k);
    const kd = load<f64>(kr);
    const ks = load<f64>(kr, 8);
    if (less(kd, ks, cd, cs)) {
      c = k;
      cr = kr;
      cd = kd;
      cs = ks;
    }
  }
  return c;
}

function siftDown(start: u32, d: f64, s: f64, slot: u32): void {
  let i = start;
  const n = size;
  while (true) {
    const first: u32 = (i << 2) + 1;
    if (first >= n) break;
    const c = smallestChild(first, n);
    const cr = rec(c);
    const cd = load<f64>(cr);
    const cs = load<f64>(cr, 8);
    if (!less(cd, cs, d, s)) break;
    put(i, cd, cs, load<u32>(cr, 16));
    i = c;
  }
  put(i, d, s, slot);
}

/**
 * Removes heap entry `i` and frees its slot (generation bump, push on the free list).
 * Bottom-up (Floyd): the hole walks down along the smallest child to a leaf — 3 comparisons a
 * level instead of sift-down's 4 — and the last entry, which goes there, is sifted up. The acked
 * or expired lease is nearly always the root and the last entry nearly always among the latest
 * deadlines, so that sift-up rarely moves. Any placement is a valid heap with the same keys, so
 * the expiry order is unchanged.
 */
function removeAt(i: u32): void {
  const slot = load<u32>(rec(i), 16);
  const n = --size;
  if (i != n) {
    const lr = rec(n);
    const d = load<f64>(lr);
    const s = load<f64>(lr, 8);
    const ls = load<u32>(lr, 16);
    let h = i;
    while (true) {
      const first: u32 = (h << 2) + 1;
      if (first >= n) break;
      const c = smallestChild(first, n);
      const cr = rec(c);
      const cd = load<f64>(cr);
      const cs = load<f64>(cr, 8);
      put(h, cd, cs, load<u32>(cr, 16));
      h = c;
    }
    siftUp(h, d, s, ls);
  }
  freeSlot(slot);
}

/** Ends a slot's lease: bumps its generation (stale tokens stop matching), unlinks it from the heap, pushes it on the free list. */
// @ts-ignore: decorator
@inline function freeSlot(slot: u32): void {
  const r = rec(slot);
  let g = load<u32>(r, 20) + genStep;
  if (g >= GEN_LIMIT) g = genStart;
  store<u32>(r, g, 20);
  store<i32>(r, -1, 28);
  store<u32>(r, <u32>freeHead, 24);
  freeHead = <i32>slot;
}

// @ts-ignore: decorator
@inline function tokenOf(slot: u32): f64 {
  return <f64>load<u32>(rec(slot), 20) * SLOT_SPAN + <f64>slot;
}

/** Slot of an active token, or -1 (stale, malformed, never issued). */
function activeSlot(token: f64): i32 {
  if (!(token >= 1.0 && token <= 9007199254740991.0)) return -1;
  const t = <u64>token;
  if (<f64>t != token) return -1;
  const slot = <u32>(t & 0xffffff);
  if (slot >= high) return -1;
  const r = rec(slot);
  if (load<i32>(r, 28) < 0 || <u64>load<u32>(r, 20) != t >> 24) return -1;
  return <i32>slot;
}

export function leaseSize(): u32 { return size; }

/** Returns the new token, or 0 when the table is full or memory cannot grow. */
export function leaseAcquire(attempt: u32, deadline: f64): f64 {
  let slot: u32;
  if (freeHead >= 0) {
    slot = <u32>freeHead;
    freeHead = <i32>load<u32>(rec(slot), 24);
  } else {
    if (high >= MAX_SLOTS) return 0;
    if (high == cap && !grow(min<u32>(cap * 2, MAX_SLOTS))) return 0;
    slot = high++;
    store<u32>(rec(slot), genStart, 20);
  }
  store<u32>(rec(slot), attempt, 24);
  seq += 1;
  siftUp(size++, deadline, seq, slot);
  return tokenOf(slot);
}

/** Acquires `count` (<= scratch) leases with one attempt/deadline; tokens go to scratch. */
export function leaseAcquireMany(attempt: u32, deadline: f64, count: u32): u32 {
  const n = min<u32>(count, scratchCap);
  for (let i: u32 = 0; i < n; i++) {
    const t = leaseAcquire(attempt, deadline);
    if (t == 0) return i;
    store<f64>(scratch + (<usize>i << 3), t);
  }
  return n;
}

export function leaseIsActive(token: f64): bool { return activeSlot(token) >= 0; }

export function leaseAttemptOf(token: f64): f64 {
  const s = activeSlot(token);
  return s < 0 ? -1 : <f64>load<u32>(rec(<u32>s), 24);
}

export function leaseDeadlineOf(token: f64): f64 {
  const s = activeSlot(token);
  return s < 0 ? -1 : load<f64>(rec(<u32>load<i32>(rec(<u32>s), 28)));
}

export function leaseExtend(token: f64, deadline: f64): bool {
  const s = activeSlot(token);
  if (s < 0) return false;
  const i = <u32>load<i32>(rec(<u32>s), 28);
  const r = rec(i);
  const old = load<f64>(r);
  const sq = load<f64>(r, 8);
  if (less(deadline, sq, old, sq)) siftUp(i, deadline, sq, <u32>s);
  else siftDown(i, deadline, sq, <u32>s);
  return true;
}

/** Releases an active lease and returns the deadline it had, or -1 (no change) if the token is stale. */
export function leaseTake(token: f64): f64 {
  const s = activeSlot(token);
  if (s < 0) return -1;
  const i = <u32>load<i32>(rec(<u32>s), 28);
  const deadline = load<f64>(rec(i));
  removeAt(i);
  return deadline;
}

export function leaseRelease(token: f64): bool {
  const s = activeSlot(token);
  if (s < 0) return false;
  removeAt(<u32>load<i32>(rec(<u32>s), 28));
  return true;
}

/** Releases the first `count` tokens in scratch; returns how many were active. */
export function leaseReleaseMany(count: u32): u32 {
  const n = min<u32>(count, scratchCap);
  let released: u32 = 0;
  for (let i: u32 = 0; i < n; i++) if (leaseRelease(load<f64>(scratch + (<usize>i << 3)))) released++;
  return released;
}

let outPtr: usize = 0;

/** Where the last `leaseExpireUpTo` wrote its tokens (valid until the next acquire). */
export function leaseOutPtr(): usize { return outPtr; }

/**
 * Expires up to `maxOut` leases with deadline <= now, earliest first; tokens go to `leaseOutPtr()`
 * (a temporary area after the records). Returns the count, or 0 if memory cannot grow.
 * When a large share of the heap is due, popping one by one is dominated by cache misses (each
 * sift level touches a random slot record), so a bulk path scans the heap linearly, sorts the due
 * entries, and re-heapifies the rest: O(n + k log k) with sequential access.
 */
export function leaseExpireUpTo(now: f64, maxOut: u32): u32 {
  if (size == 0 || load<f64>(rec(0)) > now || maxOut == 0) return 0;
  const limit = min<u32>(maxOut, size);
  outPtr = (recBase + <usize>cap * REC + 7) & ~7;
  // 24 bytes per due entry for the bulk path's sort buffer (tokens are written over it), then
  // the radix sort's scratch.
  const need = outPtr + <usize>limit * 24 + radixScratchBytes(limit);
  const have = <usize>memory.size() << 16;
  if (need > have && memory.grow(<i32>((need - have + 0xffff) >>> 16)) < 0) return 0;
  if (limit >= size >>> 3) {
    let due: u32 = 0;
    for (let i: u32 = 0; i < size; i++) if (load<f64>(rec(i)) <= now) due++;
    if (due <= limit && due >= size >>> 4) return bulkExpire(now, due);
  }
  let n: u32 = 0;
  while (n < limit && size > 0 && load<f64>(rec(0)) <= now) {
    store<f64>(outPtr + (<usize>n << 3), tokenOf(load<u32>(rec(0), 16)));
    removeAt(0);
    n++;
  }
  return n;
}

function bulkExpire(now: f64, due: u32): u32 {
  // 1. Split: due entries -> buffer (deadline, seq, slot as f64); the rest compacted in place.
  let k: usize = 0;
  let m: u32 = 0;
  for (let i: u32 = 0; i < size; i++) {
    const r = rec(i);
    const d = load<f64>(r);
    const sq = load<f64>(r, 8);
    const slot = load<u32>(r, 16);
    if (d <= now) {
      const b = outPtr + k * 24;
      store<f64>(b, d);
      store<f64>(b, sq, 8);
      store<f64>(b, <f64>slot, 16);
      k++;
    } else {
      put(m++, d, sq, slot);
    }
  }
  // 2. Order the due entries by (deadline, seq), the same order pops would give.
  radixSortEntries(outPtr, <u32>k, outPtr + <usize>k * 24);
  // 3. Free their slots in that order (same free-list order as one-by-one expiry); emit tokens.
  for (let j: usize = 0; j < k; j++) {
    const slot = <u32>load<f64>(outPtr + j * 24, 16);
    const token = tokenOf(slot);
    freeSlot(slot);
    store<f64>(outPtr + (j << 3), token); // j*8 <= j*24: never overwrites unread entries
  }
  // 4. Re-heapify the survivors (Floyd, bottom-up).
  size = m;
  if (m > 1) {
    let i = <i32>((m - 2) >>> 2);
    for (; i >= 0; i--) {
      const r = rec(<u32>i);
      siftDown(<u32>i, load<f64>(r), load<f64>(r, 8), load<u32>(r, 16));
    }
  }
  return <u32>k;
}

export function leaseNextDeadline(): f64 {
  return size == 0 ? Infinity : load<f64>(rec(0));
}

/** Test hook: sets a slot's generation (to reach the wrap without 2^29 releases). */
export function leaseSetGeneration(slot: u32, generation: u32): bool {
  if (slot >= high || generation == 0 || generation >= GEN_LIMIT) return false;
  store<u32>(rec(slot), generation, 20);
  return true;
}

// Lease table: slots with generation counters plus a binary min-heap of deadlines.
// One 32-byte record per index i serves two arrays at once, so the table grows by appending
// memory and never moves anything:
//   +0  heap[i].deadline f64   +8  heap[i].seq f64   +16 heap[i].slot u32
//   +20 slot[i].generation u32 +24 slot[i].attempt u32 (next free slot while free)
//   +28 slot[i].heapIndex i32 (-1 while free)
// Heap order is (deadline, seq): seq is the acquire sequence number, so equal deadlines expire
// in acquire order and every correct heap yields the same expiry order (the JS reference too).

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

// @ts-ignore: decorator
@inline function rec(i: u32): usize { return recBase + <usize>i * REC; }

/** Places the scratch area (`scratchSlots` f64) and the records; returns 0 if memory cannot grow. */
export function leaseSetup(scratchAt: usize, scratchSlots: u32, recordsAt: usize, initialSlots: u32): u32 {
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

function siftUp(start: u32, d: f64, s: f64, slot: u32): void {
  let i = start;
  while (i > 0) {
    const parent = (i - 1) >>> 1;
    const pr = rec(parent);
    const pd = load<f64>(pr);
    const ps = load<f64>(pr, 8);
    if (!less(d, s, pd, ps)) break;
    put(i, pd, ps, load<u32>(pr, 16));
    i = parent;
  }
  put(i, d, s, slot);
}

function siftDown(start: u32, d: f64, s: f64, slot: u32): void {
  let i = start;
  const n = size;
  while (true) {
    const l: u32 = (i << 1) + 1;
    if (l >= n) break;
    let c = l;
    let cr = rec(l);
    let cd = load<f64>(cr);
    let cs = load<f64>(cr, 8);
    if (l + 1 < n) {
      const rr = rec(l + 1);
      const rd = load<f64>(rr);
      const rs = load<f64>(rr, 8);
      if (less(rd, rs, cd, cs)) {
        c = l + 1;
        cr = rr;
        cd = rd;
        cs = rs;
      }
    }
    if (!less(cd, cs, d, s)) break;
    put(i, cd, cs, load<u32>(cr, 16));
    i = c;
  }
  put(i, d, s, slot);
}

/** Removes heap entry `i` and frees its slot (generation bump, push on the free list). */
function removeAt(i: u32): void {
  const slot = load<u32>(rec(i), 16);
  const last = --size;
  if (i != last) {
    const lr = rec(last);
    const d = load<f64>(lr);
    const s = load<f64>(lr, 8);
    const ls = load<u32>(lr, 16);
    if (i > 0) {
      const pr = rec((i - 1) >>> 1);
      if (less(d, s, load<f64>(pr), load<f64>(pr, 8))) siftUp(i, d, s, ls);
      else siftDown(i, d, s, ls);
    } else siftDown(i, d, s, ls);
  }
  const r = rec(slot);
  let g = load<u32>(r, 20) + 1;
  if (g >= GEN_LIMIT) g = 1;
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
    store<u32>(rec(slot), 1, 20);
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

/** Expires up to `maxOut` (<= scratch) leases with deadline <= now into scratch, earliest first. */
export function leaseExpireUpTo(now: f64, maxOut: u32): u32 {
  const limit = min<u32>(maxOut, scratchCap);
  let n: u32 = 0;
  while (n < limit && size > 0 && load<f64>(rec(0)) <= now) {
    store<f64>(scratch + (<usize>n << 3), tokenOf(load<u32>(rec(0), 16)));
    removeAt(0);
    n++;
  }
  return n;
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

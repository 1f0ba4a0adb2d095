// Sorting of 24-byte entries (deadline f64, seq f64, payload f64) by (deadline, seq), used by the
// lease table's bulk expiry. Keys are unique (seq is), so the order is total.

// ---- LSD radix sort (the bulk-expiry path) ----
// Sorts the same 24-byte entries by (deadline, seq) in O(n) passes instead of O(n log n)
// comparisons. Each f64 is mapped to a u64 whose unsigned order is the float order; bytes are
// sorted least-significant first, seq bytes before deadline bytes, so the (stable) deadline
// passes keep seq order among equal deadlines. A pass whose byte is the same in every entry is
// skipped: integral deadlines and small sequence numbers leave most low mantissa bytes zero.

// @ts-ignore: decorator
@inline function orderedBits(v: f64): u64 {
  const b = reinterpret<u64>(v);
  return (b >> 63) != 0 ? ~b : b | 0x8000000000000000;
}

/** Bytes needed at `scratch` by `radixSortEntries` for `n` entries: a second buffer + 16 histograms. */
export function radixScratchBytes(n: u32): usize {
  return <usize>n * 24 + 16 * 256 * 4;
}

/** Stable radix sort of `n` 24-byte entries at `base` by (deadline, seq); `scratch` as sized above. */
export function radixSortEntries(base: usize, n: u32, scratch: usize): void {
  if (n < 2) return;
  const counts = scratch + <usize>n * 24;
  memory.fill(counts, 0, 16 * 256 * 4);
  // One read of the data fills all 16 histograms (passes 0-7: seq bytes, 8-15: deadline bytes).
  for (let i: u32 = 0; i < n; i++) {
    const e = base + <usize>i * 24;
    const s = orderedBits(load<f64>(e, 8));
    const d = orderedBits(load<f64>(e));
    for (let p: u32 = 0; p < 8; p++) {
      const cs = counts + ((<usize>p << 8) + <usize>((s >> (<u64>p << 3)) & 0xff)) * 4;
      store<u32>(cs, load<u32>(cs) + 1);
      const cd = counts + ((<usize>(p + 8) << 8) + <usize>((d >> (<u64>p << 3)) & 0xff)) * 4;
      store<u32>(cd, load<u32>(cd) + 1);
    }
  }
  let src = base;
  let dst = scratch;
  for (let p: u32 = 0; p < 16; p++) {
    const hist = counts + (<usize>p << 10);
    // A pass is trivial when the bucket of any one entry's byte holds all n entries.
    const firstKey = p < 8 ? orderedBits(load<f64>(src, 8)) : orderedBits(load<f64>(src));
    const shift = <u64>(p & 7) << 3;
    if (load<u32>(hist + <usize>((firstKey >> shift) & 0xff) * 4) == n) continue;
    // Exclusive prefix sums turn counts into start offsets.
    let sum: u32 = 0;
    for (let b: usize = 0; b < 256; b++) {
      const c = load<u32>(hist + b * 4);
      store<u32>(hist + b * 4, sum);
      sum += c;
    }
    for (let i: u32 = 0; i < n; i++) {
      const e = src + <usize>i * 24;
      const key = p < 8 ? orderedBits(load<f64>(e, 8)) : orderedBits(load<f64>(e));
      const slotAt = hist + <usize>((key >> shift) & 0xff) * 4;
      const to = load<u32>(slotAt);
      store<u32>(slotAt, to + 1);
      const o = dst + <usize>to * 24;
      store<f64>(o, load<f64>(e));
      store<f64>(o, load<f64>(e, 8), 8);
      store<f64>(o, load<f64>(e, 16), 16);
    }
    const t = src;
    src = dst;
    dst = t;
  }
  if (src != base) memory.copy(base, src, <usize>n * 24);
}

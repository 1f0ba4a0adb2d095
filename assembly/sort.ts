// In-place quicksort of 24-byte entries (deadline f64, seq f64, payload f64) by (deadline, seq),
// used by the lease table's bulk expiry. Keys are unique (seq is), so no equal-key handling.

// @ts-ignore: decorator
@inline function less(d1: f64, s1: f64, d2: f64, s2: f64): bool {
  return d1 < d2 || (d1 == d2 && s1 < s2);
}

// @ts-ignore: decorator
@inline function entryLess(a: usize, b: usize): bool {
  return less(load<f64>(a), load<f64>(a, 8), load<f64>(b), load<f64>(b, 8));
}

function swapEntries(a: usize, b: usize): void {
  const d = load<f64>(a);
  const s = load<f64>(a, 8);
  const t = load<f64>(a, 16);
  store<f64>(a, load<f64>(b));
  store<f64>(a, load<f64>(b, 8), 8);
  store<f64>(a, load<f64>(b, 16), 16);
  store<f64>(b, d);
  store<f64>(b, s, 8);
  store<f64>(b, t, 16);
}

/** Quicksort (median-of-three, insertion sort below 16) of 24-byte entries [lo, hi]. */
export function sortEntries(base: usize, lo0: i32, hi0: i32): void {
  let lo = lo0;
  let hi = hi0;
  while (hi - lo > 16) {
    const mid = lo + ((hi - lo) >> 1);
    const pl = base + <usize>lo * 24;
    const pm = base + <usize>mid * 24;
    const ph = base + <usize>hi * 24;
    if (entryLess(pm, pl)) swapEntries(pm, pl);
    if (entryLess(ph, pl)) swapEntries(ph, pl);
    if (entryLess(ph, pm)) swapEntries(ph, pm);
    swapEntries(pm, base + <usize>(hi - 1) * 24); // pivot at hi - 1
    const pivot = base + <usize>(hi - 1) * 24;
    let i = lo;
    let j = hi - 1;
    while (true) {
      do i++; while (entryLess(base + <usize>i * 24, pivot));
      do j--; while (entryLess(pivot, base + <usize>j * 24));
      if (i >= j) break;
      swapEntries(base + <usize>i * 24, base + <usize>j * 24);
    }
    swapEntries(base + <usize>i * 24, pivot);
    // Recurse into the smaller side, loop on the larger: stack depth stays O(log n).
    if (i - lo < hi - i) {
      sortEntries(base, lo, i - 1);
      lo = i + 1;
    } else {
      sortEntries(base, i + 1, hi);
      hi = i - 1;
    }
  }
  for (let a = lo + 1; a <= hi; a++) {
    let b = a;
    while (b > lo && entryLess(base + <usize>b * 24, base + <usize>(b - 1) * 24)) {
      swapEntries(base + <usize>b * 24, base + <usize>(b - 1) * 24);
      b--;
    }
  }
}

// CRC32C (Castagnoli, reflected polynomial 0x82F63B78), slicing-by-8.
// The eight 256-entry tables live in linear memory at `crcTables` (8 KiB), filled once by
// `initCrcTables`; the hot loop folds 8 input bytes per step with two 32-bit loads.

let crcTables: usize = 0;

/** Fills the slicing-by-8 tables at `at` (8192 bytes, 4-aligned). */
export function initCrcTables(at: usize): void {
  crcTables = at;
  for (let i: u32 = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    store<u32>(at + (<usize>i << 2), c);
  }
  for (let i: u32 = 0; i < 256; i++) {
    let c = load<u32>(at + (<usize>i << 2));
    for (let t: usize = 1; t < 8; t++) {
      c = (c >>> 8) ^ load<u32>(at + (<usize>(c & 0xff) << 2));
      store<u32>(at + (t << 10) + (<usize>i << 2), c);
    }
  }
}

// @ts-ignore: decorator
@inline function tab(t: usize, i: u32): u32 {
  return load<u32>(crcTables + (t << 10) + (<usize>i << 2));
}

/** CRC32C of `len` bytes at `ptr`. The caller guarantees the range lies inside its input. */
export function crc32cAt(ptr: usize, len: usize): u32 {
  let crc: u32 = 0xffffffff;
  let p = ptr;
  const end = ptr + len;
  while (end - p >= 8) {
    const a = load<u32>(p) ^ crc;
    const b = load<u32>(p, 4);
    crc =
      tab(7, a & 0xff) ^
      tab(6, (a >>> 8) & 0xff) ^
      tab(5, (a >>> 16) & 0xff) ^
      tab(4, a >>> 24) ^
      tab(3, b & 0xff) ^
      tab(2, (b >>> 8) & 0xff) ^
      tab(1, (b >>> 16) & 0xff) ^
      tab(0, b >>> 24);
    p += 8;
  }
  while (p < end) {
    crc = (crc >>> 8) ^ tab(0, (crc ^ <u32>load<u8>(p)) & 0xff);
    p++;
  }
  return crc ^ 0xffffffff;
}

// CRC32C (Castagnoli, reflected polynomial 0x82F63B78), slicing-by-16 (then by-8, then bytewise).
// The sixteen 256-entry tables live in linear memory at `crcTables` (16 KiB), filled once by
// `initCrcTables`; the hot loop folds 16 input bytes per step with four 32-bit loads. (By-16 beat
// by-8 by ~1.3x here; the tables stay L1-resident.)

let crcTables: usize = 0;

/** Fills the slicing-by-16 tables at `at` (16384 bytes, 4-aligned). */
export function initCrcTables(at: usize): void {
  crcTables = at;
  for (let i: u32 = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    store<u32>(at + (<usize>i << 2), c);
  }
  for (let i: u32 = 0; i < 256; i++) {
    let c = load<u32>(at + (<usize>i << 2));
    for (let t: usize = 1; t < 16; t++) {
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
  // Table t starts at T + t * 1024: that part of each address is a load's constant immediate
  // offset, so each of the 16 lookups costs one shift-and-add instead of three.
  const T = crcTables;
  while (end - p >= 16) {
    const a = load<u32>(p) ^ crc;
    const b = load<u32>(p, 4);
    const c = load<u32>(p, 8);
    const d = load<u32>(p, 12);
    crc =
      load<u32>(T + ((<usize>a & 0xff) << 2), 15360) ^ load<u32>(T + ((<usize>(a >>> 8) & 0xff) << 2), 14336) ^
      load<u32>(T + ((<usize>(a >>> 16) & 0xff) << 2), 13312) ^ load<u32>(T + (<usize>(a >>> 24) << 2), 12288) ^
      load<u32>(T + ((<usize>b & 0xff) << 2), 11264) ^ load<u32>(T + ((<usize>(b >>> 8) & 0xff) << 2), 10240) ^
      load<u32>(T + ((<usize>(b >>> 16) & 0xff) << 2), 9216) ^ load<u32>(T + (<usize>(b >>> 24) << 2), 8192) ^
      load<u32>(T + ((<usize>c & 0xff) << 2), 7168) ^ load<u32>(T + ((<usize>(c >>> 8) & 0xff) << 2), 6144) ^
      load<u32>(T + ((<usize>(c >>> 16) & 0xff) << 2), 5120) ^ load<u32>(T + (<usize>(c >>> 24) << 2), 4096) ^
      load<u32>(T + ((<usize>d & 0xff) << 2), 3072) ^ load<u32>(T + ((<usize>(d >>> 8) & 0xff) << 2), 2048) ^
      load<u32>(T + ((<usize>(d >>> 16) & 0xff) << 2), 1024) ^ load<u32>(T + (<usize>(d >>> 24) << 2));
    p += 16;
  }
  if (end - p >= 8) {
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

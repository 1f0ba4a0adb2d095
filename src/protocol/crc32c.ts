/**
 * Pure-JS CRC32C (Castagnoli, reflected polynomial 0x82F63B78), slicing-by-8: the same algorithm
 * the WASM module runs, so benchmarks compare runtimes rather than algorithms.
 *
 * @example
 * ```ts
 * crc32c(new TextEncoder().encode("123456789")); // 0xe3069283
 * ```
 */
const TABLES: Int32Array = (() => {
  const t = new Int32Array(8 * 256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[i] = c;
  }
  for (let i = 0; i < 256; i++) {
    let c = t[i]!;
    for (let k = 1; k < 8; k++) {
      c = (c >>> 8) ^ t[c & 0xff]!;
      t[k * 256 + i] = c;
    }
  }
  return t;
})();

/**
 * CRC32C of `bytes[start, start + length)` (defaults: the whole array).
 *
 * @example
 * ```ts
 * crc32c(frame, 24, payloadLength) === headerCrc;
 * ```
 */
export function crc32c(bytes: Uint8Array, start = 0, length = bytes.byteLength - start): number {
  const t = TABLES;
  let crc = -1;
  let p = start;
  const end = start + length;
  while (end - p >= 8) {
    const a = (bytes[p]! | (bytes[p + 1]! << 8) | (bytes[p + 2]! << 16) | (bytes[p + 3]! << 24)) ^ crc;
    crc =
      t[1792 + (a & 0xff)]! ^
      t[1536 + ((a >>> 8) & 0xff)]! ^
      t[1280 + ((a >>> 16) & 0xff)]! ^
      t[1024 + (a >>> 24)]! ^
      t[768 + bytes[p + 4]!]! ^
      t[512 + bytes[p + 5]!]! ^
      t[256 + bytes[p + 6]!]! ^
      t[bytes[p + 7]!]!;
    p += 8;
  }
  while (p < end) {
    crc = (crc >>> 8) ^ t[(crc ^ bytes[p]!) & 0xff]!;
    p++;
  }
  return (crc ^ -1) >>> 0;
}

// Batch frame decoder over the input arena. Layout of the codec's memory (set by `codecReserve`):
//   [arena: inCap bytes][ids f64 × cap][offsets u32 × cap][args u32 × cap][lengths u32 × cap]
//   [flags u16 × cap][types u8 × cap][status u8 × cap]
// with cap = floor(inCap / 24): every reported frame owns at least a full 24-byte header, so the
// output arrays can never overflow. `layout` (static, 16 × u32) tells JS where everything is.
import { crc32cAt } from "./crc32c";

const HEADER: u32 = 24;
// Bit t set <=> type byte t is defined by the protocol (all types are < 64).
const KNOWN_TYPES: u64 =
  (1 << 0x01) | (1 << 0x02) | (1 << 0x03) | (1 << 0x11) |
  (1 << 0x21) | (1 << 0x22) | (1 << 0x23) | (1 << 0x24) | (1 << 0x25) | (1 << 0x26) |
  (1 << 0x30) | (1 << 0x31) | (1 << 0x3f);
const ST_OK: u8 = 0;
const ST_MALFORMED: u8 = 1;
const ST_TOO_LARGE: u8 = 2;
const ST_BAD_CRC: u8 = 3;

// layout word indexes (u32): 0 inPtr, 1 inCap, 2 cap, 3 ids, 4 offsets, 5 args, 6 lengths,
// 7 flags, 8 types, 9 status, 10 count, 11 consumed, 12 fatalOffset (+1, 0 = none),
// 13 fatalStatus, 14 partialOffset (+1, 0 = none), 15 partialNeeded
let layout: usize = 0;
let arenaBase: usize = 0;

// @ts-ignore: decorator
@inline function L(i: usize): usize { return layout + (i << 2); }

/** Sets where the layout block (64 bytes) and the arena start. */
export function codecSetup(layoutAt: usize, arenaAt: usize): void {
  layout = layoutAt;
  arenaBase = arenaAt;
  store<u32>(L(0), <u32>arenaAt);
}

function ensureMemory(end: usize): bool {
  const have = <usize>memory.size() << 16;
  if (end <= have) return true;
  const pages = <i32>((end - have + 0xffff) >>> 16);
  return memory.grow(pages) >= 0;
}

/**
 * Makes the arena hold at least `minBytes` (rounded up to 64 KiB); returns the layout block
 * address, or 0 if memory cannot grow. Growing keeps the arena's start but moves the outputs.
 */
export function codecReserve(minBytes: u32): usize {
  if (minBytes > 0x7fff0000) return 0;
  let inCap = load<u32>(L(1));
  if (minBytes <= inCap && inCap != 0) return layout;
  inCap = (max<u32>(minBytes, 65536) + 0xffff) & ~0xffff;
  const cap = inCap / HEADER;
  const ids = (arenaBase + <usize>inCap + 7) & ~7;
  const offs = ids + (<usize>cap << 3);
  const args = offs + (<usize>cap << 2);
  const lens = args + (<usize>cap << 2);
  const flags = lens + (<usize>cap << 2);
  const types = flags + (<usize>cap << 1);
  const status = types + <usize>cap;
  if (!ensureMemory(status + <usize>cap)) return 0;
  store<u32>(L(1), inCap);
  store<u32>(L(2), cap);
  store<u32>(L(3), <u32>ids);
  store<u32>(L(4), <u32>offs);
  store<u32>(L(5), <u32>args);
  store<u32>(L(6), <u32>lens);
  store<u32>(L(7), <u32>flags);
  store<u32>(L(8), <u32>types);
  store<u32>(L(9), <u32>status);
  return layout;
}

/**
 * Decodes the first `len` arena bytes. Returns the frame count (also in layout[10]), or -1 when
 * `len` exceeds the arena (nothing is read then).
 */
export function codecDecode(len: u32, maxPayload: u32): i32 {
  const inCap = load<u32>(L(1));
  if (len > inCap) return -1;
  const base = arenaBase;
  const cap = load<u32>(L(2));
  const ids = <usize>load<u32>(L(3));
  const offs = <usize>load<u32>(L(4));
  const args = <usize>load<u32>(L(5));
  const lens = <usize>load<u32>(L(6));
  const flagsOut = <usize>load<u32>(L(7));
  const typesOut = <usize>load<u32>(L(8));
  const statusOut = <usize>load<u32>(L(9));
  let pos: u32 = 0;
  let n: u32 = 0;
  let fatalOffset: u32 = 0;
  let fatalStatus: u32 = 0;
  let partialOffset: u32 = 0;
  let partialNeeded: u32 = 0;
  while (pos < len) {
    const rem = len - pos;
    if (rem < HEADER) {
      partialOffset = pos + 1;
      partialNeeded = HEADER;
      break;
    }
    // n < cap holds: each reported frame consumed >= 24 of the <= inCap bytes.
    if (n >= cap) return -1;
    const p = base + <usize>pos;
    const version = load<u8>(p);
    const type = load<u8>(p, 1);
    const flags = load<u16>(p, 2);
    const plen = load<u32>(p, 4);
    const lo = load<u32>(p, 8);
    const hi = load<u32>(p, 12);
    let st: u8 = ST_OK;
    if (version != 1 || type >= 64 || ((KNOWN_TYPES >> type) & 1) == 0 || hi >= 0x200000) st = ST_MALFORMED;
    else if (plen > maxPayload) st = ST_TOO_LARGE;
    if (st == ST_OK && <u64>plen > <u64>(rem - HEADER)) {
      partialOffset = pos + 1;
      partialNeeded = HEADER + plen; // plen <= maxPayload < 2^31, no overflow
      break;
    }
    if (st == ST_OK && (flags & 1) != 0 && crc32cAt(p + HEADER, plen) != load<u32>(p, 20)) st = ST_BAD_CRC;
    const i = <usize>n;
    store<f64>(ids + (i << 3), <f64>hi * 4294967296.0 + <f64>lo);
    store<u32>(offs + (i << 2), pos);
    store<u32>(args + (i << 2), load<u32>(p, 16));
    store<u32>(lens + (i << 2), plen);
    store<u16>(flagsOut + (i << 1), flags);
    store<u8>(typesOut + i, type);
    store<u8>(statusOut + i, st);
    n++;
    if (st == ST_MALFORMED || st == ST_TOO_LARGE) {
      fatalOffset = pos + 1;
      fatalStatus = st;
      break;
    }
    pos += HEADER + plen;
  }
  store<u32>(L(10), n);
  store<u32>(L(11), pos);
  store<u32>(L(12), fatalOffset);
  store<u32>(L(13), fatalStatus);
  store<u32>(L(14), partialOffset);
  store<u32>(L(15), partialNeeded);
  return <i32>n;
}

/** CRC32C of the first `len` arena bytes; the caller checks `len` against the arena first. */
export function codecCrc(len: u32): u32 {
  if (len > load<u32>(L(1))) return 0;
  return crc32cAt(arenaBase, len);
}

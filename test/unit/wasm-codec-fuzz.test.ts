// Differential fuzzing: 100,000+ random and mutated buffers per run, decoded by the WASM codec and
// the JS reference; results must be identical and nothing may throw. Replay a failure with
// SLUICE_FUZZ_SEED=<seed from the message>.
import { describe, expect, test } from "../harness.ts";
import { FRAME_HEADER_BYTES, FrameType } from "../../src/protocol/frame-layout.ts";
import { type DecodeResult, type FrameCodec, createJsFrameCodec, createWasmFrameCodec, crc32c } from "../../src/wasm/mod.ts";
import { diffDecode, fuzzSeed, mulberry32 } from "./wasm-test-util.ts";

const TYPES = Object.values(FrameType) as number[];
const ITERATIONS = 100_000;

/** A buffer of 0..6 mostly-valid frames, then mutated (bit flips, truncation, garbage, splices). */
function randomBuffer(rand: () => number): Uint8Array {
  const int = (n: number) => Math.floor(rand() * n);
  if (rand() < 0.05) {
    const junk = new Uint8Array(int(200));
    for (let i = 0; i < junk.length; i++) junk[i] = int(256);
    return junk;
  }
  const frames: Uint8Array[] = [];
  const count = int(7);
  for (let f = 0; f < count; f++) {
    const plen = rand() < 0.9 ? int(65) : int(400);
    const frame = new Uint8Array(FRAME_HEADER_BYTES + plen);
    for (let i = FRAME_HEADER_BYTES; i < frame.length; i++) frame[i] = int(256);
    const view = new DataView(frame.buffer);
    const crcFlag = rand() < 0.5 ? 1 : 0;
    view.setUint8(0, rand() < 0.97 ? 1 : int(256));
    view.setUint8(1, rand() < 0.95 ? TYPES[int(TYPES.length)]! : int(256));
    view.setUint16(2, crcFlag | (rand() < 0.1 ? int(0x10000) & ~1 : 0), true);
    view.setUint32(4, rand() < 0.97 ? plen : int(2 ** 32), true);
    view.setUint32(8, int(2 ** 32), true);
    view.setUint32(12, rand() < 0.95 ? int(2 ** 21) : int(2 ** 32), true);
    view.setUint32(16, int(2 ** 32), true);
    const good = crc32c(frame, FRAME_HEADER_BYTES, plen);
    view.setUint32(20, rand() < 0.9 ? good : (good ^ (1 << int(32))) >>> 0, true);
    frames.push(frame);
  }
  let total = frames.reduce((n, f) => n + f.length, 0);
  let buf = new Uint8Array(total);
  let at = 0;
  for (const f of frames) {
    buf.set(f, at);
    at += f.length;
  }
  const mutation = rand();
  if (mutation < 0.2) {
    for (let k = int(4); k >= 0 && buf.length > 0; k--) buf[int(buf.length)] ^= 1 << int(8);
  } else if (mutation < 0.4 && buf.length > 0) {
    buf = buf.subarray(0, int(buf.length));
  } else if (mutation < 0.5) {
    const tail = new Uint8Array(buf.length + int(40));
    tail.set(buf);
    for (let i = buf.length; i < tail.length; i++) tail[i] = int(256);
    buf = tail;
  } else if (mutation < 0.55 && buf.length > 0) {
    total = buf.length;
    buf = buf.subarray(int(total)); // start mid-stream
  }
  return buf;
}

/** What `decodeFirst` must report for a decode result, as JSON (fields in FirstFrame order). */
function firstOf(r: DecodeResult): string {
  const some = r.count > 0;
  return JSON.stringify({
    count: r.count,
    status: some ? r.status[0] : 0,
    type: some ? r.types[0] : 0,
    flags: some ? r.flags[0] : 0,
    id: some ? r.ids[0] : 0,
    arg: some ? r.args[0] : 0,
    payloadLength: some ? r.payloadLengths[0] : 0,
    partialNeeded: some ? 0 : r.partialNeeded,
  });
}

/** How often each outcome occurred, so a generator that stops reaching a path fails the test. */
const seen = { ok: 0, malformed: 0, tooLarge: 0, badCrc: 0, partial: 0, multi: 0 };

function compare(seed: number, wasm: FrameCodec, js: FrameCodec, rand: () => number, iterations: number): string {
  for (let i = 0; i < iterations; i++) {
    const buf = randomBuffer(rand);
    let w;
    let j;
    try {
      // Alternate the zero-copy arena path and the copying convenience.
      if (i & 1) {
        wasm.inputBuffer(buf.length).set(buf);
        w = wasm.decode(buf.length);
      } else {
        w = wasm.decodeFrom(buf);
      }
      // The JS reference reads in place; give it an unaligned, offset view half the time.
      if (i & 2) {
        const host = new Uint8Array(buf.length + 3);
        host.set(buf, 3);
        j = js.decodeFrom(host.subarray(3));
      } else {
        j = js.decodeFrom(buf);
      }
    } catch (e) {
      return `seed ${seed} iteration ${i}: threw ${String(e)}`;
    }
    const diff = diffDecode(w, j);
    if (diff) return `seed ${seed} iteration ${i}: ${diff} (buffer ${Array.from(buf).join(",")})`;
    // decodeFirst of either codec reports exactly the count and entry 0 of the full decode.
    const expected = firstOf(w);
    for (const codec of [wasm, js]) {
      const got = JSON.stringify(codec.decodeFirst(buf));
      if (got !== expected) return `seed ${seed} iteration ${i}: ${codec.kind} decodeFirst ${got} !== ${expected}`;
    }
    if (w.consumed > buf.length) return `seed ${seed} iteration ${i}: consumed ${w.consumed} > ${buf.length}`;
    if (w.partialOffset >= 0 && w.partialOffset !== w.consumed) return `seed ${seed} iteration ${i}: partial != consumed`;
    for (let k = 0; k < w.count; k++) {
      const st = w.status[k];
      if (st === 0) seen.ok++;
      else if (st === 1) seen.malformed++;
      else if (st === 2) seen.tooLarge++;
      else seen.badCrc++;
    }
    if (w.partialOffset >= 0) seen.partial++;
    if (w.count > 1) seen.multi++;
  }
  return "";
}

describe("wasm codec differential fuzz", () => {
  test(`${ITERATIONS} random/mutated buffers: WASM === JS reference (default limit)`, () => {
    const seed = fuzzSeed();
    const rand = mulberry32(seed);
    expect(compare(seed, createWasmFrameCodec(), createJsFrameCodec(), rand, ITERATIONS * 0.7)).toBe("");
  });

  test("random/mutated buffers with a small payload limit (TooLarge paths)", () => {
    const seed = fuzzSeed();
    const rand = mulberry32(seed);
    const opts = { maxPayloadBytes: 48 };
    expect(compare(seed, createWasmFrameCodec(opts), createJsFrameCodec(opts), rand, ITERATIONS * 0.3)).toBe("");
  });

  test("the generator reached every outcome", () => {
    for (const [outcome, n] of Object.entries(seen)) expect(`${outcome}: ${n > 100 ? "reached" : n}`).toBe(`${outcome}: reached`);
  });

  test("CRC32C of random lengths and alignments: WASM === JS reference", () => {
    const seed = fuzzSeed();
    const rand = mulberry32(seed);
    const wasm = createWasmFrameCodec();
    const js = createJsFrameCodec();
    let mismatch = "";
    for (let i = 0; i < 2000 && !mismatch; i++) {
      const bytes = new Uint8Array(Math.floor(rand() * 300));
      for (let k = 0; k < bytes.length; k++) bytes[k] = Math.floor(rand() * 256);
      const start = Math.floor(rand() * Math.min(8, bytes.length + 1));
      const part = bytes.subarray(start);
      if (wasm.crc32c(part) !== js.crc32c(part)) mismatch = `seed ${seed} iteration ${i}: length ${part.length}`;
    }
    expect(mismatch).toBe("");
  });
});

// Unit tests of the frame codec, run against the WASM codec and the JS reference alike.
import { describe, expect, test } from "../harness.ts";
import { FRAME_HEADER_BYTES, FrameFlag, FrameStatus, FrameType } from "../../src/protocol/frame-layout.ts";
import { type FrameCodec, createJsFrameCodec, createWasmFrameCodec, crc32c } from "../../src/wasm/mod.ts";
import { snapshot } from "./wasm-test-util.ts";

const enc = new TextEncoder();

function frame(codec: FrameCodec, type: number, id: number, payload: Uint8Array, withCrc = true): Uint8Array {
  const out = new Uint8Array(FRAME_HEADER_BYTES + payload.length);
  out.set(payload, FRAME_HEADER_BYTES);
  codec.encodeHeader(out, 0, {
    type,
    flags: withCrc ? FrameFlag.Crc : 0,
    payloadLength: payload.length,
    id,
    arg: 3,
    crc: withCrc ? crc32c(payload) : 0,
  });
  return out;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

const impls: Array<[string, (o?: { maxPayloadBytes?: number }) => FrameCodec]> = [
  ["wasm", createWasmFrameCodec],
  ["js", createJsFrameCodec],
];

for (const [name, make] of impls) {
  describe(`frame codec (${name})`, () => {
    test("CRC32C matches the standard check value and known vectors", () => {
      const codec = make();
      expect(codec.crc32c(enc.encode("123456789"))).toBe(0xe3069283);
      expect(codec.crc32c(new Uint8Array(0))).toBe(0);
      expect(codec.crc32c(new Uint8Array(32))).toBe(0x8a9136aa); // RFC 3720 B.4: 32 zero bytes
      expect(codec.crc32c(new Uint8Array(32).fill(0xff))).toBe(0x62a8ab43);
    });

    test("decodes many frames in one call, struct-of-arrays", () => {
      const codec = make();
      const a = frame(codec, FrameType.PUBLISH, 1, enc.encode("hello"));
      const b = frame(codec, FrameType.ACK, 2 ** 53 - 1, new Uint8Array(0), false);
      const c = frame(codec, FrameType.DELIVER, 42, enc.encode("x".repeat(100)));
      const r = codec.decodeFrom(concat(a, b, c));
      expect(snapshot(r)).toEqual({
        count: 3,
        consumed: a.length + b.length + c.length,
        errorOffset: -1,
        errorStatus: 0,
        partialOffset: -1,
        partialNeeded: 0,
        offsets: [0, a.length, a.length + b.length],
        types: [FrameType.PUBLISH, FrameType.ACK, FrameType.DELIVER],
        flags: [1, 0, 1],
        ids: [1, 2 ** 53 - 1, 42],
        args: [3, 3, 3],
        payloadLengths: [5, 0, 100],
        status: [0, 0, 0],
      });
    });

    test("a bad CRC is reported and decoding continues past it", () => {
      const codec = make();
      const bad = frame(codec, FrameType.PUBLISH, 1, enc.encode("payload"));
      bad[FRAME_HEADER_BYTES] ^= 0x01;
      const good = frame(codec, FrameType.PING, 2, new Uint8Array(0));
      const r = codec.decodeFrom(concat(bad, good));
      expect(Array.from(r.status)).toEqual([FrameStatus.BadCrc, FrameStatus.Ok]);
      expect(r.consumed).toBe(bad.length + good.length);
      expect(r.errorOffset).toBe(-1);
    });

    test("malformed headers stop decoding at their offset: version, type, unsafe id", () => {
      const codec = make();
      const good = frame(codec, FrameType.PING, 1, new Uint8Array(4));
      for (const corrupt of [
        (f: Uint8Array) => (f[0] = 2),
        (f: Uint8Array) => (f[1] = 0x27),
        (f: Uint8Array) => (f[15] = 0x00, f[14] = 0x20), // id = 2^53
      ]) {
        const bad = frame(codec, FrameType.PING, 9, new Uint8Array(4));
        corrupt(bad);
        const r = codec.decodeFrom(concat(good, bad, good));
        expect([r.count, r.errorOffset, r.errorStatus, r.consumed]).toEqual([2, good.length, FrameStatus.Malformed, good.length]);
        expect(r.status[1]).toBe(FrameStatus.Malformed);
      }
    });

    test("oversize payloads are TooLarge at once, without waiting for the payload", () => {
      const codec = make({ maxPayloadBytes: 16 });
      const big = frame(codec, FrameType.PUBLISH, 1, new Uint8Array(17));
      const r = codec.decodeFrom(big.subarray(0, FRAME_HEADER_BYTES));
      expect([r.count, r.errorOffset, r.errorStatus, r.partialOffset]).toEqual([1, 0, FrameStatus.TooLarge, -1]);
      expect(codec.decodeFrom(frame(codec, FrameType.PUBLISH, 1, new Uint8Array(16))).status[0]).toBe(FrameStatus.Ok);
    });

    test("a trailing partial frame is reported so a stream keeps its tail", () => {
      const codec = make();
      const a = frame(codec, FrameType.PUBLISH, 1, enc.encode("first"));
      const b = frame(codec, FrameType.PUBLISH, 2, enc.encode("second frame"));
      const stream = concat(a, b);
      for (let cut = 0; cut <= stream.length; cut++) {
        const r1 = codec.decodeFrom(stream.subarray(0, cut));
        const firstIds = Array.from(r1.ids);
        const tail = stream.subarray(r1.consumed, cut);
        if (cut === 0 || cut === a.length || cut === stream.length) {
          expect([r1.partialOffset, r1.partialNeeded]).toEqual([-1, 0]);
        } else {
          expect(r1.partialOffset).toBe(r1.consumed);
          const have = cut - r1.consumed;
          expect(r1.partialNeeded).toBe(have < FRAME_HEADER_BYTES ? FRAME_HEADER_BYTES : (r1.consumed === 0 ? a : b).length);
        }
        const r2 = codec.decodeFrom(concat(tail, stream.subarray(cut)));
        expect([...firstIds, ...Array.from(r2.ids)]).toEqual([1, 2]);
      }
    });

    test("zero-copy path: write into inputBuffer, decode(length)", () => {
      const codec = make();
      const f = frame(codec, FrameType.CREDIT, 77, new Uint8Array(10));
      const arena = codec.inputBuffer(f.length);
      expect(arena.length).toBeGreaterThanOrEqual(f.length);
      arena.set(f);
      expect(snapshot(codec.decode(f.length)).ids).toEqual([77]);
      expect(() => codec.decode(arena.length + 1)).toThrow(RangeError);
    });

    test("the arena grows for large inputs; re-fetched views stay valid", () => {
      const codec = make({ maxPayloadBytes: 4 << 20 });
      const f = frame(codec, FrameType.PUBLISH, 5, new Uint8Array(3 << 20).fill(7));
      const arena = codec.inputBuffer(f.length);
      arena.set(f);
      const r = codec.decode(f.length);
      expect([r.count, r.status[0], r.payloadLengths[0]]).toEqual([1, FrameStatus.Ok, 3 << 20]);
    });

    test("encodeHeader rejects fields that do not fit, and a short buffer", () => {
      const codec = make();
      const buf = new Uint8Array(24);
      expect(() => codec.encodeHeader(buf, 1, { type: 1, payloadLength: 0, id: 0 })).toThrow(RangeError);
      expect(() => codec.encodeHeader(buf, 0, { type: 1, payloadLength: 0, id: 2 ** 53 })).toThrow(RangeError);
      expect(() => codec.encodeHeader(buf, 0, { type: 256, payloadLength: 0, id: 0 })).toThrow(RangeError);
      expect(() => make({ maxPayloadBytes: -1 })).toThrow(RangeError);
    });

    test("every type byte: exactly the protocol's types are accepted", () => {
      const codec = make();
      const known = new Set<number>(Object.values(FrameType));
      const f = frame(codec, FrameType.PING, 1, new Uint8Array(0), false);
      for (let t = 0; t < 256; t++) {
        f[1] = t;
        expect([t, codec.decodeFrom(f).status[0]]).toEqual([t, known.has(t) ? FrameStatus.Ok : FrameStatus.Malformed]);
      }
    });
  });
}

import { describe, expect, test } from "../harness.ts";
import { FRAME_HEADER_BYTES, FrameType } from "../../src/protocol/frame-layout.ts";
import { decodeFrameMessage, encodeFrame, frameIdOf, FrameStreamDecoder } from "../../src/protocol/frames.ts";
import { creditFrame, deliverFrame, errorFrame, receiptFrame } from "../../src/protocol/frame-builders.ts";
import { argToErrorCode, decodeErrorPayload, decodeReceiptPayload } from "../../src/protocol/messages.ts";
import { sluiceError } from "../../src/result/errors.ts";
import { createFrameCodec, createJsFrameCodec } from "../../src/wasm/mod.ts";

const bytes = (s: string) => new TextEncoder().encode(s);
const concat = (...parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) (out.set(p, at), (at += p.byteLength));
  return out;
};

for (const [label, make] of [
  ["selected codec", () => createFrameCodec({ maxPayloadBytes: 64 })],
  ["js codec", () => createJsFrameCodec({ maxPayloadBytes: 64 })],
] as const) {
  describe(`frames (${label})`, () => {
    test("encode → decode one message round-trips header fields and payload, with and without CRC", () => {
      const codec = make();
      for (const crc of [false, true]) {
        const frame = encodeFrame({ type: FrameType.DELIVER, id: 2 ** 40 + 7, arg: 3, payload: bytes("hello"), crc });
        expect(frame.byteLength).toBe(FRAME_HEADER_BYTES + 5);
        const r = decodeFrameMessage(frame, codec);
        expect(r.ok).toBe(true);
        if (!r.ok) return;
        expect(r.value).toMatchObject({ type: FrameType.DELIVER, id: 2 ** 40 + 7, arg: 3, flags: crc ? 1 : 0 });
        expect(new TextDecoder().decode(r.value.payload)).toBe("hello");
      }
    });

    test("bad CRC, truncation, trailing bytes, garbage → frame.malformed; oversize → frame.too_large with the id", () => {
      const codec = make();
      const good = encodeFrame({ type: FrameType.PUBLISH, id: 9, payload: bytes("abc"), crc: true });
      const flipped = good.slice();
      flipped[FRAME_HEADER_BYTES] ^= 1;
      const badCrc = decodeFrameMessage(flipped, codec);
      expect(!badCrc.ok && badCrc.error.code).toBe("frame.malformed");
      expect(!badCrc.ok && frameIdOf(badCrc.error)).toBe(9);
      expect(decodeFrameMessage(good.subarray(0, good.byteLength - 1), codec).ok).toBe(false);
      expect(decodeFrameMessage(good.subarray(0, 10), codec).ok).toBe(false);
      expect(decodeFrameMessage(concat(good, new Uint8Array(1)), codec).ok).toBe(false);
      const garbage = decodeFrameMessage(new Uint8Array(30).fill(0xee), codec);
      expect(!garbage.ok && garbage.error.code).toBe("frame.malformed");
      const big = decodeFrameMessage(encodeFrame({ type: FrameType.PUBLISH, id: 5, payload: new Uint8Array(65) }), codec);
      expect(!big.ok && big.error.code).toBe("frame.too_large");
      expect(!big.ok && frameIdOf(big.error)).toBe(5);
    });

    test("stream decoder: frames split at every byte boundary come out whole and in order", () => {
      const frames = [1, 2, 3].map((id) => encodeFrame({ type: FrameType.PUBLISH, id, payload: bytes(`m${id}`.repeat(id * 5)) }));
      const all = concat(...frames);
      for (let split = 1; split < all.byteLength; split++) {
        const decoder = new FrameStreamDecoder(make());
        const out = [...decoder.push(all.subarray(0, split)), ...decoder.push(all.subarray(split))];
        expect(out.map((r) => (r.ok ? r.value.id : -1))).toEqual([1, 2, 3]);
        expect(decoder.end().ok).toBe(true);
      }
      // One byte at a time, too.
      const decoder = new FrameStreamDecoder(make());
      const ids: number[] = [];
      for (let i = 0; i < all.byteLength; i++) for (const r of decoder.push(all.subarray(i, i + 1))) if (r.ok) ids.push(r.value.id);
      expect(ids).toEqual([1, 2, 3]);
    });

    test("stream decoder keeps a partial tail bounded, reports a truncated end, skips bad-CRC frames and stops at a bad header", () => {
      const decoder = new FrameStreamDecoder(make());
      const frame = encodeFrame({ type: FrameType.PUBLISH, id: 1, payload: new Uint8Array(60) });
      expect(decoder.push(frame.subarray(0, 30))).toEqual([]);
      expect(decoder.buffered).toBe(30);
      const end = decoder.end();
      expect(!end.ok && end.error.code).toBe("frame.malformed");

      const bad = encodeFrame({ type: FrameType.PUBLISH, id: 2, payload: bytes("x"), crc: true });
      bad[FRAME_HEADER_BYTES] ^= 0xff;
      const next = encodeFrame({ type: FrameType.PUBLISH, id: 3, payload: bytes("y") });
      const d2 = new FrameStreamDecoder(make());
      const out = d2.push(concat(bad, next));
      expect(out.map((r) => (r.ok ? `ok ${r.value.id}` : `${r.error.code} ${frameIdOf(r.error)}`))).toEqual(["frame.malformed 2", "ok 3"]);

      const d3 = new FrameStreamDecoder(make());
      const big = encodeFrame({ type: FrameType.PUBLISH, id: 4, payload: new Uint8Array(100) });
      const r3 = d3.push(concat(next, big.subarray(0, FRAME_HEADER_BYTES)));
      expect(r3.map((r) => (r.ok ? "ok" : r.error.code))).toEqual(["ok", "frame.too_large"]);
      expect(d3.failed).toBe(true);
      expect(d3.buffered).toBe(0);
      expect(d3.push(next)).toEqual([]);
    });
  });
}

describe("frame builders", () => {
  test("ERROR carries the code number in arg and the Error protobuf; RECEIPT/DELIVER/CREDIT fields", () => {
    const codec = createJsFrameCodec();
    const error = decodeFrameMessage(errorFrame(sluiceError("frame.too_large", "too big"), 12), codec);
    expect(error.ok).toBe(true);
    if (!error.ok) return;
    expect(error.value).toMatchObject({ type: FrameType.ERROR, id: 12 });
    expect(argToErrorCode(error.value.arg)).toEqual({ ok: true, value: "frame.too_large" });
    expect(decodeErrorPayload(error.value.payload)).toEqual({ ok: true, value: { code: "frame.too_large", message: "too big" } });
    const receipt = decodeFrameMessage(receiptFrame(7, { sequenceId: 42, queue: "q", duplicate: false }), codec);
    expect(receipt.ok && receipt.value.id).toBe(7);
    expect(receipt.ok && decodeReceiptPayload(receipt.value.payload)).toEqual({ ok: true, value: { sequenceId: 42, queue: "q", duplicate: false } });
    const deliver = decodeFrameMessage(deliverFrame(99, 2, bytes("p")), codec);
    expect(deliver.ok && deliver.value).toMatchObject({ type: FrameType.DELIVER, id: 99, arg: 2 });
    const credit = decodeFrameMessage(creditFrame(16), codec);
    expect(credit.ok && credit.value).toMatchObject({ type: FrameType.CREDIT, arg: 16 });
  });
});

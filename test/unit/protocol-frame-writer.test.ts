import { describe, expect, test } from "../harness.ts";
import { mulberry32 } from "../seeded-random.ts";
import { FrameWriter } from "../../src/protocol/frame-writer.ts";
import { decodeFrameMessage } from "../../src/protocol/frames.ts";
import { FRAME_HEADER_BYTES, FrameType } from "../../src/protocol/frame-layout.ts";
import { decodeReceiptPayload, encodeReceiptPayload, type ReceiptPayload } from "../../src/protocol/messages.ts";
import { createJsFrameCodec } from "../../src/wasm/mod.ts";

const codec = createJsFrameCodec();
const SEQUENCE_EDGES = [0, 1, 127, 128, 16_383, 16_384, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 35 + 17, 2 ** 49, Number.MAX_SAFE_INTEGER];
const QUEUES = ["", "q", "jobs", "ünïcødé-✓", "x".repeat(127), "y".repeat(128), "z".repeat(300)];

function decoded(frame: Uint8Array) {
  const r = decodeFrameMessage(frame.slice(), codec);
  if (!r.ok) throw new Error(r.error.message);
  return r.value;
}

describe("FrameWriter", () => {
  for (const make of [FrameWriter.fresh, () => FrameWriter.reusing()]) {
    const writer = make();
    const kind = writer.reuses ? "reusing" : "fresh";

    test(`${kind}: RECEIPT payloads are byte-identical to @bufbuild/protobuf's toBinary`, () => {
      const random = mulberry32(0x7ece1);
      const cases: ReceiptPayload[] = [];
      for (const sequenceId of SEQUENCE_EDGES) for (const queue of QUEUES) for (const duplicate of [false, true]) cases.push({ sequenceId, queue, duplicate });
      for (let i = 0; i < 2000; i++) {
        cases.push({ sequenceId: Math.floor(random() * 2 ** (1 + Math.floor(random() * 53))), queue: QUEUES[i % QUEUES.length]!, duplicate: random() < 0.5 });
      }
      const mismatches: string[] = [];
      for (const [i, receipt] of cases.entries()) {
        const frame = decoded(writer.receipt(i, receipt));
        const expected = encodeReceiptPayload(receipt);
        if (frame.type !== FrameType.RECEIPT || frame.id !== i || frame.arg !== 0) mismatches.push(`header of ${JSON.stringify(receipt)}`);
        if (frame.payload.join() !== expected.join()) mismatches.push(`${JSON.stringify(receipt)}: ${frame.payload.join()} vs ${expected.join()}`);
        if (JSON.stringify(decodeReceiptPayload(frame.payload)) !== JSON.stringify({ ok: true, value: receipt })) mismatches.push(`round trip ${JSON.stringify(receipt)}`);
      }
      expect(mismatches.slice(0, 3)).toEqual([]);
    });

    test(`${kind}: DELIVER carries token, attempt and the payload`, () => {
      const payload = new Uint8Array(300).map((_, i) => i * 7);
      const frame = decoded(writer.deliver(2 ** 40 + 5, 3, payload));
      expect(frame).toMatchObject({ type: FrameType.DELIVER, id: 2 ** 40 + 5, arg: 3, flags: 0 });
      expect(frame.payload).toEqual(payload);
      expect(writer.deliver(1, 1, new Uint8Array(0)).byteLength).toBe(FRAME_HEADER_BYTES);
    });

    test(`${kind}: a bad sequence id is a RangeError`, () => {
      expect(() => writer.receipt(1, { sequenceId: -1, queue: "q", duplicate: false })).toThrow(RangeError);
      expect(() => writer.receipt(1, { sequenceId: 2 ** 53, queue: "q", duplicate: false })).toThrow(RangeError);
      expect(() => writer.receipt(1, { sequenceId: 1.5, queue: "q", duplicate: false })).toThrow(RangeError);
    });
  }

  test("reusing: frames share one buffer (valid until the next call); larger ones get their own", () => {
    const writer = FrameWriter.reusing(256);
    const a = writer.deliver(1, 1, new Uint8Array([1, 2, 3]));
    const b = writer.deliver(2, 1, new Uint8Array([4, 5, 6]));
    expect(a.buffer).toBe(b.buffer);
    expect(decoded(b).payload).toEqual(new Uint8Array([4, 5, 6]));
    const big = writer.deliver(3, 1, new Uint8Array(400).fill(9));
    expect(big.buffer).not.toBe(b.buffer);
    expect(decoded(big).payload).toEqual(new Uint8Array(400).fill(9));
    expect(() => FrameWriter.reusing(8)).toThrow(RangeError);
  });

  test("fresh: every frame is its own buffer", () => {
    const writer = FrameWriter.fresh();
    const a = writer.deliver(1, 1, new Uint8Array([1]));
    const b = writer.deliver(2, 1, new Uint8Array([2]));
    expect(a.buffer).not.toBe(b.buffer);
    expect(decoded(a).payload).toEqual(new Uint8Array([1]));
  });
});

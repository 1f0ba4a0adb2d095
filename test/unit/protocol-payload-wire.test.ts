// The hand-written payload codec (src/protocol/payload-wire.ts, used by messages.ts, fence.ts and
// goaway.ts so the frame protocol never loads protobuf-es) against protobuf-es itself: the same
// bytes out, the same values in, for the six frame payload messages.
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { ErrorSchema } from "../../src/gen/sluice/v1/error_pb.ts";
import { FenceSchema } from "../../src/gen/sluice/v1/fence_pb.ts";
import { GoAwaySchema } from "../../src/gen/sluice/v1/gossip_pb.ts";
import { NackReasonSchema } from "../../src/gen/sluice/v1/nack_pb.ts";
import { ReceiptSchema } from "../../src/gen/sluice/v1/receipt_pb.ts";
import { QueueStatsSchema } from "../../src/gen/sluice/v1/stats_pb.ts";
import { decodeFencePayload, encodeFencePayload } from "../../src/protocol/fence.ts";
import { encodeGoAwayPayload, goAwayPeers } from "../../src/protocol/goaway.ts";
import {
  decodeErrorPayload,
  decodeNackPayload,
  decodeQueueStatsPayload,
  decodeReceiptPayload,
  encodeErrorPayload,
  encodeNackPayload,
  encodeQueueStatsPayload,
  encodeReceiptPayload,
} from "../../src/protocol/messages.ts";
import { PayloadReader, PayloadWriter } from "../../src/protocol/payload-wire.ts";
import { sluiceError } from "../../src/result/errors.ts";
import { describe, expect, test } from "../harness.ts";
import { mulberry32 } from "../seeded-random.ts";

const TEXTS = ["", "jobs", "é", "日本語 ✓", "😀 emoji", "a".repeat(200), "x".repeat(20_000)];
const NUMBERS = [0, 1, 127, 128, 300, 16_383, 16_384, 2 ** 31 - 1, 2 ** 31, 2 ** 32, 2 ** 35 + 7, Number.MAX_SAFE_INTEGER];


describe("payload-wire writes what protobuf-es writes", () => {
  test("Receipt", () => {
    for (const sequenceId of NUMBERS) {
      for (const queue of TEXTS) {
        for (const duplicate of [false, true]) {
          const ours = encodeReceiptPayload({ sequenceId, queue, duplicate });
          const theirs = toBinary(ReceiptSchema, create(ReceiptSchema, { sequenceId: BigInt(sequenceId), queue, duplicate }));
          expect(ours).toEqual(theirs);
        }
      }
    }
  });

  test("Error, with metadata (map entries in insertion order, empty values kept)", () => {
    const metadatas: Record<string, unknown>[] = [{}, { a: "1" }, { queue: "jobs", capacity: 1024, empty: "", "ключ": "значение", "": "no key" }];
    for (const message of TEXTS) {
      for (const metadata of metadatas) {
        const ours = encodeErrorPayload(sluiceError("queue.full", message, { metadata }));
        const strings = Object.fromEntries(Object.entries(metadata).map(([k, v]) => [k, String(v)]));
        const theirs = toBinary(ErrorSchema, create(ErrorSchema, { code: "queue.full", message, metadata: strings }));
        expect(ours).toEqual(theirs);
      }
    }
  });

  test("NackReason", () => {
    for (const message of TEXTS) {
      for (const requeue of [false, true]) {
        const ours = encodeNackPayload({ code: "unavailable", message, requeue });
        expect(ours).toEqual(toBinary(NackReasonSchema, create(NackReasonSchema, { code: "unavailable", message, requeue })));
      }
    }
  });

  test("QueueStats", () => {
    const random = mulberry32(21);
    for (let i = 0; i < 200; i++) {
      const pick = () => NUMBERS[Math.floor(random() * NUMBERS.length)]!;
      const counters = { pending: pick(), active: pick(), poisoned: pick(), enqueued: pick(), acked: pick(), failed: pick(), requeued: pick(), expired: pick(), poisonedTotal: pick() };
      const backpressure = random() < 0.5;
      const queue = TEXTS[i % TEXTS.length]!;
      const ours = encodeQueueStatsPayload({ ...counters, backpressure, queue });
      const big = Object.fromEntries(Object.entries(counters).map(([k, v]) => [k, BigInt(v)]));
      expect(ours).toEqual(toBinary(QueueStatsSchema, create(QueueStatsSchema, { ...big, backpressure, queue })));
    }
  });

  test("Fence and GoAway", () => {
    for (const term of NUMBERS.filter((n) => n > 0)) {
      for (const scope of TEXTS.filter((t) => t !== "")) {
        expect(encodeFencePayload({ scope, term })).toEqual(toBinary(FenceSchema, create(FenceSchema, { scope, term: BigInt(term) })));
      }
    }
    for (const peerUrls of [["http://a:1"], ["http://a:1", "", "https://b.example:8787/x"], TEXTS]) {
      expect(encodeGoAwayPayload(peerUrls)).toEqual(toBinary(GoAwaySchema, create(GoAwaySchema, { peerUrls })));
    }
  });
});

describe("payload-wire reads what protobuf-es writes", () => {
  test("every message, including fields it does not know (skipped)", () => {
    const receipt = toBinary(ReceiptSchema, create(ReceiptSchema, { sequenceId: 2n ** 40n, queue: "日本語", duplicate: true }));
    // An unknown field of each wire type in front: varint 15, fixed64 16, bytes 17, fixed32 18, group 19.
    const unknown = new Uint8Array([0x78, 0x96, 0x01, 0x81, 0x01, 1, 2, 3, 4, 5, 6, 7, 8, 0x8a, 0x01, 2, 0xff, 0xfe, 0x95, 0x01, 1, 2, 3, 4, 0x9b, 0x01, 0x08, 0x01, 0x9c, 0x01]);
    const withUnknown = new Uint8Array([...unknown, ...receipt]);
    expect(decodeReceiptPayload(withUnknown)).toEqual({ ok: true, value: { sequenceId: 2 ** 40, queue: "日本語", duplicate: true } });
    expect(fromBinary(ReceiptSchema, withUnknown).sequenceId).toBe(2n ** 40n);

    const error = toBinary(ErrorSchema, create(ErrorSchema, { code: "timeout", message: "late", metadata: { a: "1", b: "", __proto__x: "y" } }));
    expect(decodeErrorPayload(error)).toEqual({ ok: true, value: sluiceError("timeout", "late", { metadata: { a: "1", b: "", __proto__x: "y" } }) });

    const nack = toBinary(NackReasonSchema, create(NackReasonSchema, { code: "unavailable", message: "db", requeue: true }));
    expect(decodeNackPayload(nack)).toEqual({ ok: true, value: { code: "unavailable", message: "db", requeue: true } });

    const stats = toBinary(QueueStatsSchema, create(QueueStatsSchema, { pending: 5n, poisonedTotal: 9n, backpressure: true, queue: "q" }));
    const decoded = decodeQueueStatsPayload(stats);
    expect(decoded.ok && decoded.value).toEqual({ pending: 5, active: 0, poisoned: 0, enqueued: 0, acked: 0, failed: 0, requeued: 0, expired: 0, poisonedTotal: 9, backpressure: true, queue: "q" });

    expect(decodeFencePayload(toBinary(FenceSchema, create(FenceSchema, { scope: "bridge/jobs", term: 17n })))).toEqual({ ok: true, value: { scope: "bridge/jobs", term: 17 } });
    expect(goAwayPeers(toBinary(GoAwaySchema, create(GoAwaySchema, { peerUrls: ["http://n1:1", "http://n2:2"] })))).toEqual(["http://n1:1", "http://n2:2"]);
  });

  test("a repeated scalar keeps the last value; map entries with a missing key or value read as empty", () => {
    const twice = new Uint8Array([0x08, 0x01, 0x08, 0x05]);
    expect(decodeReceiptPayload(twice)).toEqual({ ok: true, value: { sequenceId: 5, queue: "", duplicate: false } });
    // Error{code: "timeout", metadata: {entry with only a value "v"}, {entry with only a key "k"}}
    const bytes = new Uint8Array([0x0a, 7, ...new TextEncoder().encode("timeout"), 0x1a, 3, 0x12, 1, 0x76, 0x1a, 3, 0x0a, 1, 0x6b]);
    expect(fromBinary(ErrorSchema, bytes).metadata).toEqual({ "": "v", k: "" });
    const r = decodeErrorPayload(bytes);
    expect(r.ok && r.value.metadata).toEqual({ "": "v", k: "" });
  });

  test("uint64 past 2^53 is read exactly (and refused by the callers)", () => {
    for (const big of [2n ** 53n, 2n ** 60n + 3n, 2n ** 64n - 1n]) {
      const bytes = toBinary(ReceiptSchema, create(ReceiptSchema, { sequenceId: big }));
      const r = new PayloadReader(bytes);
      expect(r.next()).toBe(1);
      expect(r.uint64()).toBe(big);
      const decoded = decodeReceiptPayload(bytes);
      expect(!decoded.ok && decoded.error.message).toContain(String(big));
    }
  });

  test("random bytes: whatever payload-wire accepts, protobuf-es reads the same; it never throws past the decoders", () => {
    const random = mulberry32(7);
    const valid = [
      toBinary(ReceiptSchema, create(ReceiptSchema, { sequenceId: 99n, queue: "jobs", duplicate: true })),
      toBinary(ErrorSchema, create(ErrorSchema, { code: "timeout", message: "m", metadata: { k: "v" } })),
      toBinary(QueueStatsSchema, create(QueueStatsSchema, { pending: 3n, queue: "q" })),
    ];
    let accepted = 0;
    for (let i = 0; i < 3000; i++) {
      // Mutate a valid message (flip, cut or extend) or make one up.
      const base = valid[i % valid.length]!;
      let bytes: Uint8Array;
      if (i % 4 === 0) bytes = Uint8Array.from({ length: Math.floor(random() * 12) }, () => Math.floor(random() * 256));
      else {
        bytes = base.slice(0, Math.max(0, base.length - Math.floor(random() * 3)));
        if (bytes.length > 0) bytes[Math.floor(random() * bytes.length)] ^= 1 << Math.floor(random() * 8);
      }
      const ours = decodeReceiptPayload(bytes);
      if (!ours.ok) {
        expect(ours.error.code).toBe("frame.malformed");
        continue;
      }
      accepted++;
      const theirs = fromBinary(ReceiptSchema, bytes);
      expect({ sequenceId: BigInt(ours.value.sequenceId), queue: ours.value.queue, duplicate: ours.value.duplicate }).toEqual({
        sequenceId: theirs.sequenceId,
        queue: theirs.queue,
        duplicate: theirs.duplicate,
      });
      for (const decode of [decodeErrorPayload, decodeNackPayload, decodeQueueStatsPayload, decodeFencePayload]) decode(bytes);
      goAwayPeers(bytes);
    }
    expect(accepted).toBeGreaterThan(100);
  });

  test("bad bytes throw from the reader (truncation, illegal tags, invalid UTF-8, overlong varints)", () => {
    const bad = [
      new Uint8Array([0x08]),
      new Uint8Array([0x08, 0x80]),
      new Uint8Array([0x12, 0x05, 0x41]),
      new Uint8Array([0x00, 0x01]),
      new Uint8Array([0x0f]),
      new Uint8Array([0x12, 0x01, 0xff]),
      new Uint8Array([0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]),
      new Uint8Array([0x9b, 0x01, 0x08, 0x01]),
    ];
    for (const bytes of bad) {
      expect(() => {
        const r = new PayloadReader(bytes);
        for (let f = r.next(); f !== 0; f = r.next()) if (f === 2) r.string(); else if (f === 1) r.uint64(); else r.skip();
      }).toThrow();
      expect(() => fromBinary(ReceiptSchema, bytes)).toThrow();
    }
  });

  test("the writer grows past its first buffer", () => {
    const w = new PayloadWriter();
    for (let i = 0; i < 100; i++) w.repeatedString(1, `http://node-${i}.example:8787`);
    const peers = goAwayPeers(w.finish());
    expect(peers.length).toBe(100);
    expect(peers[99]).toBe("http://node-99.example:8787");
  });
});

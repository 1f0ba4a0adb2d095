import { create, toBinary } from "@bufbuild/protobuf";
import { ErrorSchema } from "../../src/gen/sluice/v1/error_pb.ts";
import { NackReasonSchema } from "../../src/gen/sluice/v1/nack_pb.ts";
import { ReceiptSchema } from "../../src/gen/sluice/v1/receipt_pb.ts";
import { QueueStatsSchema } from "../../src/gen/sluice/v1/stats_pb.ts";
import {
  argToErrorCode,
  decodeErrorPayload,
  decodeNackPayload,
  decodeQueueStatsPayload,
  decodeReceiptPayload,
  encodeErrorPayload,
  encodeNackPayload,
  encodeQueueStatsPayload,
  encodeReceiptPayload,
  errorCodeToArg,
  NO_ERROR_ARG,
} from "../../src/protocol/messages.ts";
import { ERROR_CODES, sluiceError } from "../../src/result/errors.ts";
import { describe, expect, test } from "../harness.ts";

// Wire data a hostile or buggy peer could send: each must decode to frame.malformed, never throw.
const MALFORMED: Record<string, Uint8Array> = {
  "invalid wire type": new Uint8Array([0xff]),
  "truncated varint": new Uint8Array([0x08, 0x80]),
  "length past the end": new Uint8Array([0x12, 0x10, 0x41]),
  "field number zero": new Uint8Array([0x00, 0x01]),
};

const counters = {
  pending: 3,
  active: 1,
  poisoned: 2,
  enqueued: 10,
  acked: 6,
  failed: 4,
  requeued: 2,
  expired: 1,
  poisonedTotal: 2,
};

describe("error payloads", () => {
  test("round-trip code, message and metadata (non-strings JSON-encoded)", () => {
    const error = sluiceError("queue.full", "queue 'jobs' is full", {
      cause: new Error("not sent"),
      metadata: { capacity: 1024, queue: "jobs", detail: { a: [1] }, flag: true, skipped: undefined },
    });
    const r = decodeErrorPayload(encodeErrorPayload(error));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value).toEqual({
      code: "queue.full",
      message: "queue 'jobs' is full",
      metadata: { capacity: "1024", queue: "jobs", detail: '{"a":[1]}', flag: "true" },
    });
  });

  test("omit metadata when there is none, and never send the cause", () => {
    const r = decodeErrorPayload(encodeErrorPayload(sluiceError("timeout", "late", { cause: "secret" })));
    expect(r).toEqual({ ok: true, value: { code: "timeout", message: "late" } });
  });

  test("survive cyclic metadata", () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    const r = decodeErrorPayload(encodeErrorPayload(sluiceError("internal", "x", { metadata: { cyclic } })));
    expect(r.ok && r.value.metadata?.cyclic).toBe("[object Object]");
  });

  test("every contract code round-trips", () => {
    for (const code of ERROR_CODES) {
      const r = decodeErrorPayload(encodeErrorPayload(sluiceError(code, code)));
      expect(r.ok && r.value.code).toBe(code);
    }
  });

  test("unknown or empty code is frame.malformed", () => {
    const unknown = toBinary(ErrorSchema, create(ErrorSchema, { code: "nope", message: "?" }));
    const r = decodeErrorPayload(unknown);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error.code).toBe("frame.malformed");
      expect(r.error.message).toContain('"nope"');
    }
    const empty = decodeErrorPayload(new Uint8Array(0));
    expect(!empty.ok && empty.error.code).toBe("frame.malformed");
  });

  for (const [name, bytes] of Object.entries(MALFORMED)) {
    test(`malformed bytes (${name}) are frame.malformed`, () => {
      const r = decodeErrorPayload(bytes);
      expect(!r.ok && r.error.code).toBe("frame.malformed");
    });
  }
});

describe("receipt payloads", () => {
  test("round-trip", () => {
    const receipt = { sequenceId: 42, queue: "jobs", duplicate: true };
    expect(decodeReceiptPayload(encodeReceiptPayload(receipt))).toEqual({ ok: true, value: receipt });
  });

  test("the largest safe id round-trips; larger ids are frame.malformed", () => {
    const max = { sequenceId: Number.MAX_SAFE_INTEGER, queue: "q", duplicate: false };
    expect(decodeReceiptPayload(encodeReceiptPayload(max))).toEqual({ ok: true, value: max });
    const huge = toBinary(ReceiptSchema, create(ReceiptSchema, { sequenceId: 2n ** 60n }));
    const r = decodeReceiptPayload(huge);
    expect(!r.ok && r.error.code).toBe("frame.malformed");
  });

  test("encoding an invalid id is a programmer error", () => {
    expect(() => encodeReceiptPayload({ sequenceId: -1, queue: "q", duplicate: false })).toThrow(RangeError);
    expect(() => encodeReceiptPayload({ sequenceId: 1.5, queue: "q", duplicate: false })).toThrow(RangeError);
  });

  for (const [name, bytes] of Object.entries(MALFORMED)) {
    test(`malformed bytes (${name}) are frame.malformed`, () => {
      const r = decodeReceiptPayload(bytes);
      expect(!r.ok && r.error.code).toBe("frame.malformed");
    });
  }
});

describe("nack payloads", () => {
  test("round-trip", () => {
    const nack = { code: "unavailable", message: "db down", requeue: true } as const;
    expect(decodeNackPayload(encodeNackPayload(nack))).toEqual({ ok: true, value: nack });
  });

  test("unknown code is frame.malformed", () => {
    const r = decodeNackPayload(toBinary(NackReasonSchema, create(NackReasonSchema, { code: "oops" })));
    expect(!r.ok && r.error.code).toBe("frame.malformed");
  });

  for (const [name, bytes] of Object.entries(MALFORMED)) {
    test(`malformed bytes (${name}) are frame.malformed`, () => {
      const r = decodeNackPayload(bytes);
      expect(!r.ok && r.error.code).toBe("frame.malformed");
    });
  }
});

describe("queue stats payloads", () => {
  test("round-trip with defaults for backpressure and queue", () => {
    expect(decodeQueueStatsPayload(encodeQueueStatsPayload(counters))).toEqual({
      ok: true,
      value: { ...counters, backpressure: false, queue: "" },
    });
    const full = { ...counters, backpressure: true, queue: "jobs" };
    expect(decodeQueueStatsPayload(encodeQueueStatsPayload(full))).toEqual({ ok: true, value: full });
  });

  test("empty bytes decode to all-zero stats (proto3 defaults)", () => {
    const r = decodeQueueStatsPayload(new Uint8Array(0));
    expect(r.ok && r.value.poisonedTotal).toBe(0);
  });

  test("a counter beyond 2^53 is frame.malformed; a negative counter throws on encode", () => {
    const r = decodeQueueStatsPayload(toBinary(QueueStatsSchema, create(QueueStatsSchema, { acked: 2n ** 63n })));
    expect(!r.ok && r.error.code).toBe("frame.malformed");
    expect(() => encodeQueueStatsPayload({ ...counters, pending: -1 })).toThrow(RangeError);
  });

  for (const [name, bytes] of Object.entries(MALFORMED)) {
    test(`malformed bytes (${name}) are frame.malformed`, () => {
      const r = decodeQueueStatsPayload(bytes);
      expect(!r.ok && r.error.code).toBe("frame.malformed");
    });
  }
});

describe("ERROR frame arg numbering", () => {
  test("is the 1-based position in ERROR_CODES and round-trips", () => {
    ERROR_CODES.forEach((code, index) => {
      expect(errorCodeToArg(code)).toBe(index + 1);
      expect(argToErrorCode(index + 1)).toEqual({ ok: true, value: code });
    });
  });

  test("is wire-stable for the contract's codes (append new codes, never reorder)", () => {
    expect(errorCodeToArg("canceled")).toBe(1);
    expect(errorCodeToArg("validation")).toBe(3);
    expect(errorCodeToArg("frame.malformed")).toBe(9);
    expect(errorCodeToArg("frame.too_large")).toBe(10);
    expect(errorCodeToArg("unauthorized")).toBe(12);
  });

  test("0, out-of-range and fractional args are frame.malformed", () => {
    for (const arg of [NO_ERROR_ARG, ERROR_CODES.length + 1, 0xffffffff, 1.5, -1, Number.NaN]) {
      const r = argToErrorCode(arg);
      expect(!r.ok && r.error.code).toBe("frame.malformed");
    }
  });

  test("an unknown code is a programmer error", () => {
    expect(() => errorCodeToArg("bogus" as never)).toThrow(TypeError);
  });
});

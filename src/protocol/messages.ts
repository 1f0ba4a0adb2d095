/**
 * Helpers between Sluice's own values and the protobuf payloads of ERROR, RECEIPT and NACK frames
 * and of stats messages (schemas in proto/sluice/v1/; encoded and decoded by payload-wire.ts,
 * byte for byte as protobuf-es does with the schemas generated into src/gen/, without loading it).
 *
 * Encoders take trusted, in-process values and throw `RangeError` on programmer errors (a
 * negative or unsafe sequence id). Decoders take bytes from untrusted peers and never throw: bad
 * bytes, unknown error codes and ids beyond 2^53 all become a `frame.malformed` Result.
 * User payloads never pass through here; they stay opaque bytes.
 *
 * @example
 * ```ts
 * const bytes = encodeErrorPayload(sluiceError("queue.full", "queue 'jobs' is full"));
 * const back = decodeErrorPayload(bytes); // ok({ code: "queue.full", message: "queue 'jobs' is full" })
 * ```
 */
import { PayloadReader, PayloadWriter } from "./payload-wire.ts";
import { type ErrorCode, type SluiceError, isErrorCode, sluiceError } from "../result/errors.ts";
import { err, ok, type Result } from "../result/result.ts";

export { argToErrorCode, errorCodeToArg, NO_ERROR_ARG } from "./error-arg.ts";

/** A RECEIPT frame's payload: the queue accepted a publish (or recognised it as a duplicate). */
export interface ReceiptPayload {
  readonly sequenceId: number;
  readonly queue: string;
  readonly duplicate: boolean;
}

/** A NACK frame's payload: why a consumer failed a delivery and whether it should be retried. */
export interface NackPayload {
  readonly code: ErrorCode;
  readonly message: string;
  readonly requeue: boolean;
}

/** The counters of `SafeTaskQueue.stats()` that a stats message carries, all non-negative safe integers. */
export interface QueueCounters {
  /** Ready, waiting out a requeue delay, or waiting in the store. */
  readonly pending: number;
  /** Leases in flight. */
  readonly active: number;
  /** Items now in the poison queue. */
  readonly poisoned: number;
  readonly enqueued: number;
  readonly acked: number;
  readonly failed: number;
  readonly requeued: number;
  readonly expired: number;
  /** Items ever moved to the poison queue. */
  readonly poisonedTotal: number;
}

/** A stats message: the queue's counters plus backpressure state and (optionally) its name. */
export interface QueueStatsPayload extends QueueCounters {
  readonly backpressure: boolean;
  readonly queue: string;
}

const COUNTER_KEYS = [
  "pending",
  "active",
  "poisoned",
  "enqueued",
  "acked",
  "failed",
  "requeued",
  "expired",
  "poisonedTotal",
] as const satisfies readonly (keyof QueueCounters)[];

/**
 * Encodes a `SluiceError` as a `sluice.v1.Error`. Metadata values that are not strings are
 * JSON-encoded (the wire map is string→string); `cause` is not sent, since it may hold
 * in-process objects or internals a peer should not see.
 *
 * @example
 * ```ts
 * encodeErrorPayload(sluiceError("timeout", "late", { metadata: { attempts: 3 } })); // metadata.attempts = "3"
 * ```
 */
export function encodeErrorPayload(error: SluiceError): Uint8Array {
  const w = new PayloadWriter().string(1, error.code).string(2, error.message);
  for (const [key, value] of Object.entries(error.metadata ?? {})) {
    if (value !== undefined) w.mapEntry(3, key, stringifyMetadata(value));
  }
  return w.finish();
}

/**
 * Decodes a `sluice.v1.Error` into a `SluiceError` (metadata values stay strings; an empty map is
 * omitted). Undecodable bytes or an unknown code give `frame.malformed`.
 *
 * @example
 * ```ts
 * const r = decodeErrorPayload(frame.payload);
 * if (r.ok) console.log(r.value.code);
 * ```
 */
export function decodeErrorPayload(bytes: Uint8Array): Result<SluiceError> {
  const decoded = decode(bytes, "Error", (r) => {
    let code = "";
    let message = "";
    const metadata: Record<string, string> = {};
    for (let f = r.next(); f !== 0; f = r.next()) {
      if (f === 1) code = r.string();
      else if (f === 2) message = r.string();
      else if (f === 3) {
        const [key, value] = r.mapEntry();
        // Own data properties (a key may be "__proto__"), as protobuf-es sets them.
        Object.defineProperty(metadata, key, { value, enumerable: true, writable: true, configurable: true });
      } else r.skip();
    }
    return { code, message, metadata };
  });
  if (!decoded.ok) return decoded;
  const { code, message, metadata } = decoded.value;
  if (!isErrorCode(code)) return unknownCode("Error", code);
  const hasMetadata = Object.keys(metadata).length > 0;
  return ok(hasMetadata ? sluiceError(code, message, { metadata: { ...metadata } }) : sluiceError(code, message));
}

/**
 * Encodes a receipt. Throws `RangeError` when `sequenceId` is not a non-negative safe integer.
 *
 * @example
 * ```ts
 * encodeReceiptPayload({ sequenceId: 42, queue: "jobs", duplicate: false });
 * ```
 */
export function encodeReceiptPayload(receipt: ReceiptPayload): Uint8Array {
  const sequenceId = toUint64(receipt.sequenceId, "Receipt.sequenceId");
  return new PayloadWriter().uint64(1, sequenceId).string(2, receipt.queue).bool(3, receipt.duplicate).finish();
}

/**
 * Decodes a receipt; `frame.malformed` for bad bytes or a sequence id beyond 2^53.
 *
 * @example
 * ```ts
 * const r = decodeReceiptPayload(bytes); // ok({ sequenceId: 42, queue: "jobs", duplicate: false })
 * ```
 */
export function decodeReceiptPayload(bytes: Uint8Array): Result<ReceiptPayload> {
  const decoded = decode(bytes, "Receipt", (r) => {
    let sequenceId: number | bigint = 0;
    let queue = "";
    let duplicate = false;
    for (let f = r.next(); f !== 0; f = r.next()) {
      if (f === 1) sequenceId = r.uint64();
      else if (f === 2) queue = r.string();
      else if (f === 3) duplicate = r.bool();
      else r.skip();
    }
    return { sequenceId, queue, duplicate };
  });
  if (!decoded.ok) return decoded;
  const sequenceId = fromUint64(decoded.value.sequenceId, "Receipt.sequence_id");
  if (!sequenceId.ok) return sequenceId;
  return ok({ sequenceId: sequenceId.value, queue: decoded.value.queue, duplicate: decoded.value.duplicate });
}

/**
 * Encodes a NACK reason.
 *
 * @example
 * ```ts
 * encodeNackPayload({ code: "unavailable", message: "db down", requeue: true });
 * ```
 */
export function encodeNackPayload(reason: NackPayload): Uint8Array {
  return new PayloadWriter().string(1, reason.code).string(2, reason.message).bool(3, reason.requeue).finish();
}

/**
 * Decodes a NACK reason; `frame.malformed` for bad bytes or an unknown code.
 *
 * @example
 * ```ts
 * const r = decodeNackPayload(bytes);
 * if (r.ok && r.value.requeue) retryLater();
 * ```
 */
export function decodeNackPayload(bytes: Uint8Array): Result<NackPayload> {
  const decoded = decode(bytes, "NackReason", (r) => {
    let code = "";
    let message = "";
    let requeue = false;
    for (let f = r.next(); f !== 0; f = r.next()) {
      if (f === 1) code = r.string();
      else if (f === 2) message = r.string();
      else if (f === 3) requeue = r.bool();
      else r.skip();
    }
    return { code, message, requeue };
  });
  if (!decoded.ok) return decoded;
  const { code, message, requeue } = decoded.value;
  if (!isErrorCode(code)) return unknownCode("NackReason", code);
  return ok({ code, message, requeue });
}

/**
 * Encodes queue stats. `backpressure` defaults to false and `queue` to "" (implied by context).
 * Throws `RangeError` when a counter is not a non-negative safe integer.
 *
 * @example
 * ```ts
 * encodeQueueStatsPayload({ ...queue.stats(), queue: "jobs", backpressure: false });
 * ```
 */
export function encodeQueueStatsPayload(
  stats: QueueCounters & { readonly backpressure?: boolean; readonly queue?: string },
): Uint8Array {
  const w = new PayloadWriter();
  // Fields 1..9, in COUNTER_KEYS order; validated first, so a bad counter writes nothing.
  const values = COUNTER_KEYS.map((key) => toUint64(stats[key], `QueueStats.${key}`));
  values.forEach((value, i) => w.uint64(i + 1, value));
  return w.bool(10, stats.backpressure ?? false).string(11, stats.queue ?? "").finish();
}

/**
 * Decodes queue stats; `frame.malformed` for bad bytes or a counter beyond 2^53.
 *
 * @example
 * ```ts
 * const r = decodeQueueStatsPayload(bytes);
 * if (r.ok) console.log(r.value.pending);
 * ```
 */
export function decodeQueueStatsPayload(bytes: Uint8Array): Result<QueueStatsPayload> {
  const decoded = decode(bytes, "QueueStats", (r) => {
    const values: Record<string, number | bigint> = {};
    for (const key of COUNTER_KEYS) values[key] = 0;
    let backpressure = false;
    let queue = "";
    for (let f = r.next(); f !== 0; f = r.next()) {
      if (f >= 1 && f <= COUNTER_KEYS.length) values[COUNTER_KEYS[f - 1]!] = r.uint64();
      else if (f === 10) backpressure = r.bool();
      else if (f === 11) queue = r.string();
      else r.skip();
    }
    return { ...(values as Record<(typeof COUNTER_KEYS)[number], number | bigint>), backpressure, queue };
  });
  if (!decoded.ok) return decoded;
  const counters: Record<string, number> = {};
  for (const key of COUNTER_KEYS) {
    const value = fromUint64(decoded.value[key], `QueueStats.${key}`);
    if (!value.ok) return value;
    counters[key] = value.value;
  }
  return ok({
    ...(counters as unknown as QueueCounters),
    backpressure: decoded.value.backpressure,
    queue: decoded.value.queue,
  });
}

// The reader throws on truncated or invalid wire data; peers are untrusted, so turn that into a value.
function decode<T>(bytes: Uint8Array, what: string, read: (reader: PayloadReader) => T): Result<T> {
  try {
    return ok(read(new PayloadReader(bytes)));
  } catch (thrown) {
    const reason = thrown instanceof Error ? thrown.message : String(thrown);
    return err("frame.malformed", `cannot decode sluice.v1.${what} payload: ${reason}`, {
      cause: thrown,
      metadata: { message: what, bytes: bytes.byteLength },
    });
  }
}

function unknownCode(what: string, code: string): Result<never> {
  return err("frame.malformed", `sluice.v1.${what} carries unknown error code ${JSON.stringify(code)}`, {
    metadata: { message: what, code },
  });
}

function toUint64(value: number, field: string): number {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`${field} must be a non-negative safe integer (got ${value})`);
  }
  return value;
}

// Ids and counters are `number`s in Sluice; anything past 2^53 would silently lose precision
// (the reader gives those as a bigint).
function fromUint64(value: number | bigint, field: string): Result<number> {
  if (typeof value === "bigint") {
    return err("frame.malformed", `${field} ${value} exceeds the largest safe integer`, { metadata: { field } });
  }
  return ok(Number(value));
}

function stringifyMetadata(value: unknown): string {
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean" || typeof value === "bigint") return String(value);
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    // Cyclic objects and the like: a lossy string beats failing to report the error at all.
    return String(value);
  }
}

import { storeFrameHeader } from "./frame-codec.ts";
import { FRAME_HEADER_BYTES, FrameType } from "./frame-layout.ts";
import type { ReceiptPayload } from "./messages.ts";

const DEFAULT_SCRATCH_BYTES = 64 * 1024;
// Field keys of sluice.v1.Receipt: (field number << 3) | wire type.
const SEQUENCE_ID_KEY = 0x08; // 1: uint64, varint
const QUEUE_KEY = 0x12; // 2: string, length-delimited
const DUPLICATE_KEY = 0x18; // 3: bool, varint
const MAX_VARINT_BYTES = 8; // a safe integer (< 2^53) takes at most 8 varint bytes

/**
 * `FrameWriter`: builds the frames a server sends once per message — DELIVER and RECEIPT —
 * without the per-frame garbage of the general builders (an init object, a DataView, a protobuf
 * writer and a BigInt per receipt). Under load that garbage set the pace of the runtime's
 * young-generation collections, whose pauses were the tail of publish→deliver latency
 * (bench/HISTORY.md, issue 7).
 *
 * A reusing writer builds every frame in one scratch buffer: only for peers whose `send` copies
 * the bytes before returning (Bun's `ServerWebSocket`); the frame is valid until the writer's
 * next call. Frames larger than the scratch, and every frame of a `FrameWriter.fresh()`
 * writer, get a buffer of their own.
 *
 * The RECEIPT payload is the protobuf `sluice.v1.Receipt` written by hand (three fields, the
 * queue name's bytes cached); a test holds it byte-identical to `@bufbuild/protobuf`'s
 * `toBinary` (`encodeReceiptPayload`).
 *
 * @example
 * ```ts
 * const frames = FrameWriter.reusing();
 * bunSocket.send(frames.deliver(lease.token, lease.attempt, lease.payload)); // copied by send
 * const owned = FrameWriter.fresh().receipt(7, { sequenceId: 42, queue: "jobs", duplicate: false });
 * ```
 */
export class FrameWriter {
  readonly #scratch: Uint8Array | undefined;
  #queueName: string | undefined;
  #deliverView: Uint8Array | undefined;
  #receiptView: Uint8Array | undefined;
  #queueField = new Uint8Array(0);

  private constructor(scratchBytes: number | undefined) {
    this.#scratch = scratchBytes === undefined ? undefined : new Uint8Array(scratchBytes);
  }

  /**
   * A writer that builds frames in one reused buffer of `scratchBytes` (default 64 KiB).
   *
   * @example
   * ```ts
   * const frames = FrameWriter.reusing();
   * ```
   */
  static reusing(scratchBytes = DEFAULT_SCRATCH_BYTES): FrameWriter {
    if (!Number.isInteger(scratchBytes) || scratchBytes < FRAME_HEADER_BYTES) {
      throw new RangeError(`scratchBytes must be an integer >= ${FRAME_HEADER_BYTES}, got ${scratchBytes}`);
    }
    return new FrameWriter(scratchBytes);
  }

  /**
   * A writer whose every frame is a buffer of its own (for peers that keep what they are given).
   *
   * @example
   * ```ts
   * const frames = FrameWriter.fresh();
   * ```
   */
  static fresh(): FrameWriter {
    return new FrameWriter(undefined);
  }

  /** True when frames share the scratch buffer (valid until the next call). */
  get reuses(): boolean {
    return this.#scratch !== undefined;
  }

  /** DELIVER: id = lease token, arg = attempt, payload copied in. */
  deliver(token: number, attempt: number, payload: Uint8Array): Uint8Array {
    const total = FRAME_HEADER_BYTES + payload.byteLength;
    const out = this.#buffer(total);
    storeFrameHeader(out, 0, FrameType.DELIVER, 0, payload.byteLength, token, attempt, 0);
    out.set(payload, FRAME_HEADER_BYTES);
    return this.#frameOf(out, total);
  }

  /**
   * RECEIPT for the PUBLISH with correlation `id`; throws `RangeError` for a bad sequence id.
   * `count` > 1 (to clients that read batches only): it answers `count` consecutive PUBLISH ids
   * from `id`, stored under consecutive sequence ids from `receipt.sequenceId` (header `arg`).
   */
  receipt(id: number, receipt: ReceiptPayload, count = 1): Uint8Array {
    const { sequenceId, duplicate } = receipt;
    if (!Number.isSafeInteger(sequenceId) || sequenceId < 0) {
      throw new RangeError(`Receipt.sequenceId must be a non-negative safe integer, got ${sequenceId}`);
    }
    const queueField = this.#queueFieldOf(receipt.queue);
    // proto3 leaves default values (0, "", false) out, as toBinary does. Sized exactly: a
    // subarray of a fresh buffer would make the runtime materialise its ArrayBuffer.
    const payloadLength = (sequenceId === 0 ? 0 : 1 + varintLength(sequenceId)) + queueField.byteLength + (duplicate ? 2 : 0);
    const total = FRAME_HEADER_BYTES + payloadLength;
    const buffer = this.#buffer(total);
    let at = FRAME_HEADER_BYTES;
    if (sequenceId !== 0) {
      buffer[at++] = SEQUENCE_ID_KEY;
      at = writeVarint(buffer, at, sequenceId);
    }
    buffer.set(queueField, at);
    at += queueField.byteLength;
    if (duplicate) {
      buffer[at++] = DUPLICATE_KEY;
      buffer[at++] = 1;
    }
    storeFrameHeader(buffer, 0, FrameType.RECEIPT, 0, payloadLength, id, count > 1 ? count : 0, 0);
    return this.#frameOf(buffer, total);
  }

  // The scratch when the frame fits in it, else a buffer of exactly `total` bytes.
  // The first `total` bytes of `buffer` as a view. Views of the scratch are cached per size:
  // under load every DELIVER of a stream has the same size, so the same view object serves.
  #frameOf(buffer: Uint8Array, total: number): Uint8Array {
    if (buffer.byteLength === total) return buffer;
    if (buffer !== this.#scratch) return buffer.subarray(0, total);
    const cached = total === this.#deliverView?.byteLength ? this.#deliverView : total === this.#receiptView?.byteLength ? this.#receiptView : undefined;
    if (cached !== undefined) return cached;
    const view = buffer.subarray(0, total);
    if (buffer[1] === FrameType.DELIVER) this.#deliverView = view;
    else this.#receiptView = view;
    return view;
  }

  #buffer(total: number): Uint8Array {
    const scratch = this.#scratch;
    return scratch !== undefined && total <= scratch.byteLength ? scratch : new Uint8Array(total);
  }

  // Sessions serve one queue, so the encoded name is cached for the last queue seen.
  #queueFieldOf(queue: string): Uint8Array {
    if (queue === this.#queueName) return this.#queueField;
    const name = new TextEncoder().encode(queue);
    const field = new Uint8Array(queue === "" ? 0 : 1 + MAX_VARINT_BYTES + name.byteLength);
    if (queue !== "") {
      field[0] = QUEUE_KEY;
      const at = writeVarint(field, 1, name.byteLength);
      field.set(name, at);
      this.#queueField = field.subarray(0, at + name.byteLength);
    } else {
      this.#queueField = field;
    }
    this.#queueName = queue;
    return this.#queueField;
  }
}

// Bytes of the base-128 varint of a non-negative safe integer.
function varintLength(value: number): number {
  let bytes = 1;
  for (let v = value; v >= 0x80; v = Math.floor(v / 0x80)) bytes++;
  return bytes;
}

// Base-128 varint of a non-negative safe integer; division, not shifts, above 2^31.
function writeVarint(out: Uint8Array, at: number, value: number): number {
  let v = value;
  while (v >= 0x80) {
    out[at++] = (v % 0x80) | 0x80;
    v = Math.floor(v / 0x80);
  }
  out[at++] = v;
  return at;
}

/**
 * The load generator's side of the wire protocol, written for speed rather than generality:
 * frames are built in place in reused buffers and read with a DataView, with no per-message
 * Result objects (the SDK's codec and Results would cost as much as the server path measured).
 * Layout and types come from src/protocol, so a change there breaks this at compile time.
 *
 * Payload of every benchmark message: `f64 publishedAtMs | u32 index | filler`, so the
 * consumer reads the publish time straight from the DELIVER it received (one process, one clock).
 *
 * @example
 * ```ts
 * const publish = new PublishWriter(256);
 * socket.send(publish.write(index, performance.now()));      // PUBLISH id = index
 * const h = readHeader(bytes);                                // { type, id, arg }
 * ```
 */
import { FRAME_HEADER_BYTES, FRAME_VERSION, FrameType } from "../../src/protocol/frame-layout.ts";

export { FRAME_HEADER_BYTES, FrameType };

/** Bytes at the start of each payload that carry the publish time and the message index. */
export const STAMP_BYTES = 12;

const TWO_32 = 2 ** 32;

/** Writes the 24-byte header at `at` (no CRC). */
export function writeHeader(view: DataView, at: number, type: number, payloadLength: number, id: number, arg = 0): void {
  view.setUint8(at, FRAME_VERSION);
  view.setUint8(at + 1, type);
  view.setUint16(at + 2, 0, true);
  view.setUint32(at + 4, payloadLength, true);
  view.setUint32(at + 8, id % TWO_32, true);
  view.setUint32(at + 12, Math.floor(id / TWO_32), true);
  view.setUint32(at + 16, arg, true);
  view.setUint32(at + 20, 0, true);
}

/**
 * PUBLISH frames of a fixed payload size, built in one reused buffer. The socket copies what it
 * is given before `send` returns, so reusing the buffer is safe for WebSocket sends; stream
 * writers must copy (`writeInto`).
 */
export class PublishWriter {
  readonly payloadBytes: number;
  readonly frameBytes: number;
  readonly #frame: Uint8Array;
  readonly #view: DataView;

  constructor(payloadBytes: number) {
    if (payloadBytes < STAMP_BYTES) throw new RangeError(`payload must hold the ${STAMP_BYTES}-byte stamp`);
    this.payloadBytes = payloadBytes;
    this.frameBytes = FRAME_HEADER_BYTES + payloadBytes;
    this.#frame = new Uint8Array(this.frameBytes);
    for (let i = FRAME_HEADER_BYTES + STAMP_BYTES; i < this.frameBytes; i++) this.#frame[i] = i & 0xff;
    this.#view = new DataView(this.#frame.buffer);
    writeHeader(this.#view, 0, FrameType.PUBLISH, payloadBytes, 0);
  }

  /** The frame for message `index` (id = index), stamped with `nowMs`; valid until the next call. */
  write(index: number, nowMs: number): Uint8Array {
    stamp(this.#view, 0, index, nowMs);
    return this.#frame;
  }

  /** Writes the frame for `index` into `out` at `at` (for batching several frames into one chunk). */
  writeInto(out: Uint8Array, at: number, index: number, nowMs: number): void {
    out.set(this.#frame, at);
    stamp(new DataView(out.buffer, out.byteOffset, out.byteLength), at, index, nowMs);
  }
}

function stamp(view: DataView, at: number, index: number, nowMs: number): void {
  view.setUint32(at + 8, index, true); // id = index (< 2^32 in any bounded run)
  view.setFloat64(at + FRAME_HEADER_BYTES, nowMs, true);
  view.setUint32(at + FRAME_HEADER_BYTES + 8, index, true);
}

// One reused 12-byte stamp for payloads an application owns (the SDK and NATS rows): a fresh
// `slice()` has no ArrayBuffer of its own yet in JSC, and `new DataView(payload.buffer)` makes one
// per message (~15 % of the load generator's CPU in those rows), work the echo's clients never do.
const stampBytes = new Uint8Array(STAMP_BYTES);
const stampView = new DataView(stampBytes.buffer);

/** A copy of `template` with the stamp (send time, message index) in its first 12 bytes. */
export function stampedCopy(template: Uint8Array, index: number, nowMs: number): Uint8Array {
  const payload = template.slice();
  stampView.setFloat64(0, nowMs, true);
  stampView.setUint32(8, index, true);
  payload.set(stampBytes);
  return payload;
}

/** The stamp at the start of a payload an application was handed (any offset, any buffer). */
export function readPayloadStamp(payload: Uint8Array): { index: number; publishedAtMs: number } {
  for (let i = 0; i < STAMP_BYTES; i++) stampBytes[i] = payload[i]!;
  return { publishedAtMs: stampView.getFloat64(0, true), index: stampView.getUint32(8, true) };
}

/** A reused 24-byte frame with only type / id / arg set (ACK, CREDIT). */
export class ControlWriter {
  readonly #frame = new Uint8Array(FRAME_HEADER_BYTES);
  readonly #view = new DataView(this.#frame.buffer);

  /** The frame; valid until the next call. */
  write(type: number, id: number, arg = 0): Uint8Array {
    writeHeader(this.#view, 0, type, 0, id, arg);
    return this.#frame;
  }
}

/** What the load generator reads of a received frame. */
export interface Header {
  type: number;
  id: number;
  arg: number;
  payloadLength: number;
}

/** Reads the header at `at` into `out` (reused to avoid an allocation per message). */
export function readHeader(view: DataView, at: number, out: Header): Header {
  out.type = view.getUint8(at + 1);
  out.payloadLength = view.getUint32(at + 4, true);
  out.id = view.getUint32(at + 8, true) + view.getUint32(at + 12, true) * TWO_32;
  out.arg = view.getUint32(at + 16, true);
  return out;
}

/** The stamp of a benchmark payload that starts at `at`. */
export function readStamp(view: DataView, at: number): { index: number; publishedAtMs: number } {
  return { publishedAtMs: view.getFloat64(at, true), index: view.getUint32(at + 8, true) };
}

/**
 * Splits a byte stream (an HTTP duplex response) into frames across chunk boundaries; calls
 * `onFrame(view, at, header)` per complete frame, with the view valid only during the call.
 */
export class FrameSplitter {
  #rest: Uint8Array = new Uint8Array(0);
  readonly #header: Header = { type: 0, id: 0, arg: 0, payloadLength: 0 };

  push(chunk: Uint8Array, onFrame: (view: DataView, at: number, header: Header) => void): void {
    let bytes = chunk;
    if (this.#rest.byteLength > 0) {
      bytes = new Uint8Array(this.#rest.byteLength + chunk.byteLength);
      bytes.set(this.#rest);
      bytes.set(chunk, this.#rest.byteLength);
    }
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let at = 0;
    while (bytes.byteLength - at >= FRAME_HEADER_BYTES) {
      const header = readHeader(view, at, this.#header);
      const end = at + FRAME_HEADER_BYTES + header.payloadLength;
      if (end > bytes.byteLength) break;
      onFrame(view, at, header);
      at = end;
    }
    this.#rest = at === bytes.byteLength ? new Uint8Array(0) : bytes.slice(at);
  }
}

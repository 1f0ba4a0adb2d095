/**
 * Wire frame layout constants (DESIGN.md, "Wire frames"), shared by the WASM codec and the JS reference.
 *
 * @module
 */

/**
 * Version byte of every frame; a decoder rejects any other value as `Malformed`, so a layout
 * change can never be misread as the old one.
 *
 * @example
 * ```ts
 * if (bytes[HeaderOffset.version] !== FRAME_VERSION) return FrameStatus.Malformed;
 * ```
 */
export const FRAME_VERSION = 1;
/**
 * Size of the fixed frame header: a 24-byte little-endian
 * `u8 version | u8 type | u16 flags | u32 payloadLength | u64 id | u32 arg | u32 crc32c`,
 * followed by `payloadLength` bytes of payload.
 *
 * @example
 * ```ts
 * const total = FRAME_HEADER_BYTES + payload.byteLength;
 * ```
 */
export const FRAME_HEADER_BYTES = 24;
/**
 * Default payload limit; larger frames are rejected with `frame.too_large`.
 *
 * @example
 * ```ts
 * const tooLarge = payloadLength > DEFAULT_MAX_PAYLOAD_BYTES;
 * ```
 */
export const DEFAULT_MAX_PAYLOAD_BYTES = 1024 * 1024;
/**
 * Ids travel as u64 but must stay JS-safe integers (< 2^53) so they survive as `number`s.
 *
 * @example
 * ```ts
 * if (id > MAX_FRAME_ID) return FrameStatus.Malformed;
 * ```
 */
export const MAX_FRAME_ID = Number.MAX_SAFE_INTEGER;

/**
 * Header field byte offsets.
 *
 * @example
 * ```ts
 * const type = view.getUint8(HeaderOffset.type);
 * ```
 */
export const HeaderOffset = {
  version: 0,
  type: 1,
  flags: 2,
  payloadLength: 4,
  id: 8,
  arg: 16,
  crc: 20,
} as const;

/**
 * Flag bits. Bit 0: the header's crc field holds CRC32C of the payload. Bit 1 (`ReadsBatches`):
 * the sender reads WebSocket messages that carry several frames, so the server may answer it in
 * batches (receipts of one turn, deliveries of one flush, in one message); a connection that
 * never sets it gets one frame per message. Decoders ignore bits they do not know.
 *
 * @example
 * ```ts
 * if (flags & FrameFlag.Crc) verifyCrc();
 * if (flags & FrameFlag.ReadsBatches) session.answerInBatches();
 * ```
 */
export const FrameFlag = {
  Crc: 1,
  ReadsBatches: 2,
} as const;

/**
 * Frame types, by name; the value is the header's type byte.
 *
 * @example
 * ```ts
 * if (type === FrameType.ACK) settle(id);
 * ```
 */
export const FrameType = {
  PUBLISH: 0x01,
  PUBLISH_END: 0x02,
  ERROR: 0x03,
  RECEIPT: 0x11,
  DELIVER: 0x21,
  ACK: 0x22,
  NACK: 0x23,
  TOUCH: 0x24,
  CREDIT: 0x25,
  FENCE: 0x26,
  PING: 0x30,
  PONG: 0x31,
  GOAWAY: 0x3f,
} as const;
/**
 * A frame type's name, e.g. `"DELIVER"`.
 *
 * @example
 * ```ts
 * const name: FrameTypeName = "PUBLISH";
 * ```
 */
export type FrameTypeName = keyof typeof FrameType;
/**
 * A frame type byte the protocol defines (narrowed by `isKnownFrameType`).
 *
 * @example
 * ```ts
 * const code: FrameTypeCode = FrameType.PING;
 * ```
 */
export type FrameTypeCode = (typeof FrameType)[FrameTypeName];

const knownTypes: ReadonlySet<number> = new Set(Object.values(FrameType));

/**
 * True for a type byte the protocol defines.
 *
 * @example
 * ```ts
 * isKnownFrameType(0x22); // true (ACK)
 * ```
 */
export function isKnownFrameType(type: number): type is FrameTypeCode {
  return knownTypes.has(type);
}

/**
 * Per-frame decode status codes shared by the WASM module and the JS reference.
 *
 * @example
 * ```ts
 * if (r.status[i] === FrameStatus.TooLarge) reject("frame.too_large");
 * ```
 */
export const FrameStatus = {
  Ok: 0,
  /** Version byte is not 1, or the type is unknown, or the id is not JS-safe. */
  Malformed: 1,
  /** payloadLength exceeds the configured limit. */
  TooLarge: 2,
  /** CRC flag set and the payload's CRC32C does not match. */
  BadCrc: 3,
} as const;
/**
 * One of the `FrameStatus` values.
 *
 * @example
 * ```ts
 * const status: FrameStatusCode = FrameStatus.Ok;
 * ```
 */
export type FrameStatusCode = (typeof FrameStatus)[keyof typeof FrameStatus];

/**
 * The protobuf wire format, just as far as the small payloads of Sluice's own frames need it
 * (`sluice.v1.Error`, `Receipt`, `NackReason`, `QueueStats`, `Fence`, `GoAway`: strings, uint64,
 * bool, repeated string and map<string, string>), written by hand so that a server or client
 * that speaks only the frame protocol never loads `@bufbuild/protobuf` and the generated schemas
 * (about 20 MiB of resident memory at start on Bun: the runtime, the descriptors it boots, the
 * JIT work that does). The Relay (Connect/gRPC) and the mesh keep using protobuf-es.
 *
 * The bytes are the ones protobuf-es writes for the same message (fields in number order, proto3
 * defaults left out, map entries with both key and value; test/unit/protocol-payload-wire.test.ts
 * compares them), and reading follows it too: unknown fields are skipped, a repeated scalar
 * field keeps the last value, strings must be valid UTF-8. Bad bytes throw `Error`; the callers
 * (messages.ts, fence.ts, goaway.ts) turn that into `frame.malformed`.
 *
 * @example
 * ```ts
 * const w = new PayloadWriter();
 * w.uint64(1, 42); w.string(2, "jobs"); w.bool(3, false);
 * const r = new PayloadReader(w.finish());
 * for (let f = r.next(); f !== 0; f = r.next()) if (f === 2) r.string(); else r.skip();
 * ```
 */

const VARINT = 0;
const FIXED64 = 1;
const LENGTH_DELIMITED = 2;
const START_GROUP = 3;
const END_GROUP = 4;
const FIXED32 = 5;

let encoder: TextEncoder | undefined;
let decoder: TextDecoder | undefined;

/**
 * Writes proto3 fields in the order they are called (call them in field-number order). Default
 * values (0, "", false) are left out, as proto3 does for fields without explicit presence.
 *
 * @example
 * ```ts
 * const bytes = new PayloadWriter().string(1, "bridge/jobs").uint64(2, 17).finish();
 * ```
 */
export class PayloadWriter {
  #bytes = new Uint8Array(64);
  #length = 0;

  /** A uint64 field from a non-negative safe integer (callers validate). */
  uint64(field: number, value: number): this {
    if (value === 0) return this;
    this.#tag(field, VARINT);
    this.#varint(value);
    return this;
  }

  bool(field: number, value: boolean): this {
    if (!value) return this;
    this.#tag(field, VARINT);
    this.#byte(1);
    return this;
  }

  string(field: number, value: string): this {
    if (value === "") return this;
    this.#tag(field, LENGTH_DELIMITED);
    this.#text(value);
    return this;
  }

  /** One element of a repeated string field: written even when empty. */
  repeatedString(field: number, value: string): this {
    this.#tag(field, LENGTH_DELIMITED);
    this.#text(value);
    return this;
  }

  /** One entry of a map<string, string> field (key 1, value 2, both always written). */
  mapEntry(field: number, key: string, value: string): this {
    const k = utf8(key);
    const v = utf8(value);
    this.#tag(field, LENGTH_DELIMITED);
    this.#varint(2 + varintLength(k.length) + k.length + varintLength(v.length) + v.length);
    this.#tag(1, LENGTH_DELIMITED);
    this.#varint(k.length);
    this.#raw(k);
    this.#tag(2, LENGTH_DELIMITED);
    this.#varint(v.length);
    this.#raw(v);
    return this;
  }

  /** The message written so far (its own buffer). */
  finish(): Uint8Array {
    return this.#bytes.slice(0, this.#length);
  }

  #tag(field: number, wireType: number): void {
    this.#varint(field * 8 + wireType);
  }

  #text(value: string): void {
    const bytes = utf8(value);
    this.#varint(bytes.length);
    this.#raw(bytes);
  }

  #varint(value: number): void {
    this.#room(10);
    while (value >= 0x80) {
      this.#bytes[this.#length++] = (value % 0x80) | 0x80;
      value = Math.floor(value / 0x80);
    }
    this.#bytes[this.#length++] = value;
  }

  #byte(value: number): void {
    this.#room(1);
    this.#bytes[this.#length++] = value;
  }

  #raw(bytes: Uint8Array): void {
    this.#room(bytes.length);
    this.#bytes.set(bytes, this.#length);
    this.#length += bytes.length;
  }

  #room(n: number): void {
    if (this.#length + n <= this.#bytes.length) return;
    const grown = new Uint8Array(Math.max(this.#bytes.length * 2, this.#length + n));
    grown.set(this.#bytes.subarray(0, this.#length));
    this.#bytes = grown;
  }
}

/**
 * Reads proto3 fields: `next()` gives the next field number (0 at the end), then read its value
 * with the method of its type, or `skip()` it. Throws `Error` on bad bytes (truncation, an
 * illegal tag, a wire type the field cannot have, invalid UTF-8, a varint past 64 bits).
 *
 * @example
 * ```ts
 * const r = new PayloadReader(bytes);
 * let scope = "";
 * for (let f = r.next(); f !== 0; f = r.next()) if (f === 1) scope = r.string(); else r.skip();
 * ```
 */
export class PayloadReader {
  readonly #bytes: Uint8Array;
  #pos = 0;
  #end: number;
  #wireType = 0;
  #field = 0;

  constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
    this.#end = bytes.length;
  }

  /** The next field's number, or 0 at the end of the message. */
  next(): number {
    if (this.#pos >= this.#end) return 0;
    const start = this.#pos;
    const tag = this.#varint();
    if (this.#pos - start > 5 || tag > 0xffffffff) throw new Error("illegal tag: varint overflows uint32");
    this.#field = Math.floor(tag / 8);
    this.#wireType = tag % 8;
    if (this.#field === 0 || this.#wireType > 5) throw new Error(`illegal tag: field no ${this.#field} wire type ${this.#wireType}`);
    return this.#field;
  }

  /**
   * A uint64 field: a number while it is a safe integer, else a bigint (callers refuse it with
   * the value in the message).
   */
  uint64(): number | bigint {
    this.#expect(VARINT);
    const start = this.#pos;
    const value = this.#varint();
    if (Number.isSafeInteger(value)) return value;
    // Past 2^53 the float sum above is inexact: read the bytes again, exactly.
    let big = 0n;
    for (let i = this.#pos - 1; i >= start; i--) big = (big << 7n) | BigInt(this.#bytes[i]! & 0x7f);
    return BigInt.asUintN(64, big);
  }

  bool(): boolean {
    this.#expect(VARINT);
    return this.#varint() !== 0;
  }

  string(): string {
    this.#expect(LENGTH_DELIMITED);
    const bytes = this.#delimited();
    decoder ??= new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
    return decoder.decode(bytes);
  }

  /** A map<string, string> entry: [key, value] ("" for a missing one). */
  mapEntry(): [string, string] {
    this.#expect(LENGTH_DELIMITED);
    const entry = new PayloadReader(this.#delimited());
    let key = "";
    let value = "";
    for (let f = entry.next(); f !== 0; f = entry.next()) {
      if (f === 1) key = entry.string();
      else if (f === 2) value = entry.string();
      else entry.skip();
    }
    return [key, value];
  }

  /** Skips the current field's value (an unknown field). */
  skip(): void {
    this.#skip(this.#wireType, this.#field, 100);
  }

  #skip(wireType: number, field: number, depth: number): void {
    switch (wireType) {
      case VARINT:
        this.#varint();
        return;
      case FIXED64:
        this.#advance(8);
        return;
      case LENGTH_DELIMITED:
        this.#delimited();
        return;
      case FIXED32:
        this.#advance(4);
        return;
      case START_GROUP: {
        if (depth === 0) throw new Error("maximum recursion depth reached");
        for (;;) {
          const inner = this.next();
          if (inner === 0) throw new Error("premature EOF");
          if (this.#wireType === END_GROUP) {
            if (inner !== field) throw new Error("invalid end group tag");
            return;
          }
          this.#skip(this.#wireType, inner, depth - 1);
        }
      }
      default:
        throw new Error(`cant skip wire type ${wireType}`);
    }
  }

  #expect(wireType: number): void {
    if (this.#wireType !== wireType) throw new Error(`field ${this.#field}: wire type ${this.#wireType}, expected ${wireType}`);
  }

  #delimited(): Uint8Array {
    const length = this.#varint();
    const start = this.#pos;
    this.#advance(length);
    return this.#bytes.subarray(start, start + length);
  }

  #advance(n: number): void {
    if (n > this.#end - this.#pos) throw new RangeError("premature EOF");
    this.#pos += n;
  }

  // A float sum: exact up to 2^53 (uint64() re-reads larger ones exactly).
  #varint(): number {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (this.#pos >= this.#end) throw new RangeError("premature EOF");
      const b = this.#bytes[this.#pos++]!;
      value += (b & 0x7f) * scale;
      if (b < 0x80) return value;
      scale *= 0x80;
    }
    throw new Error("invalid varint");
  }
}

function utf8(text: string): Uint8Array {
  encoder ??= new TextEncoder();
  return encoder.encode(text);
}

function varintLength(n: number): number {
  let length = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 0x80);
    length++;
  }
  return length;
}

/**
 * How a journal turns payloads into stored bytes and back.
 *
 * @example
 * ```ts
 * const json: PayloadCodec<{ id: number }> = {
 *   encode: (value) => new TextEncoder().encode(JSON.stringify(value)),
 *   decode: (bytes) => JSON.parse(new TextDecoder().decode(bytes)),
 * };
 * ```
 */
export interface PayloadCodec<T> {
  encode(payload: T): Uint8Array;
  decode(bytes: Uint8Array): T;
  /** Bytes a payload takes in memory; default `encode(payload).byteLength`. */
  sizeOf?(payload: T): number;
}

/**
 * The codec of byte payloads (the server's): stored as they are.
 *
 * @example
 * ```ts
 * const journal = store.journal("jobs", bytesCodec);
 * ```
 */
export const bytesCodec: PayloadCodec<Uint8Array> = {
  encode: (payload) => payload,
  // Drivers may hand back a view into a buffer they reuse; the queue keeps the payload.
  decode: (bytes) => bytes.slice(),
  sizeOf: (payload) => payload.byteLength,
};

/**
 * A codec for JSON-serialisable payloads (strings, numbers, plain objects).
 *
 * @example
 * ```ts
 * const queue = SafeTaskQueue.create<string>({ journal: store.journal("emails", jsonCodec<string>()) });
 * ```
 */
export function jsonCodec<T>(): PayloadCodec<T> {
  const encoder = new TextEncoder();
  const decoder = new TextDecoder();
  return {
    encode: (payload) => encoder.encode(JSON.stringify(payload)),
    decode: (bytes) => JSON.parse(decoder.decode(bytes)) as T,
  };
}

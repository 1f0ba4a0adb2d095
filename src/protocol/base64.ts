/**
 * Base64 for payloads in JSON (the poison list, the `sluice.json.v1` sub-protocol) with only `btoa`/`atob` (present on Bun, Deno, workerd and
 * Node), so the server layer needs no `Buffer`.
 *
 * @example
 * ```ts
 * bytesFromBase64(base64FromBytes(new Uint8Array([1, 2, 3]))); // Uint8Array [1, 2, 3]
 * ```
 */
const CHUNK = 0x8000;

/**
 * Encodes bytes as standard base64.
 *
 * @example
 * ```ts
 * base64FromBytes(new TextEncoder().encode("hi")); // "aGk="
 * ```
 */
export function base64FromBytes(bytes: Uint8Array): string {
  let binary = "";
  // Chunked: String.fromCharCode(...hugeArray) would overflow the call stack.
  for (let i = 0; i < bytes.length; i += CHUNK) binary += String.fromCharCode(...bytes.subarray(i, i + CHUNK));
  return btoa(binary);
}

/**
 * Decodes standard base64; throws on invalid input (callers wrap it in a Result).
 *
 * @example
 * ```ts
 * bytesFromBase64("aGk="); // bytes of "hi"
 * ```
 */
export function bytesFromBase64(text: string): Uint8Array {
  const binary = atob(text);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

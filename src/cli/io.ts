/**
 * Standard input for `sluice` commands, through `node:process` and `node:readline` (the same on
 * Bun and Deno): all of it as bytes or text, or line by line.
 *
 * @example
 * ```ts
 * for await (const line of stdinLines()) console.log(line.length);
 * ```
 *
 * @module
 */
import process from "node:process";
import { createInterface } from "node:readline";

/**
 * All of stdin as bytes.
 *
 * @example
 * ```ts
 * const payload = await readStdinBytes();
 * ```
 */
export async function readStdinBytes(): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of process.stdin) chunks.push(typeof chunk === "string" ? new TextEncoder().encode(chunk) : new Uint8Array(chunk));
  const all = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.length;
  }
  return all;
}

/**
 * All of stdin as UTF-8 text.
 *
 * @example
 * ```ts
 * const document = JSON.parse(await readStdin());
 * ```
 */
export async function readStdin(): Promise<string> {
  return new TextDecoder().decode(await readStdinBytes());
}

/**
 * Stdin line by line (without line endings), as it arrives.
 *
 * @example
 * ```ts
 * for await (const line of stdinLines()) if (line !== "") publish(line);
 * ```
 */
export function stdinLines(): AsyncIterable<string> {
  return createInterface({ input: process.stdin, crlfDelay: Infinity, terminal: false });
}

/**
 * Shared helpers of the WASM/JS differential tests: a seeded PRNG (mulberry32), the run seed
 * (env SLUICE_FUZZ_SEED replays a failure) and a field-by-field DecodeResult comparison.
 *
 * @example
 * ```ts
 * const rand = mulberry32(fuzzSeed());
 * const diff = diffDecode(a, b); // "" when identical
 * ```
 */
import type { DecodeResult } from "../../src/wasm/mod.ts";
export { mulberry32 } from "../seeded-random.ts";


/** The seed of this run: SLUICE_FUZZ_SEED if set, else a fresh one (printed on failure). */
export function fuzzSeed(): number {
  let fromEnv: string | undefined;
  try {
    fromEnv = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.SLUICE_FUZZ_SEED;
  } catch {
    fromEnv = undefined;
  }
  return fromEnv ? Number(fromEnv) >>> 0 : (Math.random() * 2 ** 32) >>> 0;
}

const scalarKeys = ["count", "consumed", "errorOffset", "errorStatus", "partialOffset", "partialNeeded"] as const;
const arrayKeys = ["offsets", "types", "flags", "ids", "args", "payloadLengths", "status"] as const;

/** "" when `a` and `b` are identical, else a description of the first difference. */
export function diffDecode(a: DecodeResult, b: DecodeResult): string {
  for (const k of scalarKeys) if (a[k] !== b[k]) return `${k}: ${a[k]} vs ${b[k]}`;
  for (const k of arrayKeys) {
    const x = a[k];
    const y = b[k];
    if (x.length !== a.count || y.length !== b.count) return `${k}: length ${x.length}/${y.length} vs count ${a.count}`;
    for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return `${k}[${i}]: ${x[i]} vs ${y[i]}`;
  }
  return "";
}

/** Plain-object copy of a result (its views die at the next decode). */
export function snapshot(r: DecodeResult): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of scalarKeys) out[k] = r[k];
  for (const k of arrayKeys) out[k] = Array.from(r[k]);
  return out;
}

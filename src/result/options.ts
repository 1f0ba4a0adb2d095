/**
 * Option checks shared by every constructor: a bad option is a programmer error, so it throws
 * a `RangeError` (or `TypeError`) naming the option and what was expected.
 *
 * @module
 */

/**
 * Throws unless `value` is a finite number >= `min`; returns it typed as a number.
 *
 * @example
 * ```ts
 * const leaseMs = requireNumber("SafeTaskQueue", "leaseMs", options.leaseMs ?? 30_000, 1);
 * ```
 */
export function requireNumber(owner: string, name: string, value: unknown, min = 0): number {
  if (typeof value !== "number" || Number.isNaN(value)) {
    throw new TypeError(`${owner}: ${name} must be a number (got ${describe(value)})`);
  }
  if (!(value >= min) || !Number.isFinite(value)) {
    throw new RangeError(`${owner}: ${name} must be a finite number >= ${min} (got ${describe(value)})`);
  }
  return value;
}

/**
 * Throws unless `value` is a number >= `min`; `Infinity` is allowed (for caps such as `maxMs`).
 *
 * @example
 * ```ts
 * requireBound("RetryPolicy", "maxMs", Infinity); // Infinity: no cap
 * ```
 */
export function requireBound(owner: string, name: string, value: unknown, min = 0): number {
  if (value === Infinity) return Infinity;
  return requireNumber(owner, name, value, min);
}

/**
 * Throws unless `value` is an integer >= `min`.
 *
 * @example
 * ```ts
 * requireInteger("retry", "attempts", options.attempts, 1); // throws RangeError if < 1
 * ```
 */
export function requireInteger(owner: string, name: string, value: unknown, min = 0): number {
  const n = requireNumber(owner, name, value, min);
  if (!Number.isInteger(n)) throw new RangeError(`${owner}: ${name} must be an integer >= ${min} (got ${n})`);
  return n;
}

/**
 * Throws unless `value` is a number within [min, max].
 *
 * @example
 * ```ts
 * requireInRange("RetryPolicy", "jitter", options.jitter, 0, 1);
 * ```
 */
export function requireInRange(owner: string, name: string, value: unknown, min: number, max: number): number {
  const n = requireNumber(owner, name, value, min);
  if (n > max) throw new RangeError(`${owner}: ${name} must be between ${min} and ${max} (got ${n})`);
  return n;
}

function describe(value: unknown): string {
  return typeof value === "string" ? JSON.stringify(value) : String(value);
}

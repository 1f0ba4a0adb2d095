/**
 * Pass-through taps over a stream of Results: observe successes or failures (metrics, logs)
 * without changing the stream, so taps chain in front of `forEach`.
 *
 * @example
 * ```ts
 * const observed = tapFailure(tapSuccess(source, () => acked.inc()), (e) => log.warn(e));
 * await forEach(observed, handle, { concurrency: 4 });
 * ```
 */
import type { SluiceError } from "./errors.ts";
import type { Result } from "./result.ts";

/** Yields every item of `source` unchanged, calling `fn` with each success value first. */
export async function* tapSuccess<T>(source: AsyncIterable<Result<T>>, fn: (value: T) => void): AsyncGenerator<Result<T>> {
  for await (const item of source) {
    if (item.ok) fn(item.value);
    yield item;
  }
}

/** Yields every item of `source` unchanged, calling `fn` with each failure's error first. */
export async function* tapFailure<T>(
  source: AsyncIterable<Result<T>>,
  fn: (error: SluiceError) => void,
): AsyncGenerator<Result<T>> {
  for await (const item of source) {
    if (!item.ok) fn(item.error);
    yield item;
  }
}

/**
 * Wraps each value of a plain async iterable as a success, to feed Result pipelines.
 *
 * @example
 * ```ts
 * await forEach(asResults(adapter.reader), handle);
 * ```
 */
export async function* asResults<T>(source: AsyncIterable<T>): AsyncGenerator<Result<T>> {
  for await (const value of source) yield { ok: true, value };
}

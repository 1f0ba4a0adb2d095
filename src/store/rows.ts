/**
 * Row ↔ item conversions of the store (internal): the columns of `items` and `poison`.
 *
 * @module
 */
import { type ErrorCode, type SluiceError, sluiceError } from "../result/errors.ts";
import type { AttemptRecord, QueueItem } from "../queue/item.ts";
import type { PoisonExhausted, StoredItem, StoredPoison } from "../queue/journal.ts";
import type { PayloadCodec } from "./payload-codec.ts";
import type { SqlValue } from "./sql-driver.ts";

/**
 * The columns both tables share, in statement order after `queue, seq`: payload, enqueued_at, key.
 *
 * @example
 * ```ts
 * insert.run(queue, item.sequenceId, ...baseColumns(item, codec), ...stateColumns(item, false, 0));
 * ```
 */
export function baseColumns<T>(item: QueueItem<T>, codec: PayloadCodec<T>): SqlValue[] {
  return [codec.encode(item.payload), item.enqueuedAt, item.key ?? null];
}

/**
 * The delivery-state columns an UPDATE rewrites (never the payload).
 *
 * @example
 * ```ts
 * update.run(...stateColumns(item, leased, notBefore), queue, item.sequenceId);
 * ```
 */
export function stateColumns<T>(item: QueueItem<T>, leased: boolean, notBefore: number): SqlValue[] {
  return [item.attempts, item.failures, item.stalls, notBefore, leased ? 1 : 0, errorText(item.lastError), historyText(item.history)];
}

/**
 * `SluiceError` as stored: `{"code","message"}` JSON, or null.
 *
 * @example
 * ```ts
 * errorText(sluiceError("timeout", "late")); // '{"code":"timeout","message":"late"}'
 * ```
 */
export function errorText(error: SluiceError | undefined): string | null {
  return error === undefined ? null : JSON.stringify({ code: error.code, message: error.message });
}

/**
 * A failure history as stored (JSON), or null when there is none.
 *
 * @example
 * ```ts
 * historyText(item.history);
 * ```
 */
export function historyText(history: readonly AttemptRecord[] | undefined): string | null {
  return history === undefined || history.length === 0 ? null : JSON.stringify(history);
}

/**
 * Rebuilds an item from an `items` or `poison` row.
 *
 * @example
 * ```ts
 * const item = itemFromRow(row, bytesCodec);
 * ```
 */
export function itemFromRow<T>(row: Record<string, SqlValue>, codec: PayloadCodec<T>): QueueItem<T> {
  const lastError = row.last_error == null ? undefined : parseError(row.last_error as string);
  return {
    payload: codec.decode(row.payload as Uint8Array),
    sequenceId: row.seq as number,
    attempts: row.attempts as number,
    failures: row.failures as number,
    stalls: row.stalls as number,
    enqueuedAt: row.enqueued_at as number,
    suspect: false,
    bytes: 0,
    lastError,
    key: row.key == null ? undefined : (row.key as string),
    history: row.history == null ? undefined : (JSON.parse(row.history as string) as AttemptRecord[]),
  };
}

/**
 * An `items` row as the queue pages it in.
 *
 * @example
 * ```ts
 * const stored = storedItemFromRow(row, bytesCodec); // { item, notBefore }
 * ```
 */
export function storedItemFromRow<T>(row: Record<string, SqlValue>, codec: PayloadCodec<T>): StoredItem<T> {
  return { item: itemFromRow(row, codec), notBefore: row.not_before as number };
}

/**
 * A `poison` row as the poison queue reloads it.
 *
 * @example
 * ```ts
 * const entry = poisonFromRow(row, bytesCodec);
 * ```
 */
export function poisonFromRow<T>(row: Record<string, SqlValue>, codec: PayloadCodec<T>): StoredPoison<T> {
  const item = itemFromRow(row, codec);
  return {
    item,
    error: item.lastError ?? sluiceError("internal", "unknown"),
    attempts: item.attempts,
    poisonedAt: row.poisoned_at as number,
    exhausted: row.exhausted as PoisonExhausted,
  };
}

/**
 * Lease marks as stored: (sequence id, attempt) pairs, little-endian float64s.
 *
 * @example
 * ```ts
 * insertMarks.run("jobs", 7, encodeMarks([41, 42], [1, 1]));
 * ```
 */
export function encodeMarks(seqs: readonly number[], attempts: readonly number[]): Uint8Array {
  const bytes = new Uint8Array(seqs.length * 16);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < seqs.length; i++) {
    view.setFloat64(i * 16, seqs[i]!, true);
    view.setFloat64(i * 16 + 8, attempts[i]!, true);
  }
  return bytes;
}

/**
 * Reads back what `encodeMarks` wrote, pair by pair.
 *
 * @example
 * ```ts
 * decodeMarks(row.marks, (seq, attempts) => newest.set(seq, attempts));
 * ```
 */
export function decodeMarks(stored: SqlValue, each: (seq: number, attempts: number) => void): void {
  const bytes = stored as Uint8Array;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let at = 0; at + 16 <= bytes.byteLength; at += 16) each(view.getFloat64(at, true), view.getFloat64(at + 8, true));
}

function parseError(text: string): SluiceError {
  const { code, message } = JSON.parse(text) as { code: ErrorCode; message: string };
  return sluiceError(code, message);
}

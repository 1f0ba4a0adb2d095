/**
 * Shutdown snapshots: queues live in memory, so "lose nothing across a restart" means writing
 * what is still pending (and what sits in the poison queue) at shutdown and loading it at
 * startup. This file holds the pure part — the JSON shape, taking and restoring — and
 * src/runtime/snapshot-file.ts does the file I/O.
 *
 * Restored items get new sequence ids and start again at attempt 1 (their delivery history is
 * not kept); poisoned items go back into the poison queue with their last error. Restoring
 * counts each item in `sluice_enqueued_total` (and a poisoned one in the poison counters) of the
 * new process.
 *
 * @example
 * ```ts
 * const snap = takeSnapshot(broker.queues, Date.now());
 * const text = JSON.stringify(snap);
 * const parsed = parseSnapshot(text);
 * if (parsed.ok) restoreSnapshot(parsed.value, otherBroker.queues);
 * ```
 */
import { isErrorCode, type SluiceError, sluiceError } from "../result/errors.ts";
import { err, ok, type Result } from "../result/result.ts";
import type { SafeTaskQueue } from "../queue/safe-task-queue.ts";
import { base64FromBytes, bytesFromBase64 } from "./base64.ts";

/** One queue's persisted items. Payloads are base64. */
export interface QueueSnapshot {
  readonly pending: readonly { readonly payload: string; readonly enqueuedAt: number }[];
  readonly poison: readonly { readonly payload: string; readonly code: string; readonly message: string; readonly attempts: number }[];
}

/** The snapshot file's content. */
export interface Snapshot {
  readonly format: "sluice.snapshot.v1";
  readonly takenAt: number;
  readonly queues: Readonly<Record<string, QueueSnapshot>>;
}

/** How many items a snapshot holds. */
export interface SnapshotCounts {
  readonly pending: number;
  readonly poisoned: number;
}

/**
 * Captures every queue's pending and poisoned items (call after `drain`, when nothing is in flight).
 *
 * @example
 * ```ts
 * const snap = takeSnapshot(queues, Date.now());
 * ```
 */
export function takeSnapshot(queues: ReadonlyMap<string, SafeTaskQueue<Uint8Array>>, takenAt: number): Snapshot {
  const out: Record<string, QueueSnapshot> = {};
  for (const [name, queue] of queues) {
    const pending = queue.pendingItems().map((item) => ({ payload: base64FromBytes(item.payload), enqueuedAt: item.enqueuedAt }));
    const poison = queue.poison.list().map((entry) => ({
      payload: base64FromBytes(entry.payload),
      code: entry.lastError.code,
      message: entry.lastError.message,
      attempts: entry.attempts,
    }));
    if (pending.length > 0 || poison.length > 0) out[name] = { pending, poison };
  }
  return { format: "sluice.snapshot.v1", takenAt, queues: out };
}

/**
 * Totals of a snapshot.
 *
 * @example
 * ```ts
 * snapshotCounts(snap); // { pending: 12, poisoned: 1 }
 * ```
 */
export function snapshotCounts(snapshot: Snapshot): SnapshotCounts {
  let pending = 0;
  let poisoned = 0;
  for (const q of Object.values(snapshot.queues)) {
    pending += q.pending.length;
    poisoned += q.poison.length;
  }
  return { pending, poisoned };
}

/**
 * Parses and checks a snapshot file's text; `validation` naming what is wrong.
 *
 * @example
 * ```ts
 * parseSnapshot("{}"); // err: not a sluice.snapshot.v1 file
 * ```
 */
export function parseSnapshot(text: string): Result<Snapshot> {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (thrown) {
    return err("validation", `snapshot: not valid JSON (${thrown instanceof Error ? thrown.message : String(thrown)})`);
  }
  const snap = raw as Snapshot;
  if (typeof raw !== "object" || raw === null || snap.format !== "sluice.snapshot.v1" || typeof snap.queues !== "object" || snap.queues === null) {
    return err("validation", 'snapshot: expected {"format":"sluice.snapshot.v1","queues":{...}}');
  }
  for (const [name, q] of Object.entries(snap.queues)) {
    if (!Array.isArray(q?.pending) || !Array.isArray(q?.poison)) return err("validation", `snapshot: queues.${name} needs "pending" and "poison" arrays`);
    const entries = [...q.pending, ...q.poison] as { payload?: unknown }[];
    if (entries.some((e) => typeof e?.payload !== "string")) return err("validation", `snapshot: queues.${name} has an item without a base64 payload`);
  }
  return ok(snap);
}

/**
 * Puts a snapshot's items into freshly created, empty queues: pending ones are enqueued, poisoned
 * ones go straight to the poison queue. Checks everything first, so it either restores all or
 * changes nothing: a queue missing from the config or too small is a `validation` error.
 *
 * @example
 * ```ts
 * const r = restoreSnapshot(snap, broker.queues);
 * if (!r.ok) { log(r.error.message); exit(1); }
 * ```
 */
export function restoreSnapshot(snapshot: Snapshot, queues: ReadonlyMap<string, SafeTaskQueue<Uint8Array>>): Result<SnapshotCounts> {
  const decoded: { queue: SafeTaskQueue<Uint8Array>; pending: Uint8Array[]; poison: { payload: Uint8Array; error: SluiceError }[] }[] = [];
  for (const [name, q] of Object.entries(snapshot.queues)) {
    const queue = queues.get(name);
    if (queue === undefined) {
      return err("validation", `snapshot: holds ${q.pending.length + q.poison.length} item(s) for queue '${name}', which is not configured; add it to the config or move the snapshot away`);
    }
    const stats = queue.stats();
    if (stats.pending + stats.active + stats.poisoned > 0) return err("validation", `snapshot: queue '${name}' is not empty; restore only into fresh queues`);
    if (q.pending.length + q.poison.length > queue.options.capacity) {
      return err("validation", `snapshot: ${q.pending.length + q.poison.length} item(s) for queue '${name}' exceed its capacity ${queue.options.capacity}; raise queues.${name}.capacity`);
    }
    try {
      decoded.push({
        queue,
        pending: q.pending.map((e) => bytesFromBase64(e.payload)),
        poison: q.poison.map((e) => ({
          payload: bytesFromBase64(e.payload),
          error: sluiceError(isErrorCode(e.code) ? e.code : "internal", String(e.message ?? "restored from snapshot")),
        })),
      });
    } catch {
      return err("validation", `snapshot: queue '${name}' holds a payload that is not valid base64`);
    }
  }
  let pending = 0;
  let poisoned = 0;
  for (const { queue, pending: items, poison } of decoded) {
    // Poison first, while the queue is empty: the item just enqueued is the one `tryLease` returns.
    for (const entry of poison) {
      if (!queue.tryEnqueue(entry.payload).ok) return err("internal", `snapshot: could not restore into '${queue.name}'`);
      const lease = queue.tryLease();
      if (lease === undefined || !queue.moveToPoison(lease, entry.error).ok) return err("internal", `snapshot: could not restore poison of '${queue.name}'`);
      poisoned++;
    }
    for (const payload of items) {
      if (!queue.tryEnqueue(payload).ok) return err("internal", `snapshot: could not restore into '${queue.name}'`);
      pending++;
    }
  }
  return ok({ pending, poisoned });
}

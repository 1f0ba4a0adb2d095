import type { QueueCounters } from "../protocol/messages.ts";

/**
 * `QueueStats`: what `SafeTaskQueue.stats()` reports. The counters are read from the queue's
 * metric cells (labelled `queue` and `role`), so a registry shared by two queues with the same
 * name and role would merge them: give every queue a distinct name.
 *
 * @example
 * ```ts
 * const { pending, active, poisoned, acked, backpressure } = queue.stats();
 * ```
 */
export interface QueueStats extends QueueCounters {
  /** True between the high and the low watermark crossing. */
  readonly backpressure: boolean;
  readonly capacity: number;
  /** Items held against `capacity`: pending + in flight. */
  readonly held: number;
  /** Pending items that wait only in the store (a journaled queue's backlog past its memory window). */
  readonly stored: number;
}

/**
 * Small helpers the gossip pumps share: waiting for a queue to go idle (on its events, with a
 * deadline on the clock) and bounding a poison queue.
 *
 * @module
 */
import { deadline } from "../../result/delay.ts";
import type { SafeTaskQueue } from "../../queue/safe-task-queue.ts";

/**
 * Resolves once `queue` holds nothing pending or in flight, or when `deadlineMs` passes on the
 * queue's clock — whichever is first. Driven by the queue's events, never by polling.
 *
 * @example
 * ```ts
 * await whenIdle(inbound, 1000); // every accepted envelope merged, or the deadline passed
 * ```
 */
export async function whenIdle<T>(queue: SafeTaskQueue<T>, deadlineMs: number): Promise<boolean> {
  const idle = () => {
    const s = queue.stats();
    return s.pending === 0 && s.active === 0;
  };
  if (idle()) return true;
  let off = () => {};
  const settled = new Promise<void>((resolve) => {
    off = queue.events.subscribe(() => {
      if (idle()) resolve();
    });
  });
  const waited = await deadline(settled, deadlineMs, { clock: queue.options.clock });
  off();
  return waited.ok || idle();
}

/**
 * Purges the oldest poison entries beyond `keep`: a gossip exchange that failed for good is a
 * hint already acted on, and a long-running node must not hold every one of them. Returns how
 * many went.
 *
 * @example
 * ```ts
 * trimPoison(outbound, 128);
 * ```
 */
export function trimPoison<T>(queue: SafeTaskQueue<T>, keep: number): number {
  const excess = queue.poison.size - keep;
  if (excess <= 0) return 0;
  return queue.poison.purge(queue.poison.list().slice(0, excess).map((e) => e.sequenceId));
}

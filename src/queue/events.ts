/**
 * Queue lifecycle events: their types and the `QueueEvents` hub.
 *
 * @module
 */
import type { SluiceError } from "../result/errors.ts";

/**
 * The kinds of queue lifecycle event.
 *
 * @example
 * ```ts
 * if (event.type === "poisoned") alert(event);
 * ```
 */
export type QueueEventType =
  | "enqueued"
  | "leased"
  | "acked"
  | "failed"
  | "requeued"
  | "expired"
  | "poisoned"
  | "heartbeat"
  | "drained";

/**
 * One queue lifecycle event; `sequenceId`, `attempt` and `error` are set when they apply.
 *
 * @example
 * ```ts
 * queue.events.subscribe((e: QueueEvent) => log(e.type, e.queue, e.sequenceId));
 * ```
 */
export interface QueueEvent {
  readonly type: QueueEventType;
  readonly queue: string;
  readonly at: number;
  readonly sequenceId?: number;
  readonly attempt?: number;
  readonly error?: SluiceError;
}

/**
 * A subscriber; called synchronously, so it must not block.
 *
 * @example
 * ```ts
 * const listener: QueueEventListener = (e) => counts[e.type]++;
 * ```
 */
export type QueueEventListener = (event: QueueEvent) => void;

/**
 * Delivers queue lifecycle events synchronously to subscribers. Nothing is allocated when
 * nobody listens, so events cost nothing on the hot path by default.
 *
 * @example
 * ```ts
 * const off = queue.events.subscribe((e) => { if (e.type === "poisoned") alert(e); });
 * off();
 * ```
 */
export class QueueEvents {
  #listeners: QueueEventListener[] = [];

  /** True when at least one subscriber listens (check before building an event). */
  get active(): boolean {
    return this.#listeners.length > 0;
  }

  /** Adds a listener; returns the function that removes it. A throwing listener is isolated. */
  subscribe(listener: QueueEventListener): () => void {
    this.#listeners = [...this.#listeners, listener];
    return () => {
      this.#listeners = this.#listeners.filter((l) => l !== listener);
    };
  }

  emit(event: QueueEvent): void {
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch {
        // A broken observer must not break the queue.
      }
    }
  }
}

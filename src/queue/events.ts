/**
 * Queue lifecycle events, delivered synchronously to subscribers. Nothing is allocated when
 * nobody listens, so events cost nothing on the hot path by default.
 *
 * @example
 * ```ts
 * const off = queue.events.subscribe((e) => { if (e.type === "poisoned") alert(e); });
 * off();
 * ```
 */
import type { SluiceError } from "../result/errors.ts";

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

export interface QueueEvent {
  readonly type: QueueEventType;
  readonly queue: string;
  readonly at: number;
  readonly sequenceId?: number;
  readonly attempt?: number;
  readonly error?: SluiceError;
}

export type QueueEventListener = (event: QueueEvent) => void;

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

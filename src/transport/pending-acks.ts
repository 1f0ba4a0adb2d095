import { canceledError, type SluiceError, sluiceError } from "../result/errors.ts";
import { err, type Result } from "../result/result.ts";

interface Waiter {
  readonly resolve: (result: Result<void>) => void;
  readonly off: () => void;
}

/**
 * The sends on one downstream socket still waiting for their answer, keyed by
 * frame id.
 *
 * Each waiter settles exactly once: with the downstream's answer (ACK or RECEIPT → ok, whichever
 * comes first; ERROR/NACK → its error; GOAWAY → `unavailable`: see `answerOf`), with `canceled`
 * when its signal aborts (a send timeout aborts it through `withTimeout`), or with the socket's
 * close reason (`failAll`). A waiter that left — settled,
 * aborted or dropped by a rollback — is forgotten, so a late ACK for that id finds nothing and
 * changes nothing. A second waiter for an id that is still pending supersedes the first (a
 * redelivery of the same message after its lease expired): the first fails `lease.inactive`.
 *
 * @example
 * ```ts
 * const pending = new PendingAcks();
 * const acked = pending.wait(42, signal);   // Promise<Result<void>>
 * pending.settle(42, ok());                 // on ACK 42
 * pending.failAll(sluiceError("unavailable", "socket closed"));
 * ```
 */
export class PendingAcks {
  readonly #waiters = new Map<number, Waiter>();

  /** Sends still waiting for an answer. */
  get size(): number {
    return this.#waiters.size;
  }

  /** True when a send with this id is waiting. */
  has(id: number): boolean {
    return this.#waiters.has(id);
  }

  /** Waits for the answer to frame `id`; `canceled` as soon as `signal` aborts. */
  wait(id: number, signal?: AbortSignal): Promise<Result<void>> {
    if (signal?.aborted) return Promise.resolve(err(canceledError(signal)));
    this.settle(id, err(sluiceError("lease.inactive", `send ${id} was superseded by a newer send with the same id`)));
    return new Promise((resolve) => {
      const onAbort = () => {
        if (this.#waiters.get(id) === waiter) this.#waiters.delete(id);
        resolve(err(canceledError(signal)));
      };
      const waiter: Waiter = { resolve, off: () => signal?.removeEventListener("abort", onAbort) };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#waiters.set(id, waiter);
    });
  }

  /** Settles the waiter for `id`; false when none waits (a late or unknown answer). */
  settle(id: number, result: Result<void>): boolean {
    const waiter = this.#waiters.get(id);
    if (waiter === undefined) return false;
    this.#waiters.delete(id);
    waiter.off();
    waiter.resolve(result);
    return true;
  }

  /** Rollback: the send of `id` is abandoned; its waiter (if still there) ends `canceled`. */
  drop(id: number): boolean {
    return this.settle(id, err(sluiceError("canceled", `send ${id} was rolled back`)));
  }

  /** Fails every waiter with `error` (the socket closed); returns how many there were. */
  failAll(error: SluiceError): number {
    const waiters = [...this.#waiters.values()];
    this.#waiters.clear();
    for (const waiter of waiters) {
      waiter.off();
      waiter.resolve(err(error));
    }
    return waiters.length;
  }
}

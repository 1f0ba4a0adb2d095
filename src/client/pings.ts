/**
 * PING / PONG as a durability barrier (DESIGN.md "Storage"): the server sends the PONG for a PING
 * only after everything the connection enqueued (or acked) before it is committed, so a PONG
 * means "all of it is stored". `Producer.flush()` and `Consumer.flush()` use it.
 *
 * @example
 * ```ts
 * const barrier = await pings.ping((frame) => socket.send(frame), signal);
 * // … in the message handler: if (type === FrameType.PONG) pings.pong(id);
 * ```
 *
 * @module
 */
import { canceledError, type SluiceError } from "../result/errors.ts";
import { err, ok, type Result } from "../result/result.ts";
import { pingFrame } from "../protocol/frame-builders.ts";

/**
 * PINGs sent on one connection and waiting for their PONG.
 *
 * @example
 * ```ts
 * const pings = new Pings();
 * const done = pings.ping((f) => socket.send(f));
 * pings.pong(1); // done resolves ok
 * ```
 */
export class Pings {
  #next = 0;
  readonly #waiting = new Map<number, (result: Result<void>) => void>();

  /** PINGs awaiting their PONG. */
  get size(): number {
    return this.#waiting.size;
  }

  /** Sends a PING with `send` and resolves when its PONG arrives, the connection fails, or `signal` aborts (`canceled`). */
  ping(send: (frame: Uint8Array) => void, signal?: AbortSignal): Promise<Result<void>> {
    if (signal?.aborted) return Promise.resolve(err(canceledError(signal)));
    const id = ++this.#next;
    return new Promise((resolve) => {
      const onAbort = () => this.#settle(id, err(canceledError(signal)));
      this.#waiting.set(id, (result) => {
        signal?.removeEventListener("abort", onAbort);
        resolve(result);
      });
      signal?.addEventListener("abort", onAbort, { once: true });
      try {
        send(pingFrame(id));
      } catch (thrown) {
        this.#settle(id, err("unavailable", `PING not sent: ${String(thrown)}`));
      }
    });
  }

  /** A PONG arrived for `id`. */
  pong(id: number): void {
    this.#settle(id, ok());
  }

  /** The connection is gone: every waiting PING fails with `error`. */
  failAll(error: SluiceError): void {
    for (const id of [...this.#waiting.keys()]) this.#settle(id, err(error));
  }

  #settle(id: number, result: Result<void>): void {
    const resolve = this.#waiting.get(id);
    if (resolve === undefined) return;
    this.#waiting.delete(id);
    resolve(result);
  }
}

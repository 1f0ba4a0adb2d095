/**
 * Calls in flight (publishes), so `flush()` can wait for everything called before it: first
 * until each such call has put its frame on the wire (or failed before that), then for their
 * answers. A snapshot is taken synchronously when `flush()` is called, so calls made later are
 * not waited for, and an answer that arrives while flush waits is not missed.
 *
 * @example
 * ```ts
 * publish(payload) { return calls.run((sent) => this.#publish(payload, sent)); }
 * async flush() { const before = calls.snapshot(); await before.sent(); sendPing(); return before.answered(); }
 * ```
 *
 * @module
 */
import { type SluiceError } from "../result/errors.ts";
import { err, ok, type Result } from "../result/result.ts";

interface Call {
  readonly sent: Promise<void>;
  readonly answered: Promise<Result<unknown>>;
}

/**
 * What `CallTracker.snapshot` returns: waits over the calls in flight when it was taken.
 *
 * @example
 * ```ts
 * const before = calls.snapshot();
 * await before.sent();
 * const all = await before.answered(); // ok, or the first failure with metadata.failed
 * ```
 */
export interface CallSnapshot {
  /** Resolves once every call of the snapshot has sent its frame or failed before sending. */
  sent(): Promise<void>;
  /** Resolves once every call of the snapshot has its answer: `ok`, or the first failure (`metadata.failed`: how many failed). */
  answered(): Promise<Result<void>>;
}

/**
 * The calls in flight of one producer.
 *
 * @example
 * ```ts
 * const calls = new CallTracker();
 * const receipt = await calls.run(async (sent) => { socket.send(frame); sent(); return answer; });
 * ```
 */
export class CallTracker {
  readonly #open = new Set<Call>();

  /** Calls in flight. */
  get size(): number {
    return this.#open.size;
  }

  /**
   * Runs one call; `body` calls `sent()` once its frame is on the wire (it is implied when the
   * call ends). A call leaves the tracker once sent: from then on its answer is awaited by id
   * (`Replies.through`), so a snapshot taken later does not count it twice.
   */
  run<T>(body: (sent: () => void) => Promise<Result<T>>): Promise<Result<T>> {
    let markSent!: () => void;
    const call: { sent: Promise<void>; answered: Promise<Result<unknown>> } = { sent: new Promise<void>((resolve) => (markSent = resolve)), answered: Promise.resolve(ok()) };
    this.#open.add(call);
    const forget = () => {
      markSent();
      this.#open.delete(call);
    };
    const answered = body(forget).then(
      (result) => result,
      (thrown: unknown): Result<T> => err("internal", `call failed: ${String(thrown)}`),
    );
    call.answered = answered;
    void answered.then(forget);
    return answered;
  }

  /** The calls in flight now. */
  snapshot(): CallSnapshot {
    const calls = [...this.#open];
    return {
      async sent() {
        for (const call of calls) await call.sent;
      },
      async answered() {
        let first: SluiceError | undefined;
        let failed = 0;
        for (const call of calls) {
          const result = await call.answered;
          if (result.ok) continue;
          failed++;
          first ??= result.error;
        }
        return first === undefined ? ok() : err({ ...first, metadata: { ...first.metadata, failed } });
      },
    };
  }
}

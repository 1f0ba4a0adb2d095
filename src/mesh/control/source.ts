/**
 * Where the cluster's control document lives, as the control role sees it: a `ControlSource`
 * (NATS KV when clustered, a file in the data dir on one node, memory in tests) that can be read,
 * watched from a version on, and written with compare-and-set on the version.
 *
 * @module
 */
import { abortable } from "../../result/delay.ts";
import { err, ok, type Result } from "../../result/result.ts";
import { onAbort } from "../../result/signals.ts";

/**
 * One version of the control document as stored: its integer `version` (a NATS KV revision, a
 * file's counter) and its text (JSON; validated only by the apply pump).
 *
 * @example
 * ```ts
 * const rev: ControlRevision = { version: 7, text: '{"queues":{"jobs":{}}}' };
 * ```
 */
export interface ControlRevision {
  readonly version: number;
  readonly text: string;
}

/**
 * What a compare-and-set write answers: the new version, or the version that is current now
 * when it was not the one expected (nothing written).
 *
 * @example
 * ```ts
 * const outcome: PublishOutcome = { kind: "conflict", current: 8 };
 * ```
 */
export type PublishOutcome = { readonly kind: "published"; readonly version: number } | { readonly kind: "conflict"; readonly current: number };

/**
 * A store of the control document. `watch(after)` yields every version above `after` in order —
 * the current one first when it is above `after` — then each new one as it is written; it ends
 * normally when the underlying stream ends (a closed connection, a server's end of stream) and
 * yields one error item (then ends) when it cannot go on. Version 0 means "no document yet".
 *
 * @example
 * ```ts
 * for await (const item of source.watch(lastApplied, signal)) {
 *   if (!item.ok) break; // reconnect with backoff
 *   await apply(item.value);
 * }
 * const written = await source.publish(text, 7); // ok({ kind: "published", version: 8 })
 * ```
 */
export interface ControlSource {
  /** Short description for logs ("nats-kv sluice_control/config", "file data/control/config.json"). */
  readonly describe: string;
  /** The current version, or undefined when none was ever written; `unavailable` when unreachable. */
  read(signal?: AbortSignal): Promise<Result<ControlRevision | undefined>>;
  /** Versions above `after`, in order, until the stream ends or `signal` aborts. */
  watch(after: number, signal: AbortSignal): AsyncIterable<Result<ControlRevision>>;
  /** Writes `text` as the next version if the current one is `expected` (0: none yet). */
  publish(text: string, expected: number, signal?: AbortSignal): Promise<Result<PublishOutcome>>;
}

/**
 * A `ControlSource` in memory, for tests and embedding: versions count 1, 2, 3 …; `fail(n, error)`
 * makes the next n watch connections yield `error`; `endStreams` makes watches end after what is
 * current (a server that closes the stream); `connects` records each watch's `after`.
 *
 * @example
 * ```ts
 * const source = new MemoryControlSource();
 * await source.publish('{"queues":{"jobs":{}}}', 0); // version 1
 * ```
 */
export class MemoryControlSource implements ControlSource {
  readonly describe = "memory";
  /** The `after` of every watch opened, in order. */
  readonly connects: number[] = [];
  /** When true, a watch ends (normally) right after delivering what is current. */
  endStreams = false;
  #current: ControlRevision | undefined;
  #failures: Array<ReturnType<typeof err>> = [];
  readonly #waiting = new Set<() => void>();

  /** The current revision, if any. */
  get current(): ControlRevision | undefined {
    return this.#current;
  }

  /** The next `count` watch connections yield `unavailable` (`message`) and end. */
  fail(count: number, message = "control store unreachable"): void {
    for (let i = 0; i < count; i++) this.#failures.push(err("unavailable", message));
  }

  /** Sets a version directly (any number, also a stale one: tests of the apply guard). */
  put(version: number, text: string): void {
    this.#current = { version, text };
    for (const wake of [...this.#waiting]) wake();
  }

  read(): Promise<Result<ControlRevision | undefined>> {
    return Promise.resolve(ok(this.#current));
  }

  publish(text: string, expected: number): Promise<Result<PublishOutcome>> {
    const current = this.#current?.version ?? 0;
    if (current !== expected) return Promise.resolve(ok({ kind: "conflict", current }));
    this.put(current + 1, text);
    return Promise.resolve(ok({ kind: "published", version: current + 1 }));
  }

  async *watch(after: number, signal: AbortSignal): AsyncGenerator<Result<ControlRevision>> {
    this.connects.push(after);
    const failure = this.#failures.shift();
    if (failure !== undefined) {
      yield failure;
      return;
    }
    let seen = after;
    for (;;) {
      if (signal.aborted) return;
      const current = this.#current;
      if (current !== undefined && current.version > seen) {
        seen = current.version;
        yield ok(current);
        continue;
      }
      if (this.endStreams) return;
      const changed = await abortable(this.#changed(signal), signal);
      if (!changed.ok) return;
    }
  }

  #changed(signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        this.#waiting.delete(wake);
        off();
        resolve();
      };
      const off = onAbort(signal, wake);
      this.#waiting.add(wake);
    });
  }
}

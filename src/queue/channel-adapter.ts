import { sluiceError } from "../result/errors.ts";
import { requireInteger } from "../result/options.ts";
import { ok } from "../result/result.ts";
import { Fifo } from "./fifo.ts";
import type { Lease } from "./lease.ts";
import type { RelayQueue } from "./relay-queue.ts";
import { Waiters } from "./waiters.ts";

/**
 * Options of `TaskQueueChannelAdapter.create`.
 *
 * @example
 * ```ts
 * TaskQueueChannelAdapter.create(queue, { concurrency: 4, ownsQueue: true });
 * ```
 */
export interface ChannelAdapterOptions {
  /** Lease loops, and the buffer's bound. */
  concurrency: number;
  /** Close the queue when the adapter closes. Default false. */
  ownsQueue?: boolean;
}

/**
 * Turns a queue into an async iterable of leases.
 *
 * `concurrency` lease loops fill a buffer that never holds more than `concurrency` leases, so a
 * slow reader holds at most that many items out of the queue. `close()` stops the loops and
 * fails every buffered (leased but not yet read) lease back with requeue, at once and without
 * using up an attempt; with `ownsQueue` it closes the queue too.
 *
 * @example
 * ```ts
 * const adapter = TaskQueueChannelAdapter.create(queue, { concurrency: 4, ownsQueue: false });
 * for await (const lease of adapter.reader) { handle(lease); if (done) break; }
 * await adapter.close();
 * ```
 */
export class TaskQueueChannelAdapter<T> {
  readonly #queue: RelayQueue<T>;
  readonly #capacity: number;
  readonly #ownsQueue: boolean;
  readonly #buffer = new Fifo<Lease<T>>();
  readonly #readers = new Waiters<Lease<T> | undefined>();
  readonly #space = new Waiters<void>();
  readonly #stop = new AbortController();
  readonly #loops: Promise<void>[];
  #reserved = 0;
  #liveLoops: number;

  /** Starts `options.concurrency` lease loops on `queue`; throws `RangeError` on a bad concurrency. */
  static create<T>(queue: RelayQueue<T>, options: ChannelAdapterOptions): TaskQueueChannelAdapter<T> {
    return new TaskQueueChannelAdapter(queue, options);
  }

  private constructor(queue: RelayQueue<T>, options: ChannelAdapterOptions) {
    this.#queue = queue;
    this.#capacity = requireInteger("TaskQueueChannelAdapter", "concurrency", options.concurrency, 1);
    this.#ownsQueue = options.ownsQueue ?? false;
    this.#liveLoops = this.#capacity;
    this.#loops = Array.from({ length: this.#capacity }, () => this.#leaseLoop());
  }

  /** Leases in arrival order; ends when the queue closes (or drains) or the adapter closes. */
  get reader(): AsyncIterable<Lease<T>> {
    return { [Symbol.asyncIterator]: () => ({ next: () => this.#next(), return: async () => ({ done: true, value: undefined }) }) };
  }

  /** Leases waiting in the buffer. */
  get buffered(): number {
    return this.#buffer.length;
  }

  /** Stops the lease loops and puts buffered leases back into the queue. */
  async close(): Promise<void> {
    if (!this.#stop.signal.aborted) this.#stop.abort(sluiceError("canceled", "adapter closed"));
    this.#space.failAll(ok());
    for (const loop of this.#loops) await loop;
    this.#requeueBuffered();
    this.#readers.failAll(ok(undefined));
    if (this.#ownsQueue) this.#queue.close();
  }

  async #next(): Promise<IteratorResult<Lease<T>>> {
    const buffered = this.#buffer.shift();
    if (buffered !== undefined) {
      this.#space.serve(ok());
      return { done: false, value: buffered };
    }
    if (this.#liveLoops === 0 || this.#stop.signal.aborted) return { done: true, value: undefined };
    const handed = await this.#readers.wait();
    return handed.ok && handed.value !== undefined ? { done: false, value: handed.value } : { done: true, value: undefined };
  }

  async #leaseLoop(): Promise<void> {
    const signal = this.#stop.signal;
    while (!signal.aborted) {
      if (this.#buffer.length + this.#reserved >= this.#capacity) {
        await this.#space.wait(signal);
        continue;
      }
      this.#reserved++;
      const leased = await this.#queue.lease({ signal });
      this.#reserved--;
      if (!leased.ok) break; // canceled (closing) or queue.closed
      if (signal.aborted) {
        this.#giveBack(leased.value);
        break;
      }
      if (!this.#readers.serve(ok(leased.value))) this.#buffer.push(leased.value);
    }
    if (--this.#liveLoops === 0 && this.#buffer.length === 0) this.#readers.failAll(ok(undefined));
  }

  #requeueBuffered(): void {
    for (let lease = this.#buffer.shift(); lease !== undefined; lease = this.#buffer.shift()) this.#giveBack(lease);
  }

  #giveBack(lease: Lease<T>): void {
    this.#queue.fail(lease, sluiceError("canceled", "adapter closed before the lease was read"), {
      requeue: true,
      countAttempt: false,
      delayMs: 0,
    });
  }
}

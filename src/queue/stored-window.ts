import { sluiceError } from "../result/errors.ts";
import { exhaustedBudget, type QueueItem, recordStall } from "./item.ts";
import type { PoisonQueue } from "./poison-queue.ts";
import type { HeldBytes } from "./held-bytes.ts";
import type { QueueJournal } from "./journal.ts";

/**
 * The memory window of a journaled queue (internal): "memory is a window, the store is the truth".
 *
 * Every item is in the store; memory holds the items up to a cursor (a sequence id): those
 * leased, waiting out a delay, or ready — at most `WINDOW_ITEMS` ready and at most what its
 * `HeldBytes` allow (the queue's `maxBytes` and the server's memory budget). Items past the cursor (the backlog) live only in the store and are paged in, in
 * sequence order, as the window drains. A new item joins memory only while there is no backlog
 * and the byte budget has room, so order is kept: everything in memory precedes the backlog.
 *
 * @example
 * ```ts
 * const window = new StoredWindow(journal, heldBytes, () => ready.length, (item, notBefore) => ready.push(item));
 * window.start(storedItems);              // loads the first window
 * if (window.admit(item)) ready.push(item); // else it waits in the store
 * ```
 */
export class StoredWindow<T> {
  /** Items read from the store at a time. */
  static readonly PAGE = 256;
  /** Ready items kept in memory at most when a backlog waits in the store. */
  static readonly WINDOW_ITEMS = 1024;
  #cursor = 0;
  #backlog = 0;
  #scheduled = false;
  /** Paging ignores the window's limits until the cursor reaches this (see `start`). */
  #floor = 0;

  constructor(
    readonly journal: QueueJournal<T>,
    private readonly bytes: HeldBytes<T>,
    private readonly readyCount: () => number,
    private readonly arrive: (item: QueueItem<T>, notBefore: number) => void,
  ) {}

  /** Items that wait in the store only. */
  get backlog(): number {
    return this.#backlog;
  }

  /**
   * Starts with `items` stored (none in memory yet) and loads the first window. `floor`: the
   * highest sequence id already in memory (resumed leases): everything up to it is paged in
   * whatever the window's limits, so memory still precedes the backlog.
   */
  start(items: number, floor = 0): void {
    this.#backlog = items;
    this.#floor = floor;
    this.pageIn();
    if (this.#backlog === 0 && this.#cursor < floor) this.#cursor = floor;
    this.#floor = 0;
  }

  /** A new item: true when it joins memory, false when it waits in the store. Records it either way. */
  admit(item: QueueItem<T>): boolean {
    const size = this.bytes.sizeOf(item.payload);
    if (this.#backlog === 0 && this.bytes.fits(size)) {
      this.journal.added(item);
      this.#cursor = item.sequenceId;
      this.bytes.take(item, size);
      return true;
    }
    this.journal.added(item);
    this.#backlog++;
    return false;
  }

  /** An item left memory (acked or poisoned; the caller journals which and frees its bytes): page in if a backlog waits. */
  removed(): void {
    if (this.#backlog > 0 && !this.#scheduled) {
      this.#scheduled = true;
      // Off the ack path: a page read runs once the current operation is done.
      queueMicrotask(() => {
        this.#scheduled = false;
        this.pageIn();
      });
    }
  }

  /** A poison entry came back: true when it joins memory, false when it is past the cursor (paged in later). */
  replayed(item: QueueItem<T>): boolean {
    this.journal.replayed(item);
    if (item.sequenceId > this.#cursor) {
      this.#backlog++;
      return false;
    }
    this.bytes.take(item);
    return true;
  }

  /** Reads the next pages of the backlog while the window has room. */
  pageIn(): void {
    while (this.#backlog > 0 && (this.#cursor < this.#floor || (this.readyCount() < StoredWindow.WINDOW_ITEMS && this.bytes.fits(1)))) {
      // At least one item when nothing is held (one message bigger than the budget still passes).
      const page = this.journal.page(this.#cursor, StoredWindow.PAGE, Math.max(1, this.bytes.room()));
      // Nothing readable (a write that has not reached the store yet): try again on the next drain.
      if (page.length === 0) return;
      for (const { item, notBefore } of page) {
        const size = this.bytes.sizeOf(item.payload);
        // Past the byte budget the rest stays in the store (re-read on the next page-in).
        if (!this.bytes.fits(size) && this.#cursor >= this.#floor) return;
        this.bytes.take(item, size);
        this.#cursor = item.sequenceId;
        this.#backlog--;
        this.arrive(item, notBefore);
      }
    }
  }
}

/**
 * Start-up of a journaled queue, before it loads: every lease that was live when the process
 * died is a stall (the next delivery is attempt + 1), and past `maxStalls` a poison entry — so a
 * message that kills the process every time stops after `maxStalls` restarts. Leases `resumes`
 * says are still live (their consumer outlived the queue object) are returned instead, still
 * leased in the journal.
 *
 * @example
 * ```ts
 * const resumed = recoverCrashedLeases(journal, queue.poison, queue.options, (item) => live.has(item.sequenceId));
 * ```
 */
export function recoverCrashedLeases<T>(
  journal: QueueJournal<T>,
  poison: PoisonQueue<T>,
  limits: { readonly maxRetries: number; readonly maxStalls: number; readonly clock: { now(): number } },
  resumes: (item: QueueItem<T>) => boolean = () => false,
): QueueItem<T>[] {
  const crashed = sluiceError("lease.expired", "the process stopped while this message was leased");
  const now = limits.clock.now();
  const resumed: QueueItem<T>[] = [];
  for (const item of journal.recover()) {
    if (resumes(item)) {
      resumed.push(item);
      continue;
    }
    recordStall(item, item.attempts, crashed, now);
    const exhausted = exhaustedBudget(item, limits);
    if (exhausted === undefined) journal.changed(item, false, 0);
    else journal.poisoned(poison.add(item, crashed, now, exhausted));
  }
  return resumed;
}

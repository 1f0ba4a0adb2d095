interface Entry<T> {
  readyAt: number;
  order: number;
  item: T;
}

/**
 * Items waiting out a requeue delay, ordered by the time they become ready
 * (a binary min-heap; ties leave in insertion order).
 *
 * @example
 * ```ts
 * const delayed = new DelayedSet<string>();
 * delayed.add("b", 200); delayed.add("a", 100);
 * delayed.takeReady(150); // ["a"]
 * ```
 */
export class DelayedSet<T> {
  #heap: Entry<T>[] = [];
  #order = 0;

  get size(): number {
    return this.#heap.length;
  }

  /** Earliest ready time, or `Infinity` when empty. */
  nextReadyAt(): number {
    return this.#heap.length === 0 ? Infinity : this.#heap[0]!.readyAt;
  }

  add(item: T, readyAt: number): void {
    const heap = this.#heap;
    heap.push({ readyAt, order: this.#order++, item });
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!less(heap[i]!, heap[parent]!)) break;
      [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
      i = parent;
    }
  }

  /** Removes and returns, in order, every item ready at `now`. */
  takeReady(now: number): T[] {
    const ready: T[] = [];
    while (this.#heap.length > 0 && this.#heap[0]!.readyAt <= now) ready.push(this.#pop());
    return ready;
  }

  /** Removes and returns every item, ready or not, in ready order. */
  takeAll(): T[] {
    const all: T[] = [];
    while (this.#heap.length > 0) all.push(this.#pop());
    return all;
  }

  *[Symbol.iterator](): IterableIterator<T> {
    for (const entry of this.#heap) yield entry.item;
  }

  #pop(): T {
    const heap = this.#heap;
    const top = heap[0]!;
    const last = heap.pop()!;
    if (heap.length > 0) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < heap.length && less(heap[l]!, heap[m]!)) m = l;
        if (r < heap.length && less(heap[r]!, heap[m]!)) m = r;
        if (m === i) break;
        [heap[i], heap[m]] = [heap[m]!, heap[i]!];
        i = m;
      }
    }
    return top.item;
  }
}

function less<T>(a: Entry<T>, b: Entry<T>): boolean {
  return a.readyAt < b.readyAt || (a.readyAt === b.readyAt && a.order < b.order);
}

/**
 * `Fifo<T>`: a growable ring buffer — O(1) push and shift without the O(n) `Array#shift`
 * that makes a plain array unusable as a queue of a million items.
 *
 * @example
 * ```ts
 * const fifo = new Fifo<number>();
 * fifo.push(1); fifo.push(2);
 * fifo.shift(); // 1
 * ```
 */
export class Fifo<T> {
  #items: Array<T | undefined>;
  #head = 0;
  #length = 0;

  /** Capacity stays a power of two so wrapping is a mask, not a division. */
  constructor(initialCapacity = 16) {
    let capacity = 2;
    while (capacity < initialCapacity) capacity *= 2;
    this.#items = new Array(capacity);
  }

  get length(): number {
    return this.#length;
  }

  push(item: T): void {
    if (this.#length === this.#items.length) this.#grow();
    this.#items[(this.#head + this.#length) & (this.#items.length - 1)] = item;
    this.#length++;
  }

  shift(): T | undefined {
    if (this.#length === 0) return undefined;
    const item = this.#items[this.#head];
    this.#items[this.#head] = undefined; // let the payload be collected
    this.#head = (this.#head + 1) & (this.#items.length - 1);
    this.#length--;
    return item;
  }

  peek(): T | undefined {
    return this.#length === 0 ? undefined : this.#items[this.#head];
  }

  /** Removes and returns every item matching `predicate`, keeping the order of the rest. */
  removeWhere(predicate: (item: T) => boolean): T[] {
    const removed: T[] = [];
    // Rotate once through the ring: each item is shifted off and pushed back unless removed.
    for (let n = this.#length; n > 0; n--) {
      const item = this.shift() as T;
      if (predicate(item)) removed.push(item);
      else this.push(item);
    }
    return removed;
  }

  *[Symbol.iterator](): IterableIterator<T> {
    for (let i = 0; i < this.#length; i++) yield this.#items[(this.#head + i) & (this.#items.length - 1)] as T;
  }

  #grow(): void {
    const next = new Array<T | undefined>(this.#items.length * 2);
    for (let i = 0; i < this.#length; i++) next[i] = this.#items[(this.#head + i) & (this.#items.length - 1)];
    this.#items = next;
    this.#head = 0;
  }
}

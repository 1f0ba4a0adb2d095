/**
 * `SmallIntMap`: a map from non-negative 31-bit integers to values, by open addressing over a
 * typed array of keys (linear probing, backward-shift deletion: no tombstones).
 *
 * Why not `Map`: a connection adds and removes one entry per delivered message, and under that
 * churn JavaScriptCore's `Map` keeps rebuilding its hash table — garbage and re-scanned storage
 * that made young-generation collections several times longer (bench/HISTORY.md, issue 7).
 * Here an entry costs two array stores and nothing is allocated until the table grows.
 *
 * @example
 * ```ts
 * const held = new SmallIntMap<Lease<Uint8Array>>();
 * held.set(slot, lease);
 * held.get(slot);      // lease
 * held.delete(slot);   // true
 * ```
 */
export class SmallIntMap<V> {
  #keys: Int32Array;
  #values: Array<V | undefined>;
  #mask: number;
  #shift: number;
  #size = 0;

  /** `initialCapacity` is rounded up to a power of two (at least 8). */
  constructor(initialCapacity = 16) {
    let capacity = 8;
    while (capacity < initialCapacity) capacity *= 2;
    this.#keys = new Int32Array(capacity).fill(-1);
    this.#values = new Array(capacity).fill(undefined);
    this.#mask = capacity - 1;
    this.#shift = 32 - Math.log2(capacity);
  }

  /** Entries held. */
  get size(): number {
    return this.#size;
  }

  /** The value under `key`, or undefined. */
  get(key: number): V | undefined {
    const at = this.#find(key);
    return at < 0 ? undefined : this.#values[at];
  }

  /** Sets `key` (an integer in [0, 2^31)) to `value`; throws `RangeError` for other keys. */
  set(key: number, value: V): void {
    if (!Number.isInteger(key) || key < 0 || key > 0x7fffffff) throw new RangeError(`SmallIntMap key must be an integer in [0, 2^31), got ${key}`);
    const keys = this.#keys;
    let at = this.#home(key);
    for (; keys[at] !== -1; at = (at + 1) & this.#mask) {
      if (keys[at] === key) {
        this.#values[at] = value;
        return;
      }
    }
    keys[at] = key;
    this.#values[at] = value;
    // Grow at 1/2 load: probes stay short.
    if (++this.#size * 2 > keys.length) this.#rehash(keys.length * 2);
  }

  /** Removes `key`; false when it was absent. */
  delete(key: number): boolean {
    let hole = this.#find(key);
    if (hole < 0) return false;
    const keys = this.#keys;
    const values = this.#values;
    const mask = this.#mask;
    // Backward-shift: pull later members of the probe run into the hole so lookups never stop early.
    for (let at = (hole + 1) & mask; keys[at] !== -1; at = (at + 1) & mask) {
      const home = this.#home(keys[at]!);
      // Move the entry when its home does not lie cyclically in (hole, at].
      if (((at - home) & mask) >= ((at - hole) & mask)) {
        keys[hole] = keys[at]!;
        values[hole] = values[at];
        hole = at;
      }
    }
    keys[hole] = -1;
    values[hole] = undefined;
    this.#size--;
    return true;
  }

  /**
   * Removes every entry whose value `drop` says to; returns how many. Allocates nothing when
   * nothing is dropped (the common case of a periodic check), unlike `values()` + `delete`.
   */
  deleteWhere(drop: (value: V) => boolean): number {
    let doomed: number[] | undefined;
    const keys = this.#keys;
    const values = this.#values;
    for (let i = 0; i < keys.length; i++) if (keys[i] !== -1 && drop(values[i] as V)) (doomed ??= []).push(keys[i]!);
    if (doomed === undefined) return 0;
    // Deleted afterwards: a delete shifts later entries of a probe run back, under the scan.
    for (const key of doomed) this.delete(key);
    return doomed.length;
  }

  /** Every value (a snapshot array, safe to modify the map while using it). */
  values(): V[] {
    const out: V[] = [];
    for (let i = 0; i < this.#keys.length; i++) if (this.#keys[i] !== -1) out.push(this.#values[i] as V);
    return out;
  }

  /** Every key (a snapshot array). */
  keys(): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.#keys.length; i++) if (this.#keys[i] !== -1) out.push(this.#keys[i]!);
    return out;
  }

  /** Removes everything (keeps the capacity). */
  clear(): void {
    this.#keys.fill(-1);
    this.#values.fill(undefined);
    this.#size = 0;
  }

  #home(key: number): number {
    return Math.imul(key, 0x9e3779b1) >>> this.#shift;
  }

  #find(key: number): number {
    const keys = this.#keys;
    for (let at = this.#home(key); keys[at] !== -1; at = (at + 1) & this.#mask) if (keys[at] === key) return at;
    return -1;
  }

  #rehash(capacity: number): void {
    const keys = this.#keys;
    const values = this.#values;
    this.#keys = new Int32Array(capacity).fill(-1);
    this.#values = new Array(capacity).fill(undefined);
    this.#mask = capacity - 1;
    this.#shift = 32 - Math.log2(capacity);
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!;
      if (key === -1) continue;
      let at = this.#home(key);
      while (this.#keys[at] !== -1) at = (at + 1) & this.#mask;
      this.#keys[at] = key;
      this.#values[at] = values[i];
    }
  }
}

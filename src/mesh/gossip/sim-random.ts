/**
 * Deterministic randomness for simulations: a seeded PRNG and a shuffle on it.
 *
 * @module
 */

/**
 * mulberry32: a small deterministic PRNG, so a simulation replays exactly from its seed.
 *
 * @example
 * ```ts
 * const random = mulberry32(42);
 * random(); // the same float in [0, 1) on every run
 * ```
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Fisher–Yates shuffle in place with `random`.
 *
 * @example
 * ```ts
 * shuffle(nodes, mulberry32(1));
 * ```
 */
export function shuffle<T>(items: T[], random: () => number): void {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const t = items[i]!;
    items[i] = items[j]!;
    items[j] = t;
  }
}

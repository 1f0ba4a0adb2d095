/**
 * `Backpressure`: a watermark switch with hysteresis. It turns on when the level reaches
 * `high` and off only when it falls to `low`, so a queue hovering at the threshold does not
 * flap producers on and off.
 *
 * @example
 * ```ts
 * const bp = new Backpressure(800, 500, (on) => console.log("backpressure", on));
 * bp.update(queue.size);
 * ```
 */
export class Backpressure {
  #active = false;

  constructor(
    private high: number,
    private low: number,
    private readonly onChange?: (active: boolean) => void,
  ) {}

  /** New watermarks (a queue reconfigured live), then re-evaluates at `level`; the flag keeps its hysteresis. */
  retune(high: number, low: number, level: number): void {
    this.high = high;
    this.low = low;
    this.update(level);
  }

  get active(): boolean {
    return this.#active;
  }

  update(level: number): void {
    if (!this.#active && level >= this.high) {
      this.#active = true;
      this.onChange?.(true);
    } else if (this.#active && level <= this.low) {
      this.#active = false;
      this.onChange?.(false);
    }
  }
}

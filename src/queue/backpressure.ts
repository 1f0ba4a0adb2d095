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
    private readonly high: number,
    private readonly low: number,
    private readonly onChange?: (active: boolean) => void,
  ) {}

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

/**
 * The One-Euro filter (Casiez, Roussel, Vogel 2012): a low-pass whose cut-off rises with speed, so a
 * still face does not jitter and a fast turn does not lag. `minCutoff` (Hz) sets smoothing at rest,
 * `beta` how quickly it opens up with speed.
 */
export class OneEuroFilter {
  readonly #minCutoff: number;
  readonly #beta: number;
  readonly #dCutoff: number;
  #x: number | null = null;
  #dx = 0;
  #lastS = 0;

  constructor(minCutoff = 1.2, beta = 0.02, dCutoff = 1) {
    this.#minCutoff = minCutoff;
    this.#beta = beta;
    this.#dCutoff = dCutoff;
  }

  static #alpha(cutoff: number, dt: number): number {
    const tau = 1 / (2 * Math.PI * cutoff);
    return 1 / (1 + tau / dt);
  }

  /** Filters a sample taken at `timeS` (seconds, increasing). */
  filter(value: number, timeS: number): number {
    if (this.#x === null || timeS <= this.#lastS) {
      if (this.#x === null) this.#x = value;
      this.#lastS = timeS;
      return this.#x;
    }
    const dt = timeS - this.#lastS;
    this.#lastS = timeS;
    const dx = (value - this.#x) / dt;
    this.#dx += OneEuroFilter.#alpha(this.#dCutoff, dt) * (dx - this.#dx);
    const cutoff = this.#minCutoff + this.#beta * Math.abs(this.#dx);
    this.#x += OneEuroFilter.#alpha(cutoff, dt) * (value - this.#x);
    return this.#x;
  }

  reset(): void {
    this.#x = null;
    this.#dx = 0;
  }
}

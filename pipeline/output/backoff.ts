/**
 * Reconnect delays: exponential from `baseMs`, capped, with "equal jitter" (half fixed, half random) so
 * that destinations dropped together (a network blip) do not all knock again at the same instant, while
 * each still waits a predictable minimum.
 */
export interface BackoffOptions {
  readonly baseMs: number;
  readonly capMs: number;
  readonly random?: () => number;
}

export class Backoff {
  readonly #base: number;
  readonly #cap: number;
  readonly #random: () => number;
  #attempt = 0;

  constructor(options: BackoffOptions) {
    this.#base = options.baseMs;
    this.#cap = options.capMs;
    this.#random = options.random ?? Math.random;
  }

  /** Failures since the last reset. */
  get attempt(): number {
    return this.#attempt;
  }

  /** The delay before the next try; each call counts one more failure. */
  next(): number {
    const ceiling = Math.min(this.#cap, this.#base * 2 ** Math.min(this.#attempt, 30));
    this.#attempt++;
    return Math.round(ceiling / 2 + this.#random() * (ceiling / 2));
  }

  /** After a connection that held: the next failure starts from the base again. */
  reset(): void {
    this.#attempt = 0;
  }
}

/**
 * Reconnect delays: exponential from `baseMs`, capped, with "equal jitter" (half fixed, half random) so
 * that destinations dropped together (a network blip) do not all knock again at the same instant, while
 * each still waits a predictable minimum.
 */
export interface BackoffOptions {
  readonly baseMs: number;
  readonly capMs: number;
  /** False: the full exponential delay each time (one process of its kind: nothing to spread). Default true. */
  readonly jitter?: boolean;
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
    this.#random = options.jitter === false ? () => 1 : (options.random ?? Math.random);
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

  /** A fixed delay: the same wait after every failure. */
  static fixed(delayMs: number): Backoff {
    return new Backoff({ baseMs: delayMs, capMs: delayMs, jitter: false });
  }

  /** After a connection that held: the next failure starts from the base again. */
  reset(): void {
    this.#attempt = 0;
  }
}

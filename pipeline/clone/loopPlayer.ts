import { BackgroundVideo, type BackgroundVideoOptions } from '../compose/backgroundVideo.js';

/**
 * A clone's base loop held decoded when it fits this budget (a typical loop of 2-4 s at 720x1280 is
 * 70-170 MB; the longest, 12 s, about 500 MB, keeps being decoded as it plays).
 */
export const LOOP_MEMORY_BYTES = 256 * 1024 * 1024;

export interface LoopPlayerOptions extends BackgroundVideoOptions {
  /** Frames in the loop file and their rate (the decoder resamples them to `fps`). */
  readonly loopFrames: number;
  readonly loopFps: number;
  /** Bytes a decoded frame takes (I420 or YUVA at the picture's size). */
  readonly frameBytes: number;
  readonly memoryBytes?: number;
}

/**
 * The clone's base loop as the tick takes it: ffmpeg decodes it (scaled, cropped, at the channel's rate)
 * for its first pass, each loop frame is kept, and from the second pass on the frames come from memory
 * and the decoder is stopped: the same pictures for no decoding (a 60 s short video decoded the loop
 * 30 times over: 4 of its 19 s of CPU). A loop too big for the budget is decoded all along.
 */
export class LoopPlayer {
  readonly #decoder: BackgroundVideo;
  readonly #options: LoopPlayerOptions;
  /** Loop frames kept so far, by index (null: not seen yet); empty when the loop does not fit the budget. */
  readonly #kept: (Uint8Array | null)[];
  /** Once a whole pass is kept: frames come from #kept and the decoder is stopped. */
  #fromMemory = false;
  #frameNumber = -1;

  constructor(options: LoopPlayerOptions) {
    this.#options = options;
    this.#decoder = new BackgroundVideo(options);
    const fits = options.loopFrames * options.frameBytes <= (options.memoryBytes ?? LOOP_MEMORY_BYTES);
    this.#kept = fits ? new Array<Uint8Array | null>(options.loopFrames).fill(null) : [];
  }

  start(): void {
    this.#decoder.start();
  }

  /** Resolves with the first decoded frame (never, if none ever is: race it with a timeout). */
  get firstFrame(): Promise<void> {
    return this.#decoder.firstFrame;
  }

  get hasFrame(): boolean {
    return this.#fromMemory || this.#decoder.hasFrame;
  }

  /** Whether the loop plays from memory (its decoder stopped). */
  get fromMemory(): boolean {
    return this.#fromMemory;
  }

  /** The output frame number of the last frame next() gave (from the loop's start). */
  get frameNumber(): number {
    return this.#frameNumber;
  }

  /**
   * The loop frame output frame `n` shows, as ffmpeg's rate conversion picks it: loop frame i lands on output
   * frame round(i·fps/loopFps) and stays until the next one lands, so n shows the last i with
   * round(i·fps/loopFps) ≤ n, counted on across passes.
   */
  loopFrameOf(n: number): number {
    const i = Math.ceil(((n + 0.5) * this.#options.loopFps) / this.#options.fps - 1e-9) - 1;
    return i % this.#options.loopFrames;
  }

  /**
   * The next frame for this tick, or null when none is decoded yet (keep showing the last). The buffer is
   * valid until a later call returns another frame, and is never written by the caller.
   */
  next(): Uint8Array | null {
    if (this.#fromMemory) {
      this.#frameNumber++;
      return this.#kept[this.loopFrameOf(this.#frameNumber)] as Uint8Array;
    }
    const decoded = this.#decoder.next();
    if (!decoded) return null;
    this.#frameNumber = this.#decoder.frameNumber;
    if (this.#kept.length === 0) return decoded;
    const index = this.loopFrameOf(this.#frameNumber);
    this.#kept[index] ??= new Uint8Array(decoded);
    // A whole pass seen: memory from here on.
    const passes = (this.#frameNumber * this.#options.loopFps) / this.#options.fps / this.#options.loopFrames;
    if (passes >= 1) this.#playFromMemory();
    return decoded;
  }

  /**
   * Stops the decoder. A loop at a higher rate than the channel's skips some of its frames in a pass, and a
   * later pass may land on one: it shows the kept frame before it (a loop frame earlier, not to be seen).
   */
  #playFromMemory(): void {
    const kept = this.#kept;
    const last = kept.findLastIndex((f) => f !== null);
    let before = kept[last] as Uint8Array;
    for (let i = 0; i < kept.length; i++) before = kept[i] ??= before;
    this.#fromMemory = true;
    this.#decoder.close();
  }

  close(): void {
    this.#decoder.close();
    this.#kept.length = 0;
  }
}

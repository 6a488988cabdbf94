import type { ClockSource, MediaClock, MediaTick } from '../clock.js';

/** Ticks allowed in one catch-up burst; a longer stall re-anchors the clock instead. */
const MAX_CATCH_UP_S = 2;
/** How long an export waits for what its next tick needs before asking again. */
const SINK_WAIT_MS = 2;

export interface TickLoopOptions {
  readonly media: MediaClock;
  readonly source: ClockSource;
  /** One tick's work. `render` is false for catch-up ticks, which repeat the last picture. */
  readonly onTick: (tick: MediaTick, render: boolean) => void;
  /** After each turn of ticks, with the clock's time. */
  readonly afterTurn?: (nowUs: number) => void;
  /** A long stall (suspended process, overload) moved the media timeline's anchor. */
  readonly onStall?: (stalledS: number) => void;
  /**
   * Off the wall clock only: whether something the next tick needs is not ready (the encoder behind, speech
   * still being made, a video frame not decoded), so it waits instead of repeating a picture or playing
   * silence as a live channel must.
   */
  readonly holdBack?: () => boolean;
}

/**
 * Produces every frame that is due on the clock source, then waits until the next one. On the wall
 * clock a late turn catches up with ticks that repeat the last picture (the media timeline stays
 * continuous); on a virtual clock every frame is due at once and the loop runs as fast as the sink takes.
 */
export class TickLoop {
  readonly #options: TickLoopOptions;
  #cancel: (() => void) | null = null;
  #anchorUs = 0;
  #lagS = 0;
  #running = false;

  constructor(options: TickLoopOptions) {
    this.#options = options;
  }

  /** Frames behind at the last turn, in seconds (0 when on time). */
  get lagS(): number {
    return this.#lagS;
  }

  get running(): boolean {
    return this.#running;
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    const { media, source } = this.#options;
    this.#anchorUs = source.nowUs() - Math.ceil((media.frameIndex * 1e6) / media.fps);
    this.#turn();
  }

  stop(): void {
    this.#running = false;
    this.#cancel?.();
    this.#cancel = null;
  }

  #turn = (): void => {
    this.#cancel = null;
    if (!this.#running) return;
    const { media, source, holdBack } = this.#options;
    if (!source.realTime && holdBack?.()) {
      const timer = setTimeout(this.#turn, SINK_WAIT_MS);
      this.#cancel = () => clearTimeout(timer);
      return;
    }
    const now = source.nowUs();
    let due = media.framesDueAt(now - this.#anchorUs) - media.frameIndex;
    const maxBurst = Math.ceil(MAX_CATCH_UP_S * media.fps);
    if (due > maxBurst) {
      // Keep the media timeline continuous: move its anchor instead of bursting minutes of frames.
      this.#options.onStall?.(due / media.fps);
      this.#anchorUs = now - Math.ceil((media.frameIndex * 1e6) / media.fps);
      due = 1;
    }
    this.#lagS = Math.max(0, due - 1) / media.fps;
    for (let i = 0; i < due && this.#running; i++) this.#options.onTick(media.advance(), i === due - 1);
    this.#options.afterTurn?.(now);
    if (!this.#running) return;
    // The next frame is due once its exact time has passed (its pts is that time rounded, maybe down).
    this.#cancel = source.at(this.#anchorUs + Math.ceil((media.frameIndex * 1e6) / media.fps), this.#turn);
  };
}

/**
 * The one media clock of a channel. The audio sample count is the master: a video frame's pts is the
 * pts of the first audio sample that plays with it, so audio and video can never drift apart.
 */
export interface MediaTick {
  /** Index of the video frame this tick produces, from 0. */
  readonly frameIndex: number;
  /** Presentation time of the frame and of the first audio sample of the tick, microseconds. */
  readonly ptsUs: number;
  /** Audio samples (per channel) that belong to this tick. */
  readonly audioSamples: number;
  /** Index of the first audio sample of this tick. */
  readonly firstSample: number;
}

export class MediaClock {
  readonly sampleRateHz: number;
  readonly fps: number;
  #frameIndex = 0;

  constructor(sampleRateHz: number, fps: number) {
    if (!Number.isInteger(sampleRateHz) || sampleRateHz <= 0) throw new TypeError('sampleRateHz must be a positive integer');
    if (!(fps > 0 && fps <= 120)) throw new TypeError('fps must be in (0, 120]');
    this.sampleRateHz = sampleRateHz;
    this.fps = fps;
  }

  /** Samples elapsed before frame n; integer arithmetic, so 44.1 kHz at 29.97 fps never accumulates error. */
  sampleAtFrame(frameIndex: number): number {
    return Math.floor((frameIndex * this.sampleRateHz) / this.fps);
  }

  ptsUsAtSample(sample: number): number {
    return Math.round((sample * 1_000_000) / this.sampleRateHz);
  }

  /** Frames due by `elapsedUs` of media time (frame n is due when its pts is reached). */
  framesDueAt(elapsedUs: number): number {
    return Math.floor((elapsedUs * this.fps) / 1_000_000) + 1;
  }

  get frameIndex(): number {
    return this.#frameIndex;
  }

  get samplesElapsed(): number {
    return this.sampleAtFrame(this.#frameIndex);
  }

  /** Advances by one video frame and returns the tick it covers. */
  advance(): MediaTick {
    const frameIndex = this.#frameIndex++;
    const firstSample = this.sampleAtFrame(frameIndex);
    return {
      frameIndex,
      firstSample,
      ptsUs: this.ptsUsAtSample(firstSample),
      audioSamples: this.sampleAtFrame(frameIndex + 1) - firstSample,
    };
  }
}

/** Monotonic time source; injected so tests can drive time by hand. */
export interface MonotonicTime {
  nowUs(): number;
}

export const systemTime: MonotonicTime = {
  nowUs: () => Number(process.hrtime.bigint() / 1000n),
};

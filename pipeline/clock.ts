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

/**
 * What paces a channel's ticks. Live runs on the wall clock: a tick waits until its frame is due. An
 * export runs on a virtual clock: the next frame is due at once, so the same tick code makes minutes of
 * video in seconds when the machine can.
 */
export interface ClockSource {
  /** Whether ticks follow real time (live); false for as fast as possible (export). */
  readonly realTime: boolean;
  /** Microseconds on this clock's monotonic timeline. */
  nowUs(): number;
  /** Calls `run` once this clock reaches `atUs`; returns a function that cancels the call. */
  at(atUs: number, run: () => void): () => void;
}

/** The machine's monotonic clock, for live channels. */
export const wallClock: ClockSource = {
  realTime: true,
  nowUs: () => Number(process.hrtime.bigint() / 1000n),
  at(atUs, run) {
    const timer = setTimeout(run, Math.max(0, (atUs - this.nowUs()) / 1000));
    return () => clearTimeout(timer);
  },
};

/**
 * A clock that jumps to whatever time is waited for, on the next turn of the event loop (so I/O, such
 * as the encoder draining, still runs between ticks). For exports and for tests that drive time.
 */
export class VirtualClock implements ClockSource {
  readonly realTime = false;
  #nowUs = 0;

  nowUs(): number {
    return this.#nowUs;
  }

  at(atUs: number, run: () => void): () => void {
    const handle = setImmediate(() => {
      this.#nowUs = Math.max(this.#nowUs, atUs);
      run();
    });
    return () => clearImmediate(handle);
  }
}

/**
 * A ring of interleaved s16 stereo samples: a driver writes at its own pace, the tick reads exactly
 * what one frame needs. Reading more than is buffered yields silence for the gap (an underrun).
 */
export class PcmRing {
  readonly capacityFrames: number;
  readonly #data: Int16Array;
  #readFrame = 0;
  #writeFrame = 0;
  underruns = 0;

  constructor(capacityFrames: number) {
    this.capacityFrames = capacityFrames;
    this.#data = new Int16Array(capacityFrames * 2);
  }

  get bufferedFrames(): number {
    return this.#writeFrame - this.#readFrame;
  }

  get freeFrames(): number {
    return this.capacityFrames - this.bufferedFrames;
  }

  /** Writes as many frames as fit; returns how many were taken. */
  write(samples: Int16Array): number {
    const frames = Math.min(samples.length >> 1, this.freeFrames);
    for (let i = 0; i < frames; i++) {
      const at = ((this.#writeFrame + i) % this.capacityFrames) * 2;
      this.#data[at] = samples[i * 2] as number;
      this.#data[at + 1] = samples[i * 2 + 1] as number;
    }
    this.#writeFrame += frames;
    return frames;
  }

  /**
   * Adds `frames` frames into `out` (interleaved), the gain moving linearly from `gain` to `gainEnd`
   * across them (a ramp, so gain changes never click).
   */
  mixInto(out: Float32Array, frames: number, gain: number, gainEnd = gain): void {
    const available = Math.min(frames, this.bufferedFrames);
    const step = frames > 0 ? (gainEnd - gain) / frames : 0;
    for (let i = 0; i < available; i++) {
      const at = ((this.#readFrame + i) % this.capacityFrames) * 2;
      const g = gain + step * i;
      out[i * 2] = (out[i * 2] as number) + (this.#data[at] as number) * g;
      out[i * 2 + 1] = (out[i * 2 + 1] as number) + (this.#data[at + 1] as number) * g;
    }
    if (available < frames) this.underruns++;
    this.#readFrame += available;
  }

  clear(): void {
    this.#readFrame = this.#writeFrame;
  }
}

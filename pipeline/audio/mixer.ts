import type { PcmRing } from './pcmRing.js';

export interface MixerInput {
  readonly ring: PcmRing;
  /** Linear gain applied to this input. */
  gain: number;
  /** Lowered under speech (background music). */
  readonly ducked?: boolean;
  /** Called after each read so a paused producer can resume. */
  refill?(): void;
}

/** How far music goes down under speech, and how fast it goes down and comes back. */
const DUCK_DB = -12;
const DUCK_ATTACK_S = 0.06;
const DUCK_RELEASE_S = 0.5;

/**
 * Mixes every input for one tick into interleaved s16 stereo, with a soft limiter so summed inputs
 * never wrap around. Speech comes in as a mono block per tick (centred); while it is voiced, ducked
 * inputs ramp down by 12 dB and come back slowly after.
 */
export class AudioMixer {
  readonly inputs = new Set<MixerInput>();
  readonly sampleRateHz: number;
  #scratch = new Float32Array(0);
  #duck = 1;

  constructor(sampleRateHz = 48000) {
    this.sampleRateHz = sampleRateHz;
  }

  /** The current music gain under speech (1 = not ducked). */
  get duckGain(): number {
    return this.#duck;
  }

  mix(frames: number, out: Buffer, speech: Float32Array | null = null, speaking = false): Buffer {
    if (this.#scratch.length < frames * 2) this.#scratch = new Float32Array(frames * 2);
    const acc = this.#scratch;
    acc.fill(0, 0, frames * 2);
    const target = speaking ? dbToGain(DUCK_DB) : 1;
    const rate = frames / ((speaking ? DUCK_ATTACK_S : DUCK_RELEASE_S) * this.sampleRateHz);
    const duckStart = this.#duck;
    this.#duck = duckStart + Math.max(-rate, Math.min(rate, target - duckStart));
    for (const input of this.inputs) {
      const duck0 = input.ducked ? duckStart : 1, duck1 = input.ducked ? this.#duck : 1;
      input.ring.mixInto(acc, frames, input.gain * duck0, input.gain * duck1);
      input.refill?.();
    }
    if (speech) {
      const n = Math.min(frames, speech.length);
      for (let i = 0; i < n; i++) {
        const v = (speech[i] as number) * 32767;
        acc[i * 2] = (acc[i * 2] as number) + v;
        acc[i * 2 + 1] = (acc[i * 2 + 1] as number) + v;
      }
    }
    for (let i = 0; i < frames * 2; i++) {
      let v = acc[i] as number;
      // Soft knee above -6 dBFS: keeps peaks from clipping hard.
      if (v > 16384) v = 16384 + (v - 16384) / (1 + (v - 16384) / 16384);
      else if (v < -16384) v = -16384 + (v + 16384) / (1 - (v + 16384) / 16384);
      out.writeInt16LE(Math.max(-32768, Math.min(32767, Math.round(v))), i * 2);
    }
    return out;
  }
}

export function dbToGain(db: number): number {
  return 10 ** (db / 20);
}

import type { PcmRing } from './pcmRing.js';

export interface MixerInput {
  readonly ring: PcmRing;
  /** Linear gain applied to this input. */
  gain: number;
  /** Called after each read so a paused producer can resume. */
  refill?(): void;
}

/**
 * Mixes every input for one tick into interleaved s16 stereo, with a soft limiter so summed inputs
 * never wrap around. Speech will join as another input with music ducked under it.
 */
export class AudioMixer {
  readonly inputs = new Set<MixerInput>();
  #scratch = new Float32Array(0);

  mix(frames: number, out: Buffer): Buffer {
    if (this.#scratch.length < frames * 2) this.#scratch = new Float32Array(frames * 2);
    const acc = this.#scratch;
    acc.fill(0, 0, frames * 2);
    for (const input of this.inputs) {
      input.ring.mixInto(acc, frames, input.gain);
      input.refill?.();
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

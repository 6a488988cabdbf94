import type { PcmRing } from './pcmRing.js';

/**
 * One source of sound in a channel's mix: speech, background music, the operator's microphone. Each
 * tick the mixer asks every input to add its next `frames` samples into the stereo accumulator.
 */
export interface MixerInput {
  /** Linear gain applied to this input. */
  gain: number;
  /** Lowered under speech (background music). */
  readonly ducked?: boolean;
  /**
   * Adds the next `frames` stereo frames into `acc` (interleaved, s16 scale), the gain moving from
   * `gainStart` to `gainEnd` across the block.
   */
  mixInto(acc: Float32Array, frames: number, gainStart: number, gainEnd: number): void;
}

/** An input read from a ring of decoded PCM (music); `refill` lets a paused decoder resume after each read. */
export class RingInput implements MixerInput {
  gain: number;
  readonly ducked: boolean;
  readonly #ring: PcmRing;
  readonly #refill: (() => void) | undefined;

  constructor(ring: PcmRing, options: { gain: number; ducked?: boolean; refill?: () => void }) {
    this.#ring = ring;
    this.gain = options.gain;
    this.ducked = options.ducked ?? false;
    this.#refill = options.refill;
  }

  mixInto(acc: Float32Array, frames: number, gainStart: number, gainEnd: number): void {
    this.#ring.mixInto(acc, frames, gainStart, gainEnd);
    this.#refill?.();
  }
}

/**
 * An input that is handed one mono block per tick (speech from the speaker, the microphone from its
 * jitter buffer) and plays it centred. A block not replaced before the next tick is not played twice.
 */
export class BlockInput implements MixerInput {
  gain = 1;
  #block: Float32Array | null = null;

  /** This tick's samples (mono, -1..1), or null for silence. */
  set(block: Float32Array | null): void {
    this.#block = block;
  }

  mixInto(acc: Float32Array, frames: number, gainStart: number, gainEnd: number): void {
    const block = this.#block;
    this.#block = null;
    if (!block) return;
    const n = Math.min(frames, block.length);
    const step = frames > 0 ? (gainEnd - gainStart) / frames : 0;
    for (let i = 0; i < n; i++) {
      const v = (block[i] as number) * 32767 * (gainStart + step * i);
      acc[i * 2] = (acc[i * 2] as number) + v;
      acc[i * 2 + 1] = (acc[i * 2 + 1] as number) + v;
    }
  }
}

/** How far music goes down under speech, and how fast it goes down and comes back. */
const DUCK_DB = -12;
const DUCK_ATTACK_S = 0.06;
const DUCK_RELEASE_S = 0.5;
/** Music stays down this long after the voice stops: the gaps between sentences do not pump it. */
const DUCK_HOLD_S = 0.6;

/**
 * Mixes every input for one tick into interleaved s16 stereo, with a soft limiter so summed inputs
 * never wrap around. While someone speaks, ducked inputs ramp down by 12 dB, stay down through short gaps
 * between sentences, and come back slowly in a pause.
 */
export class AudioMixer {
  readonly inputs = new Set<MixerInput>();
  readonly sampleRateHz: number;
  #scratch = new Float32Array(0);
  #duck = 1;
  /** Samples since a voice was last heard (Infinity before any). */
  #sinceVoice = Infinity;

  constructor(sampleRateHz = 48000) {
    this.sampleRateHz = sampleRateHz;
  }

  /** The current music gain under speech (1 = not ducked). */
  get duckGain(): number {
    return this.#duck;
  }

  /** Mixes `frames` stereo frames into `out` (s16le); `voiced` (someone is heard) ducks the ducked inputs. */
  mix(frames: number, out: Buffer, voiced = false): Buffer {
    this.#sinceVoice = voiced ? 0 : this.#sinceVoice + frames;
    const speaking = this.#sinceVoice < DUCK_HOLD_S * this.sampleRateHz;
    if (this.#scratch.length < frames * 2) this.#scratch = new Float32Array(frames * 2);
    const acc = this.#scratch;
    acc.fill(0, 0, frames * 2);
    const target = speaking ? dbToGain(DUCK_DB) : 1;
    const rate = frames / ((speaking ? DUCK_ATTACK_S : DUCK_RELEASE_S) * this.sampleRateHz);
    const duckStart = this.#duck;
    this.#duck = duckStart + Math.max(-rate, Math.min(rate, target - duckStart));
    for (const input of this.inputs) {
      const duck0 = input.ducked ? duckStart : 1, duck1 = input.ducked ? this.#duck : 1;
      input.mixInto(acc, frames, input.gain * duck0, input.gain * duck1);
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

import type { MouthState } from './visemes.js';

/**
 * Mouth movement from the sound itself, for voices that give no phoneme timings (an HTTP voice, the
 * operator's microphone). A voice-activity gate keeps the mouth shut on silence and noise: Silero's
 * speech probability when the caller has it (see SileroVad), else a loudness gate with hysteresis.
 * Inside speech, openness follows the loudness envelope and the spectral balance picks the shape
 * (bright, hissy sounds spread the lips; dark ones round them).
 */
export class AudioMouth {
  readonly sampleRateHz: number;
  #noiseDb = -60;
  #voiced = false;
  #onsetMs = 0;
  #holdMs = 0;
  #envelope = 0;
  #lowState = 0;
  readonly #state: MouthState = { open: 0, form: 0, round: 0 };

  constructor(sampleRateHz: number) {
    this.sampleRateHz = sampleRateHz;
  }

  /** Whether the last block counted as speech. */
  get voiced(): boolean {
    return this.#voiced;
  }

  /**
   * Feeds one block (any length, ~10–40 ms works best) and returns the mouth for it. With
   * `speechProbability` (a VAD's verdict for this audio) the gate follows it instead of loudness.
   */
  process(samples: Float32Array, speechProbability: number | null = null): MouthState {
    const n = samples.length;
    if (n === 0) return this.#state;
    let energy = 0, lowEnergy = 0, crossings = 0;
    // One-pole low-pass at ~900 Hz splits "dark" from "bright" energy.
    const a = Math.exp((-2 * Math.PI * 900) / this.sampleRateHz);
    let low = this.#lowState;
    let previous = samples[0] as number;
    for (let i = 0; i < n; i++) {
      const x = samples[i] as number;
      energy += x * x;
      low = a * low + (1 - a) * x;
      lowEnergy += low * low;
      if ((x >= 0) !== (previous >= 0)) crossings++;
      previous = x;
    }
    this.#lowState = low;
    const rms = Math.sqrt(energy / n);
    const db = 20 * Math.log10(rms + 1e-9);
    const blockMs = (n / this.sampleRateHz) * 1000;
    // The noise floor follows quiet stretches quickly and loud ones very slowly.
    this.#noiseDb += (db - this.#noiseDb) * (db < this.#noiseDb ? 0.3 : 0.002);
    const above = db - Math.max(this.#noiseDb, -70);
    if (speechProbability !== null) {
      // The model's verdict, with hysteresis so single uncertain blocks neither start nor end speech.
      if (!this.#voiced && speechProbability >= 0.5) this.#voiced = true;
      else if (this.#voiced && speechProbability < 0.35) this.#voiced = false;
    } else if (!this.#voiced) {
      // Hysteresis: 40 ms above +12 dB starts speech; 150 ms below +6 dB ends it.
      this.#onsetMs = above > 12 && db > -50 ? this.#onsetMs + blockMs : 0;
      if (this.#onsetMs >= 40) this.#voiced = true;
    } else {
      this.#holdMs = above < 6 || db < -55 ? this.#holdMs + blockMs : 0;
      if (this.#holdMs >= 150) {
        this.#voiced = false;
        this.#holdMs = 0;
      }
    }
    const level = this.#voiced ? Math.min(1, Math.max(0, (above - 6) / 30)) : 0;
    // Fast attack, slower release: mouths open quickly and close a bit more gently.
    const k = level > this.#envelope ? 0.6 : 0.3;
    this.#envelope += (level - this.#envelope) * k;
    const brightness = energy > 0 ? 1 - lowEnergy / energy : 0;
    const zcr = crossings / n;
    const s = this.#state;
    s.open = this.#envelope;
    s.form = this.#voiced ? Math.min(0.6, Math.max(0, (zcr - 0.05) * 4)) : 0;
    s.round = this.#voiced ? Math.min(0.8, Math.max(0, (0.35 - brightness) * 2)) * this.#envelope : 0;
    return s;
  }
}

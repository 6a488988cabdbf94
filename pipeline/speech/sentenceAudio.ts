import libsamplerate from '@alexanderolsen/libsamplerate-js';
import { SILERO_CHUNK, SileroVad } from './sileroVad.js';
import type { Language } from './sentences.js';
import type { TtsProvider } from './tts.js';
import { VisemeTrack, visemeOf } from './visemes.js';

type Resampler = Awaited<ReturnType<typeof libsamplerate.create>>;

/** Provider samples resampled per event-loop turn (~2-3 ms of work). */
const RESAMPLE_SLICE = 2048;

/**
 * One sentence's audio at the output rate, playable while it is still being made: chunks appended by
 * synthesis, read from by playback, with the mouth's source (a viseme track from phonemes, or speech
 * probabilities for an audio-driven mouth).
 */
export interface SentenceAudio {
  readonly chunks: Float32Array[];
  available: number;
  played: number;
  done: boolean;
  readonly track: VisemeTrack | null;
  /** Without phonemes: Silero's speech probability per VAD block of this sentence's audio. */
  readonly vad: number[];
  readonly abort: AbortController;
  /** Where chunk reads continue. */
  chunkIndex: number;
  chunkOffset: number;
}

/** Copies up to `max` unplayed samples of `audio` into `out` at `offset`; returns how many. */
export function readSentenceAudio(audio: SentenceAudio, out: Float32Array, offset: number, max: number): number {
  let n = 0;
  while (n < max && audio.played < audio.available) {
    const chunk = audio.chunks[audio.chunkIndex] as Float32Array;
    const take = Math.min(max - n, chunk.length - audio.chunkOffset);
    out.set(chunk.subarray(audio.chunkOffset, audio.chunkOffset + take), offset + n);
    n += take;
    audio.played += take;
    audio.chunkOffset += take;
    if (audio.chunkOffset === chunk.length) {
      audio.chunkIndex++;
      audio.chunkOffset = 0;
    }
  }
  return n;
}

/**
 * Makes sentences' audio with a TTS provider: streamed, resampled to the output rate a slice at a time
 * between ticks, with phonemes turned into visemes or, for voices without them, speech probabilities
 * from Silero VAD for the audio-driven mouth.
 */
export class SentenceSynthesizer {
  readonly outputRateHz: number;
  readonly #provider: TtsProvider;
  readonly #onVadMissing: (message: string) => void;
  /**
   * One resampler for all sentences: creating one costs a WASM instantiation (~15 ms of the tick's
   * thread). Its few samples of state carry over between sentences, which end and start in silence.
   */
  #resampler: Promise<Resampler> | null = null;
  /** For voices without phonemes: gates the audio-driven mouth; null when it could not load. */
  #vad: Promise<SileroVad | null> | null = null;

  constructor(provider: TtsProvider, outputRateHz: number, onVadMissing: (message: string) => void) {
    this.#provider = provider;
    this.outputRateHz = outputRateHz;
    this.#onVadMissing = onVadMissing;
  }

  /** Output samples per VAD block (32 ms). */
  get vadBlock(): number {
    return Math.round((SILERO_CHUNK * this.outputRateHz) / 16000);
  }

  /** A new, empty sentence audio (with a viseme track when the provider gives phonemes). */
  begin(): SentenceAudio {
    return { chunks: [], available: 0, played: 0, done: false, track: this.#provider.phonemes ? new VisemeTrack(this.outputRateHz) : null, vad: [], abort: new AbortController(), chunkIndex: 0, chunkOffset: 0 };
  }

  /** Loads what the first sentence would otherwise wait for (the resampler, the provider's process). */
  async warm(): Promise<void> {
    await this.#provider.start?.();
    if (this.#provider.sampleRateHz !== this.outputRateHz) await this.#getResampler();
    if (!this.#provider.phonemes) await this.#getVad();
  }

  /** Synthesises `text` into `audio` until done or aborted; throws what the provider throws. */
  async fill(audio: SentenceAudio, text: string, language: Language, voice: string | undefined): Promise<void> {
    const provider = this.#provider;
    const ratio = this.outputRateHz / provider.sampleRateHz;
    const resampler = provider.sampleRateHz === this.outputRateHz ? null : await this.#getResampler();
    try {
      for await (const event of provider.synthesize({ text, language, voice, signal: audio.abort.signal })) {
        if (audio.abort.signal.aborted) break;
        if (event.type === 'audio') {
          // Resampled a slice at a time with a turn of the event loop between: a whole sentence at once
          // held the tick for ~100 ms (late frames while speaking).
          for (let at = 0; at < event.samples.length && !audio.abort.signal.aborted; at += RESAMPLE_SLICE) {
            const slice = event.samples.subarray(at, at + RESAMPLE_SLICE);
            const samples = resampler ? resampler.full(slice).slice() : slice;
            if (samples.length > 0) {
              audio.chunks.push(samples);
              audio.available += samples.length;
              if (!audio.track) await this.#detectVoice(audio);
            }
            if (resampler && at + RESAMPLE_SLICE < event.samples.length) await new Promise((r) => setImmediate(r));
          }
        } else if (event.type === 'phoneme' && audio.track) {
          audio.track.add(Math.round(event.sample * ratio), visemeOf(event.phoneme));
        }
      }
    } finally {
      audio.track?.add(Math.max(audio.available, 0), 'sil');
      audio.done = true;
    }
  }

  close(): void {
    void this.#resampler?.then((r) => r.destroy());
  }

  #getVad(): Promise<SileroVad | null> {
    this.#vad ??= SileroVad.create().catch((err: Error) => {
      this.#onVadMissing(`Silero VAD unavailable (${err.message}); the mouth uses a loudness gate`);
      return null;
    });
    return this.#vad;
  }

  #getResampler(): Promise<Resampler> {
    this.#resampler ??= libsamplerate.create(1, this.#provider.sampleRateHz, this.outputRateHz, { converterType: libsamplerate.ConverterType.SRC_SINC_FASTEST });
    return this.#resampler;
  }

  /** Runs the VAD over the sentence's complete blocks not yet judged (ahead of playback). */
  async #detectVoice(audio: SentenceAudio): Promise<void> {
    const vad = await this.#getVad();
    if (!vad) return;
    const block = this.vadBlock;
    if (audio.vad.length === 0) vad.reset();
    while ((audio.vad.length + 1) * block <= audio.available) {
      const from = audio.vad.length * block;
      audio.vad.push(await vad.probability(decimateTo16k(audio.chunks, from, block, SILERO_CHUNK)));
    }
  }
}

/** `count` output samples from `from` across chunks, averaged down to `size` samples (≈16 kHz). */
function decimateTo16k(chunks: readonly Float32Array[], from: number, count: number, size: number): Float32Array {
  const out = new Float32Array(size);
  const step = count / size;
  let chunk = 0, base = 0;
  for (let i = 0; i < size; i++) {
    const start = from + Math.floor(i * step), end = from + Math.floor((i + 1) * step);
    let sum = 0;
    for (let s = start; s < end; s++) {
      while (s >= base + (chunks[chunk] as Float32Array).length) base += (chunks[chunk++] as Float32Array).length;
      sum += (chunks[chunk] as Float32Array)[s - base] as number;
    }
    out[i] = sum / Math.max(1, end - start);
  }
  return out;
}

/**
 * The text-to-speech provider contract. A provider streams what it makes as soon as it has it: audio
 * chunks and, when it knows them, phoneme and word timings in samples of its own audio. Providers that
 * give no phonemes (a plain HTTP voice) get their mouth movement from the audio instead.
 */
import type { Language } from './sentences.js';

export interface TtsRequest {
  readonly text: string;
  readonly language: Language;
  /** Provider-specific voice name; undefined picks the provider's default for the language. */
  readonly voice?: string;
  readonly signal: AbortSignal;
}

export type TtsEvent =
  | { readonly type: 'audio'; readonly samples: Float32Array }
  /** `sample` counts from the start of this request's audio, at the provider's rate. */
  | { readonly type: 'phoneme'; readonly sample: number; readonly phoneme: string }
  | { readonly type: 'word'; readonly sample: number; readonly textOffset: number; readonly length: number };

export interface TtsProvider {
  readonly name: string;
  /** Mono sample rate of the audio events. */
  readonly sampleRateHz: number;
  /** Whether phoneme events come with the audio (else the lip sync listens to the audio). */
  readonly phonemes: boolean;
  /** Streams one request; ends when the audio is complete; throws TtsError on failure or abort. */
  synthesize(request: TtsRequest): AsyncIterable<TtsEvent>;
  /**
   * Whether a voice name can be spoken with, asked before a request is accepted. Absent where the
   * provider cannot tell up front (an HTTP voice: only the service knows its voices).
   */
  checkVoice?(voice: string): Promise<VoiceCheck>;
  /** Optional warm-up (start a process, open a connection) so the first request is fast. */
  start?(): Promise<void>;
  close(): Promise<void>;
}

/** A voice check's answer; `available` lists the installed voices for the refusal (empty if unknown). */
export type VoiceCheck = { readonly installed: true } | { readonly installed: false; readonly available: readonly string[] };

/** The provider could not speak the text (dead service, bad voice, cancelled). */
export class TtsError extends Error {
  override readonly name = 'TtsError';
}

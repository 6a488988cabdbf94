import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { AudioMouth } from './audioMouth.js';
import { readSentenceAudio, SentenceSynthesizer, type SentenceAudio } from './sentenceAudio.js';
import { detectLanguage, MAX_TEXT_CHARS, normalizeForSpeech, splitSentences, type Language } from './sentences.js';
import { TtsError, type TtsProvider } from './tts.js';
import type { MouthState } from './visemes.js';

export type SpeechLog = (level: 'info' | 'warn' | 'error', message: string) => void;

/** Text the operator sent that cannot be spoken (empty, too long, nothing sayable). */
export class SpeechInputError extends Error {
  override readonly name = 'SpeechInputError';
}

/** Sentences of a text, normalised for speech, each in its language. */
type SpokenSentence = { readonly text: string; readonly display: string; readonly language: Language };

/**
 * What a text says, sentence by sentence; throws SpeechInputError when it is empty, too long or has
 * nothing a voice can say (emoji, symbols, invisible characters).
 */
export function speakableSentences(text: string): SpokenSentence[] {
  if (typeof text !== 'string' || text.trim() === '') throw new SpeechInputError('text is empty');
  if (text.length > MAX_TEXT_CHARS) throw new SpeechInputError(`text is ${text.length} characters; the limit is ${MAX_TEXT_CHARS}`);
  const sentences = splitSentences(text)
    .map((sentence) => {
      const language = detectLanguage(sentence);
      return { text: normalizeForSpeech(sentence, language), display: sentence, language };
    })
    .filter((sentence) => /[\p{L}\p{N}]/u.test(sentence.text));
  if (sentences.length === 0) throw new SpeechInputError('text has nothing that can be spoken (only symbols or emoji)');
  return sentences;
}

export interface PlaylistLine {
  readonly text: string;
  /** Silence after the line. */
  readonly pauseMs?: number;
  readonly voice?: string;
}

export interface UtteranceInfo {
  readonly utteranceId: string;
  readonly text: string;
  readonly source: 'say' | 'playlist';
  /** For playlist speech: which line of the playlist (0-based), so a console can highlight it. */
  readonly line?: number;
  /** Media time (the channel clock, ms) of the event: for starts, of the first audible sample. */
  readonly mediaMs?: number;
}

export interface SpeakerEvents {
  started: [UtteranceInfo];
  sentence: [UtteranceInfo & { readonly index: number; readonly sentence: string }];
  finished: [UtteranceInfo & { readonly interrupted: boolean }];
  error: [UtteranceInfo & { readonly message: string }];
}

/** What one tick of speech adds to the channel. */
export interface SpeechTick {
  /** Mono speech at the output rate, `frames` long (silence when nothing plays). Reused next tick. */
  readonly samples: Float32Array;
  /** Mouth for the middle of this tick's audio, and how much it should override the idle mouth. */
  readonly mouth: MouthState;
  readonly mouthWeight: number;
  /**
   * The mouth one, two, … ticks ahead while a sentence with timed visemes plays (empty otherwise: an
   * audio-driven mouth is not known ahead): a clone picks its mouth sequence with it. Reused next tick.
   */
  readonly mouthAhead: readonly MouthState[];
  /** The sentence being spoken, for captions. */
  readonly sentence: string | null;
  readonly speaking: boolean;
  /** Whether this tick plays voice (not a pause between lines or sentences): what music ducks under. */
  readonly voiced: boolean;
}

interface Utterance extends UtteranceInfo {
  /** Normalised sentences, each with its own language (a Chinese script may quote English lines). */
  readonly sentences: SpokenSentence[];
  readonly voice: string | undefined;
  readonly pauseAfterS: number;
  /** Sentences handed to synthesis so far. */
  synthesised: number;
  started: boolean;
}

/** One sentence of an utterance in the play queue: its audio, and the silence after it. */
interface Segment extends SentenceAudio {
  readonly utterance: Utterance;
  readonly index: number;
  readonly text: string;
  /** Silence to play after the audio (between sentences, after a line). */
  readonly pauseSamples: number;
  pausePlayed: number;
}
const SENTENCE_GAP_S = 0.18;
/** Interrupted speech fades out over this long instead of stopping on a click. */
const FADE_OUT_S = 0.008;
const MOUTH_RAMP_S = 0.09;
/** Ticks of mouth known ahead (a clone's sequence choice looks this far). */
export const MOUTH_AHEAD_TICKS = 4;
const NO_MOUTH_AHEAD: readonly MouthState[] = [];
const MAX_QUEUED = 64;

/**
 * The speaking path of a channel. `say` and the playlist queue utterances; a synthesis loop makes
 * their sentences ahead of playback (through the configured TTS provider, resampled to the output
 * rate); the channel's tick pulls exactly one tick of audio with the matching mouth, so speech,
 * lips and captions follow the one media clock. An interrupt takes effect on the next tick.
 */
export class Speaker extends EventEmitter<SpeakerEvents> {
  readonly outputRateHz: number;
  readonly #provider: TtsProvider;
  readonly #synth: SentenceSynthesizer;
  readonly #log: SpeechLog;
  readonly #queue: Utterance[] = [];
  readonly #segments: Segment[] = [];
  /** `halted`: no line could be said in a whole pass (lines stored by an older version); it stays quiet. */
  #playlist: { lines: readonly PlaylistLine[]; loop: boolean; next: number; halted: boolean } = { lines: [], loop: false, next: 0, halted: false };
  #current: Utterance | null = null;
  #interruptPending = false;
  #synthesising = false;
  #closed = false;
  #samples = new Float32Array(0);
  #cursor = 0;
  readonly #mouth: MouthState = { open: 0, form: 0, round: 0 };
  readonly #aheadStates: MouthState[] = Array.from({ length: MOUTH_AHEAD_TICKS }, () => ({ open: 0, form: 0, round: 0 }));
  /** The look-ahead's first n states, n = 0..MOUTH_AHEAD_TICKS (made once: a tick allocates none). */
  /** Samples before the last viseme so far that a viseme still to come cannot change (its lead and blend). */
  readonly #settledMargin: number;
  readonly #aheadViews: (readonly MouthState[])[] = Array.from({ length: MOUTH_AHEAD_TICKS + 1 }, (_, n) => this.#aheadStates.slice(0, n));
  #ahead: readonly MouthState[] = NO_MOUTH_AHEAD;
  #mouthWeight = 0;
  readonly #audioMouth: AudioMouth;
  /** Audio buffered ahead before synthesis pauses. */
  readonly #aheadSamples: number;

  constructor(provider: TtsProvider, outputRateHz: number, log: SpeechLog) {
    super();
    this.#provider = provider;
    this.outputRateHz = outputRateHz;
    this.#settledMargin = Math.round(0.1 * outputRateHz);
    this.#log = log;
    this.#synth = new SentenceSynthesizer(provider, outputRateHz, (message) => log('warn', message));
    this.#audioMouth = new AudioMouth(outputRateHz);
    this.#aheadSamples = outputRateHz * 8;
  }

  get speaking(): boolean {
    return this.#segments.length > 0 || this.#current !== null;
  }

  /**
   * While true the playlist waits where it is (the host is away: a script alone must not play on air); lines
   * the operator sends with `say` still play. Set it back to go on from the next line.
   */
  playlistHeld = false;

  get queued(): number {
    return this.#queue.length;
  }

  /** Queues text (or, with `interrupt`, cuts in now); returns the utterance id. */
  say(text: string, options: { voice?: string; interrupt?: boolean } = {}): string {
    const utterance = this.#makeUtterance(text, 'say', options.voice, 0);
    if (options.interrupt) {
      this.interrupt();
    } else if (this.#queue.length >= MAX_QUEUED) {
      throw new SpeechInputError(`the speech queue is full (${MAX_QUEUED} utterances); interrupt or wait`);
    }
    // Operator lines go before the playlist's next line, even one already being prepared.
    this.#dropUnstartedPlaylist();
    this.#queue.push(utterance);
    this.#pump();
    return utterance.utteranceId;
  }

  /**
   * Replaces the playlist; it starts when nothing else is queued and loops when asked. Every line must be
   * sayable: a SpeechInputError names the first that is not (1-based, as the console numbers them).
   */
  setPlaylist(lines: readonly PlaylistLine[], loop: boolean): void {
    lines.forEach((line, i) => {
      try {
        speakableSentences(line.text);
      } catch (err) {
        if (err instanceof SpeechInputError) throw new SpeechInputError(`line ${i + 1}: ${err.message}`);
        throw err;
      }
    });
    this.#dropUnstartedPlaylist();
    this.#playlist = { lines: [...lines], loop, next: 0, halted: false };
    this.#pump();
  }

  /**
   * Why the voice cannot be used, or null when it can. Only a provider that can tell up front refuses
   * (eSpeak); with one that cannot (an HTTP voice) or cannot be asked now, a bad voice shows later as
   * the utterance's error event.
   */
  async voiceProblem(voice: string): Promise<string | null> {
    let check;
    try {
      check = await this.#provider.checkVoice?.(voice);
    } catch (err) {
      if (err instanceof TtsError) return null;
      throw err;
    }
    if (!check || check.installed) return null;
    const listed = check.available.length ? `; installed: ${check.available.join(', ')} (a voice may add a variant, e.g. en-us+f3)` : '';
    return `voice "${voice}" is not installed${listed}`;
  }

  get playlist(): { readonly lines: readonly PlaylistLine[]; readonly loop: boolean } {
    return { lines: this.#playlist.lines, loop: this.#playlist.loop };
  }

  /** Stops speech at the next tick (with a short fade) and clears the queue; the playlist carries on. */
  interrupt(): void {
    this.#interruptPending = true;
    for (const utterance of this.#queue.splice(0)) this.emit('finished', { ...info(utterance), interrupted: true });
    for (const segment of this.#segments) segment.abort.abort();
    const current = this.#current;
    this.#current = null;
    // Utterances with audio queued finish when the next tick drops it; one with none finishes now.
    if (current && !this.#segments.some((s) => s.utterance === current)) this.emit('finished', { ...info(current), interrupted: true });
  }

  /** One tick of speech: `frames` samples at the output rate, the first being media sample `firstSample`. */
  next(frames: number, firstSample = this.#cursor): SpeechTick {
    this.#cursor = firstSample + frames;
    const ms = (offset: number) => ((firstSample + offset) * 1000) / this.outputRateHz;
    if (this.#samples.length !== frames) this.#samples = new Float32Array(frames);
    const out = this.#samples;
    out.fill(0);
    let written = 0;
    let mouthFrom: Segment | null = null;
    let mouthAt = 0;
    /** The middle of this tick in the sentence's samples (before its start when it starts late in the tick). */
    let mouthMid = 0;
    if (this.#interruptPending) {
      this.#interruptPending = false;
      const head = this.#segments[0];
      if (head && head.played < head.available) {
        const fade = Math.min(frames, Math.round(FADE_OUT_S * this.outputRateHz));
        const n = readSentenceAudio(head, out, 0, fade);
        for (let i = 0; i < n; i++) out[i] = (out[i] as number) * (1 - i / fade);
      }
      this.#abandon(ms(0));
      written = frames;
    }
    while (written < frames) {
      const head = this.#segments[0];
      if (!head) break;
      if (head.played === 0 && head.pausePlayed === 0 && head.available > 0) {
        if (!head.utterance.started) {
          head.utterance.started = true;
          this.emit('started', { ...info(head.utterance), mediaMs: ms(written) });
        }
        this.emit('sentence', { ...info(head.utterance), index: head.index, sentence: head.text, mediaMs: ms(written) });
      }
      if (head.played < head.available) {
        if (!mouthFrom) {
          mouthFrom = head;
          mouthMid = head.played + Math.floor(frames / 2) - written;
          mouthAt = Math.max(head.played, mouthMid);
        }
        written += readSentenceAudio(head, out, written, frames - written);
        continue;
      }
      if (!head.done) break; // still being made: an underrun, silence for now
      if (head.pausePlayed < head.pauseSamples) {
        const n = Math.min(frames - written, head.pauseSamples - head.pausePlayed);
        head.pausePlayed += n;
        written += n;
        continue;
      }
      this.#segments.shift();
      this.#afterSegment(head, ms(written));
    }
    this.#updateMouth(mouthFrom, mouthAt, mouthMid, out);
    this.#pump();
    const head = this.#segments[0];
    return {
      samples: out,
      mouth: this.#mouth,
      mouthWeight: this.#mouthWeight,
      mouthAhead: this.#ahead,
      sentence: head && head.played > 0 ? head.text : null,
      speaking: this.speaking,
      voiced: mouthFrom !== null,
    };
  }

  /**
   * Whether the next `frames` samples of speech are settled: no sentence they would play is still being
   * made. Live plays silence over such an underrun; an export waits on this instead, so the same script
   * renders the same samples, mouths and captions every time.
   */
  settled(frames: number): boolean {
    this.#pump();
    if (this.#synthesising || this.#segments.some((s) => !s.done)) return false;
    if (this.#bufferedSamples() >= frames) return true;
    const unmade = this.#current !== null && this.#current.synthesised < this.#current.sentences.length;
    // The next utterance starts being made only once the one before has nearly played (#pump): waiting would never end.
    if (!unmade && this.#segments.length > 1) return true;
    const p = this.#playlist;
    const playlistAhead = !p.halted && p.lines.length > 0 && (p.loop || p.next < p.lines.length);
    // Nothing more to say: what is buffered plays, then silence, the same every time.
    return !unmade && this.#queue.length === 0 && !playlistAhead;
  }

  /** Loads what the first sentence would otherwise wait for (the resampler, the provider's process). */
  warm(): Promise<void> {
    return this.#synth.warm();
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.interrupt();
    this.#abandon();
    this.#synth.close();
    this.removeAllListeners();
  }

  #updateMouth(segment: Segment | null, at: number, mid: number, audio: Float32Array): void {
    const step = audio.length / (MOUTH_RAMP_S * this.outputRateHz);
    this.#ahead = NO_MOUTH_AHEAD;
    if (segment) {
      if (segment.track) {
        segment.track.at(at, this.#mouth);
        // The same track a tick, two, … later, as far as its visemes have come and settled (they arrive after
        // their audio, and the next one can still reshape the last 0.1 s; past the end of a finished sentence
        // the track says silence).
        let known = 0;
        while (known < MOUTH_AHEAD_TICKS && (segment.done || mid + (known + 1) * audio.length < segment.track.lastSample - this.#settledMargin)) {
          segment.track.at(Math.max(0, mid + (known + 1) * audio.length), this.#aheadStates[known]);
          known++;
        }
        this.#ahead = this.#aheadViews[known] ?? NO_MOUTH_AHEAD;
      }
      else Object.assign(this.#mouth, this.#audioMouth.process(audio, segment.vad[Math.floor(at / this.#synth.vadBlock)] ?? null));
      this.#mouthWeight = Math.min(1, this.#mouthWeight + step);
    } else {
      // Between sentences and after speech the mouth relaxes toward the idle one.
      this.#mouth.open *= 0.5;
      this.#mouthWeight = Math.max(0, this.#mouthWeight - step);
    }
  }

  #afterSegment(segment: Segment, mediaMs: number): void {
    const u = segment.utterance;
    if (u.synthesised < u.sentences.length || this.#segments.some((s) => s.utterance === u)) return;
    if (this.#current === u) this.#current = null;
    this.emit('finished', { ...info(u), interrupted: false, mediaMs });
  }

  /** Drops everything playing or prepared (the interrupt). */
  #abandon(mediaMs?: number): void {
    const seen = new Set<Utterance>();
    for (const segment of this.#segments.splice(0)) {
      segment.abort.abort();
      if (!seen.has(segment.utterance)) {
        seen.add(segment.utterance);
        this.emit('finished', { ...info(segment.utterance), interrupted: true, mediaMs });
      }
    }
  }

  #dropUnstartedPlaylist(): void {
    const current = this.#current;
    if (!current || current.source !== 'playlist' || current.started) return;
    for (let i = this.#segments.length - 1; i >= 0; i--) {
      const segment = this.#segments[i] as Segment;
      if (segment.utterance !== current) continue;
      segment.abort.abort();
      this.#segments.splice(i, 1);
    }
    this.#current = null;
    const lines = this.#playlist.lines.length;
    if (lines > 0) this.#playlist.next = (this.#playlist.next - 1 + lines) % lines;
  }

  #makeUtterance(text: string, source: Utterance['source'], voice: string | undefined, pauseAfterS: number, line?: number): Utterance {
    const sentences = speakableSentences(text);
    return { utteranceId: randomUUID(), text, source, ...(line === undefined ? {} : { line }), sentences, voice, pauseAfterS, synthesised: 0, started: false };
  }

  /** Next utterance: operator lines first, then the playlist. */
  #nextUtterance(): Utterance | null {
    const said = this.#queue.shift();
    if (said) return said;
    const p = this.#playlist;
    if (p.halted || this.playlistHeld) return null;
    // At most one pass over the lines: this runs every tick, so a line that cannot be said must not be
    // retried (and logged) 30 times a second.
    for (let tries = 0; tries < p.lines.length; tries++) {
      if (p.next >= p.lines.length) {
        if (!p.loop) return null;
        p.next = 0;
      }
      const index = p.next++;
      const line = p.lines[index] as PlaylistLine;
      try {
        return this.#makeUtterance(line.text, 'playlist', line.voice, (line.pauseMs ?? 800) / 1000, index);
      } catch (err) {
        if (!(err instanceof SpeechInputError)) throw err;
        this.#log('warn', `playlist line ${index + 1} skipped: ${err.message}`);
      }
    }
    // A whole pass and nothing could be said.
    if (p.lines.length > 0) {
      p.halted = true;
      this.#log('warn', 'playlist stopped: none of its lines can be spoken; send a new one');
    }
    return null;
  }

  #bufferedSamples(): number {
    let n = 0;
    for (const s of this.#segments) n += s.available - s.played + s.pauseSamples - s.pausePlayed;
    return n;
  }

  /** Keeps synthesis ahead of playback: one sentence at a time, up to a few seconds of audio. */
  #pump(): void {
    if (this.#synthesising || this.#closed) return;
    if (this.#bufferedSamples() > this.#aheadSamples) return;
    // The current utterance first; the next one may start only once it is fully made.
    if (!this.#current || this.#current.synthesised >= this.#current.sentences.length) {
      const pendingTail = this.#segments.some((s) => !s.done);
      if (pendingTail || this.#segments.length > 1) return;
      const next = this.#nextUtterance();
      if (!next) return;
      this.#current = next;
    }
    const utterance = this.#current;
    const index = utterance.synthesised++;
    this.#synthesising = true;
    void this.#synthesise(utterance, index).finally(() => {
      this.#synthesising = false;
      this.#pump();
    });
  }

  async #synthesise(utterance: Utterance, index: number): Promise<void> {
    const { text, display, language } = utterance.sentences[index] as Utterance['sentences'][number];
    const last = index === utterance.sentences.length - 1;
    const segment: Segment = {
      ...this.#synth.begin(),
      utterance,
      index,
      text: display,
      pauseSamples: Math.round((last ? utterance.pauseAfterS : SENTENCE_GAP_S) * this.outputRateHz),
      pausePlayed: 0,
    };
    this.#segments.push(segment);
    try {
      await this.#synth.fill(segment, text, language, utterance.voice);
    } catch (err) {
      if (!segment.abort.signal.aborted) {
        const message = err instanceof TtsError ? err.message : `speech failed: ${(err as Error).message}`;
        this.#log('warn', `utterance ${utterance.utteranceId}: ${message}`);
        this.emit('error', { ...info(utterance), message });
        // The rest of this utterance is skipped; the stream goes on.
        utterance.synthesised = utterance.sentences.length;
        if (segment.available === 0) {
          const at = this.#segments.indexOf(segment);
          if (at >= 0) this.#segments.splice(at, 1);
          if (this.#current === utterance) this.#current = null;
          this.emit('finished', { ...info(utterance), interrupted: true });
        }
      }
    }
  }
}

function info(u: Utterance): UtteranceInfo {
  return { utteranceId: u.utteranceId, text: u.text, source: u.source, ...(u.line === undefined ? {} : { line: u.line }) };
}

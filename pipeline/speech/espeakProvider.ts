import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { PROJECT_ROOT } from '../paths.js';
import { SupervisedProcess } from '../process/supervisedProcess.js';
import type { Language } from './sentences.js';
import { TtsError, type TtsEvent, type TtsProvider, type TtsRequest, type VoiceCheck } from './tts.js';

export const ESPEAK_HELPER_PATH = join(PROJECT_ROOT, 'build', 'fenshen-espeak');

const DEFAULT_VOICES: Record<Language, string> = { zh: 'cmn-latn-pinyin', en: 'en-us' };
const VOICE_NAME = /^[A-Za-z0-9_+-]{1,40}$/;
/** A helper request that gets no answer in this long is lost (a helper built before it knew the request). */
const CONTROL_TIMEOUT_MS = 5000;
/** Voice names remembered as good; the answer never changes while the helper runs. */
const MAX_KNOWN_VOICES = 256;
/** Closing its stdin ends the helper; one that has not gone by then is killed. */
const HELPER_KILL_GRACE_MS = 1000;

export interface EspeakOptions {
  readonly helperPath?: string;
  /** Words a minute (eSpeak's 175 is brisk for Mandarin; live hosts speak ~160). */
  readonly rateWpm?: number;
  readonly pitch?: number;
  /** Voice per language, instead of the defaults. */
  readonly voices?: Partial<Record<Language, string>>;
}

interface Pending {
  readonly id: number;
  readonly events: TtsEvent[];
  /** A 'V' record's text (the voice list). */
  text: string;
  done: boolean;
  error: string | null;
  wake: (() => void) | null;
}

/**
 * eSpeak NG through its helper process (pipeline/speech/espeak/fenshen-espeak.cc): the server never
 * links the GPL library, it exchanges lines of text and framed audio/phoneme records over pipes.
 * One helper serves requests in order; eSpeak makes speech ~200x faster than real time, so a sentence
 * is ready within milliseconds and a cancelled one is simply ignored as it finishes.
 */
export class EspeakProvider implements TtsProvider {
  readonly name = 'espeak-ng';
  readonly phonemes = true;
  sampleRateHz = 22050;
  readonly #options: EspeakOptions;
  readonly #helperPath: string;
  /** The helper: started by the first request, and again by the next one after it exited. */
  readonly #process: SupervisedProcess;
  #ready: Promise<void> | null = null;
  /** The start in progress, settled by the helper's ready record (or its failure). */
  #starting: { readonly resolve: () => void; readonly reject: (err: Error) => void } | null = null;
  #buffer: Buffer = Buffer.alloc(0);
  #nextId = 1;
  readonly #pending = new Map<number, Pending>();
  readonly #knownVoices = new Set<string>();
  #installed: Promise<readonly string[]> | null = null;
  #closed = false;

  constructor(options: EspeakOptions = {}) {
    this.#options = options;
    this.#helperPath = options.helperPath ?? ESPEAK_HELPER_PATH;
    this.#process = new SupervisedProcess({ name: 'eSpeak helper', command: this.#helperPath, launch: () => ({ args: [] }), stdin: 'pipe', killGraceMs: HELPER_KILL_GRACE_MS });
    this.#process.on('spawned', (run) => {
      this.#buffer = Buffer.alloc(0);
      run.stdout.on('data', (chunk: Buffer) => this.#onData(chunk));
    });
    this.#process.on('error', (err) => this.#settleStart(new TtsError(`eSpeak helper failed to start: ${err.message}`)));
    this.#process.on('exit', (exit) => {
      const why = `eSpeak helper exited (${exit.code ?? exit.signal})`;
      this.#ready = null;
      this.#settleStart(new TtsError(why));
      this.#finishAll(why);
    });
  }

  /** Starts the helper (once); resolves when it reported its sample rate. */
  start(): Promise<void> {
    if (this.#ready) return this.#ready;
    if (this.#closed) return Promise.reject(new TtsError('the eSpeak provider is closed'));
    if (!existsSync(this.#helperPath)) return Promise.reject(new TtsError(`the eSpeak helper ${this.#helperPath} is not built; run npm run setup`));
    const ready = new Promise<void>((resolve, reject) => {
      this.#starting = { resolve, reject };
    });
    this.#ready = ready;
    this.#process.start();
    return ready;
  }

  /** Ends the start in progress: ready (no error) or failed. */
  #settleStart(err: Error | null): void {
    const starting = this.#starting;
    this.#starting = null;
    if (!starting) return;
    if (err) starting.reject(err);
    else starting.resolve();
  }

  #finishAll(error: string): void {
    for (const pending of this.#pending.values()) this.#finish(pending, error);
    this.#pending.clear();
  }

  #onData(chunk: Buffer): void {
    this.#buffer = this.#buffer.length ? Buffer.concat([this.#buffer, chunk]) : chunk;
    let at = 0;
    while (this.#buffer.length - at >= 9) {
      const type = String.fromCharCode(this.#buffer[at] as number);
      const id = this.#buffer.readUInt32LE(at + 1);
      const length = this.#buffer.readUInt32LE(at + 5);
      if (this.#buffer.length - at - 9 < length) break;
      const payload = this.#buffer.subarray(at + 9, at + 9 + length);
      at += 9 + length;
      if (type === 'R') {
        this.sampleRateHz = payload.readUInt32LE(0);
        this.#settleStart(null);
        continue;
      }
      if (type === 'X' && id === 0) {
        this.#settleStart(new TtsError(payload.toString('utf8')));
        continue;
      }
      const pending = this.#pending.get(id);
      if (!pending) continue;
      switch (type) {
        case 'A': {
          const samples = new Float32Array(length >> 1);
          for (let i = 0; i < samples.length; i++) samples[i] = payload.readInt16LE(i * 2) / 32768;
          this.#push(pending, { type: 'audio', samples });
          break;
        }
        case 'P':
          this.#push(pending, { type: 'phoneme', sample: payload.readUInt32LE(0), phoneme: payload.subarray(4).toString('utf8') });
          break;
        case 'W':
          this.#push(pending, { type: 'word', sample: payload.readUInt32LE(0), textOffset: payload.readUInt32LE(4) - 1, length: payload.readUInt32LE(8) });
          break;
        case 'X':
          pending.error = payload.toString('utf8');
          break;
        case 'V':
          pending.text = payload.toString('utf8');
          break;
        case 'E':
          this.#pending.delete(id);
          this.#finish(pending, pending.error);
          break;
      }
    }
    this.#buffer = at === this.#buffer.length ? Buffer.alloc(0) : this.#buffer.subarray(at);
  }

  #push(pending: Pending, event: TtsEvent): void {
    pending.events.push(event);
    pending.wake?.();
  }

  #finish(pending: Pending, error: string | null): void {
    pending.done = true;
    pending.error = error;
    pending.wake?.();
  }

  async *synthesize(request: TtsRequest): AsyncIterable<TtsEvent> {
    if (this.#closed) throw new TtsError('the eSpeak provider is closed');
    const voice = request.voice ?? this.#options.voices?.[request.language] ?? DEFAULT_VOICES[request.language];
    if (!VOICE_NAME.test(voice)) throw new TtsError(`voice "${voice}" is not a valid eSpeak voice name`);
    const { stdin, id, pending } = await this.#open();
    // The line protocol has no escapes: tabs and line breaks in text become spaces.
    const text = request.text.replace(/[\t\r\n]+/g, ' ');
    const rate = Math.round(this.#options.rateWpm ?? (request.language === 'zh' ? 165 : 170));
    stdin.write(`${id}\t${voice}\t${rate}\t${Math.round(this.#options.pitch ?? 50)}\t0\t${text}\n`);
    const onAbort = () => {
      this.#pending.delete(id);
      this.#finish(pending, 'cancelled');
    };
    request.signal.addEventListener('abort', onAbort, { once: true });
    try {
      for (;;) {
        if (pending.events.length > 0) {
          yield* pending.events.splice(0);
          continue;
        }
        if (pending.done) break;
        await new Promise<void>((resolve) => {
          pending.wake = resolve;
        });
        pending.wake = null;
      }
      if (pending.error) throw new TtsError(pending.error.startsWith('unknown voice') ? `voice "${voice}" is not installed` : pending.error);
    } finally {
      request.signal.removeEventListener('abort', onAbort);
      this.#pending.delete(id);
    }
  }

  /**
   * Asks the helper whether the voice loads (a request with no text: the same lookup speaking does,
   * so the two never disagree; about a millisecond). Throws TtsError when the helper cannot be asked.
   */
  async checkVoice(voice: string): Promise<VoiceCheck> {
    const name = voice.toLowerCase();
    if (this.#knownVoices.has(name)) return { installed: true };
    if (VOICE_NAME.test(voice)) {
      const { error } = await this.#control(`${voice}\t170\t50\t0\t`);
      if (error === null) {
        if (this.#knownVoices.size < MAX_KNOWN_VOICES) this.#knownVoices.add(name);
        return { installed: true };
      }
      if (!error.startsWith('unknown voice')) throw new TtsError(error);
    }
    return { installed: false, available: await this.installedVoices() };
  }

  /** The installed voices' names (lower case, sorted); empty when the helper cannot list them. */
  installedVoices(): Promise<readonly string[]> {
    this.#installed ??= this.#control('voices').then(
      ({ error, text }) => {
        if (error !== null) throw new TtsError(error);
        return [...new Set(text.split('\n').filter(Boolean).map((v) => v.toLowerCase()))].sort();
      },
    ).catch(() => {
      this.#installed = null;
      return [];
    });
    return this.#installed;
  }

  /** Starts the helper if needed and registers a new request, whose records then collect in `pending`. */
  async #open(): Promise<{ stdin: Writable; id: number; pending: Pending }> {
    await this.start();
    const stdin = this.#process.run?.stdin;
    if (!stdin) throw new TtsError('eSpeak helper is not running');
    const id = this.#nextId++;
    const pending: Pending = { id, events: [], text: '', done: false, error: null, wake: null };
    this.#pending.set(id, pending);
    return { stdin, id, pending };
  }

  /** One request that is not speech: sends `<id>\t<rest>` and waits for its end record. */
  async #control(rest: string): Promise<{ error: string | null; text: string }> {
    if (this.#closed) throw new TtsError('the eSpeak provider is closed');
    const { stdin, id, pending } = await this.#open();
    stdin.write(`${id}\t${rest}\n`);
    const timeout = setTimeout(() => this.#finish(pending, 'the eSpeak helper did not answer (rebuild it: npm run setup)'), CONTROL_TIMEOUT_MS);
    try {
      while (!pending.done) {
        await new Promise<void>((resolve) => {
          pending.wake = resolve;
        });
      }
    } finally {
      clearTimeout(timeout);
      this.#pending.delete(id);
    }
    return { error: pending.error, text: pending.text };
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#ready = null;
    this.#settleStart(new TtsError('the eSpeak provider is closed'));
    this.#finishAll('the eSpeak provider is closed');
    await this.#process.close();
  }
}

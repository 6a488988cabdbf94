import type { Language } from './sentences.js';
import { TtsError, type TtsEvent, type TtsProvider, type TtsRequest } from './tts.js';

export interface HttpTtsOptions {
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly sampleRateHz: number;
  readonly timeoutMs: number;
  readonly voices?: Partial<Record<Language, string>>;
}

/**
 * A voice behind HTTP, the shape a cloud or self-hosted neural TTS has: POST JSON
 * `{text, language, voice, sampleRate}`, read back a streamed WAV (16-bit PCM) or raw s16le mono.
 * Audio is passed on as it arrives; there are no phoneme timings, so the mouth follows the audio.
 */
export class HttpTtsProvider implements TtsProvider {
  readonly name = 'http';
  readonly phonemes = false;
  readonly sampleRateHz: number;
  readonly #options: HttpTtsOptions;

  constructor(options: HttpTtsOptions) {
    this.#options = options;
    this.sampleRateHz = options.sampleRateHz;
  }

  async *synthesize(request: TtsRequest): AsyncIterable<TtsEvent> {
    const o = this.#options;
    const timeout = AbortSignal.timeout(o.timeoutMs);
    const signal = AbortSignal.any([request.signal, timeout]);
    let response: Response;
    try {
      response = await fetch(o.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...o.headers },
        body: JSON.stringify({ text: request.text, language: request.language, voice: request.voice ?? o.voices?.[request.language], sampleRate: o.sampleRateHz }),
        signal,
      });
    } catch (err) {
      throw new TtsError(describeFailure(err, timeout, o.timeoutMs));
    }
    if (!response.ok || !response.body) {
      const detail = (await response.text().catch(() => '')).slice(0, 200).replace(/\s+/g, ' ');
      throw new TtsError(`TTS service answered ${response.status}${detail ? `: ${detail}` : ''}`);
    }
    const decoder = new PcmStreamDecoder(o.sampleRateHz);
    try {
      for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
        const samples = decoder.push(chunk);
        if (samples && samples.length > 0) yield { type: 'audio', samples };
      }
    } catch (err) {
      if (err instanceof TtsError) throw err;
      throw new TtsError(describeFailure(err, timeout, o.timeoutMs));
    }
  }

  async close(): Promise<void> {}
}

function describeFailure(err: unknown, timeout: AbortSignal, timeoutMs: number): string {
  if (timeout.aborted) return `TTS service did not answer within ${timeoutMs} ms`;
  const e = err as Error & { cause?: { code?: string } };
  if (e.name === 'AbortError') return 'cancelled';
  return `TTS service unreachable: ${e.cause?.code ?? e.message}`;
}

/** Turns a byte stream (WAV with a header, or headerless s16le) into mono float samples. */
export class PcmStreamDecoder {
  readonly #expectedRate: number;
  #head: Buffer | null = Buffer.alloc(0);
  #channels = 1;
  #carry: Buffer = Buffer.alloc(0);

  constructor(expectedRateHz: number) {
    this.#expectedRate = expectedRateHz;
  }

  push(chunk: Uint8Array): Float32Array | null {
    let data = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    if (this.#head) {
      // Wait for enough bytes to tell WAV from raw, and for a WAV's header up to its data chunk.
      this.#head = Buffer.concat([this.#head, data]);
      if (this.#head.length < 12) return null;
      if (this.#head.toString('ascii', 0, 4) !== 'RIFF') {
        data = this.#head;
        this.#head = null;
      } else {
        const start = this.#parseWavHeader(this.#head);
        if (start < 0) return null;
        data = this.#head.subarray(start);
        this.#head = null;
      }
    }
    const bytes = this.#carry.length ? Buffer.concat([this.#carry, data]) : data;
    const frameBytes = 2 * this.#channels;
    const frames = Math.floor(bytes.length / frameBytes);
    this.#carry = Buffer.from(bytes.subarray(frames * frameBytes));
    const out = new Float32Array(frames);
    for (let i = 0; i < frames; i++) {
      let sum = 0;
      for (let c = 0; c < this.#channels; c++) sum += bytes.readInt16LE((i * this.#channels + c) * 2);
      out[i] = sum / this.#channels / 32768;
    }
    return out;
  }

  /** Offset of the PCM data, -1 while the header is incomplete; throws on a WAV we cannot play. */
  #parseWavHeader(b: Buffer): number {
    if (b.toString('ascii', 8, 12) !== 'WAVE') throw new TtsError('TTS service sent a RIFF file that is not WAVE');
    let at = 12;
    while (at + 8 <= b.length) {
      const id = b.toString('ascii', at, at + 4);
      const size = b.readUInt32LE(at + 4);
      if (id === 'fmt ') {
        if (at + 8 + 16 > b.length) return -1;
        const format = b.readUInt16LE(at + 8);
        this.#channels = b.readUInt16LE(at + 10);
        const rate = b.readUInt32LE(at + 12);
        const bits = b.readUInt16LE(at + 22);
        if ((format !== 1 && format !== 0xfffe) || bits !== 16) throw new TtsError(`TTS service sent WAV format ${format}/${bits}-bit; 16-bit PCM is needed`);
        if (rate !== this.#expectedRate) throw new TtsError(`TTS service sent ${rate} Hz audio; set speech.http.sampleRateHz to ${rate}`);
        if (this.#channels < 1 || this.#channels > 8) throw new TtsError(`TTS service sent ${this.#channels} channels`);
      } else if (id === 'data') {
        return at + 8;
      }
      at += 8 + size + (size % 2);
    }
    return -1;
  }
}

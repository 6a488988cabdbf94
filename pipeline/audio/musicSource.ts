import { spawnDecoder, type DecoderChild } from '../decoderProcess.js';
import { PcmRing } from './pcmRing.js';

export interface MusicSourceOptions {
  readonly ffmpegPath: string;
  readonly path: string;
  readonly sampleRateHz: number;
  readonly onError: (message: string) => void;
}

/**
 * Background music: ffmpeg decodes the file (looped forever) to s16 stereo at the channel rate. The
 * decoder is paused whenever two seconds are buffered, so it runs just ahead of the tick.
 */
export class MusicSource {
  readonly ring: PcmRing;
  readonly #options: MusicSourceOptions;
  #child: DecoderChild | null = null;
  #carry: Buffer | null = null;
  #closed = false;
  #restartTimer: NodeJS.Timeout | null = null;

  constructor(options: MusicSourceOptions) {
    this.#options = options;
    this.ring = new PcmRing(options.sampleRateHz * 4);
  }

  start(): void {
    if (this.#closed || this.#child) return;
    const { ffmpegPath, path, sampleRateHz } = this.#options;
    this.#child = spawnDecoder({
      ffmpegPath,
      args: ['-hide_banner', '-loglevel', 'error', '-nostdin', '-stream_loop', '-1', '-i', path, '-vn', '-f', 's16le', '-ac', '2', '-ar', String(sampleRateHz), 'pipe:1'],
      onData: (chunk) => this.#onPcm(chunk),
      onSpawnError: (err) => this.#options.onError(`background music: ${err.message}`),
      onExit: (code, lastLine) => {
        this.#child = null;
        if (this.#closed) return;
        this.#options.onError(`background music decoder exited (${code}): ${lastLine}`);
        this.#restartTimer = setTimeout(() => this.start(), 5000);
      },
    });
  }

  #onPcm(chunk: Buffer): void {
    let data = this.#carry ? Buffer.concat([this.#carry, chunk]) : chunk;
    const usable = data.length - (data.length % 4);
    this.#carry = usable < data.length ? Buffer.from(data.subarray(usable)) : null;
    data = data.subarray(0, usable);
    // Copy into an aligned view: a Buffer from a pipe may start at an odd byte offset.
    const samples = new Int16Array(usable / 2);
    for (let i = 0; i < samples.length; i++) samples[i] = data.readInt16LE(i * 2);
    const taken = this.ring.write(samples);
    if (taken * 2 < samples.length) this.#carry = Buffer.concat([Buffer.from(samples.buffer, samples.byteOffset + taken * 4), this.#carry ?? Buffer.alloc(0)]);
    if (this.ring.freeFrames < this.#options.sampleRateHz * 2) this.#child?.stdout.pause();
  }

  /** Called after each tick's read: resume the decoder once there is room again. */
  refill(): void {
    if (this.#child?.stdout.isPaused() && this.ring.freeFrames >= this.#options.sampleRateHz * 2) this.#child.stdout.resume();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#restartTimer) clearTimeout(this.#restartTimer);
    this.#child?.kill('SIGKILL');
    this.#child = null;
  }
}

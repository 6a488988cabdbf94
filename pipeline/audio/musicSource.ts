import { Backoff } from '../output/backoff.js';
import { SupervisedProcess } from '../process/supervisedProcess.js';
import { PcmRing } from './pcmRing.js';

export interface MusicSourceOptions {
  readonly ffmpegPath: string;
  readonly path: string;
  readonly sampleRateHz: number;
  readonly onError: (message: string) => void;
}

/** A decoder that stopped is started again after this long (a file that cannot play is retried slowly). */
const RESTART_DELAY_MS = 5000;

/**
 * Background music: ffmpeg decodes the file (looped forever) to s16 stereo at the channel rate. The
 * decoder is paused whenever two seconds are buffered, so it runs just ahead of the tick.
 */
export class MusicSource {
  readonly ring: PcmRing;
  readonly #options: MusicSourceOptions;
  readonly #process: SupervisedProcess;
  #carry: Buffer | null = null;
  #closed = false;

  constructor(options: MusicSourceOptions) {
    this.#options = options;
    this.ring = new PcmRing(options.sampleRateHz * 4);
    const { path, sampleRateHz } = options;
    this.#process = new SupervisedProcess({
      name: 'background music decoder',
      command: options.ffmpegPath,
      launch: () => ({ args: ['-hide_banner', '-loglevel', 'error', '-nostdin', '-stream_loop', '-1', '-i', path, '-vn', '-f', 's16le', '-ac', '2', '-ar', String(sampleRateHz), 'pipe:1'] }),
      restart: { backoff: Backoff.fixed(RESTART_DELAY_MS) },
      killGraceMs: 0,
    });
    this.#process.on('spawned', (run) => run.stdout.on('data', (chunk: Buffer) => this.#onPcm(chunk)));
    this.#process.on('error', (err) => options.onError(`background music: ${err.message}`));
    this.#process.on('exit', (exit) => options.onError(`background music decoder exited (${exit.code}): ${exit.lastLine}`));
  }

  start(): void {
    if (!this.#closed) this.#process.start();
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
    if (this.ring.freeFrames < this.#options.sampleRateHz * 2) this.#process.run?.stdout.pause();
  }

  /** Whether `frames` samples are decoded and waiting (off the wall clock a tick waits for them instead of playing a gap). */
  holds(frames: number): boolean {
    return this.ring.bufferedFrames >= frames;
  }

  /** Called after each tick's read: resume the decoder once there is room again. */
  refill(): void {
    const stdout = this.#process.run?.stdout;
    if (stdout?.isPaused() && this.ring.freeFrames >= this.#options.sampleRateHz * 2) stdout.resume();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    // The decoder is killed at once; nothing waits for its exit.
    void this.#process.close();
  }
}

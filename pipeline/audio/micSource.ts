import { Backoff } from '../output/backoff.js';
import { SupervisedProcess } from '../process/supervisedProcess.js';

export interface MicSourceOptions {
  readonly ffmpegPath: string;
  /** The operator's microphone as RTP, described for ffmpeg (see the SFU's operator tap). */
  readonly sdp: string;
  readonly sampleRateHz: number;
  readonly onError: (message: string) => void;
}

/** More than this behind the tick and the oldest audio is dropped: a live voice must stay live. */
const MAX_LATENCY_S = 0.12;
/** Held before playing (and after a gap): network packets come every 20 ms, ticks every 33. */
const JITTER_S = 0.04;
/** A decoder that stopped is started again after this long. */
const RESTART_DELAY_MS = 2000;

/**
 * The operator's microphone, live: ffmpeg decodes the RTP (Opus) to mono s16 at the channel rate into a
 * small ring; each tick takes exactly its block (silence where the network left a gap). The ring never
 * holds more than ~120 ms, so the voice stays within a few frames of the face that speaks it.
 */
export class MicSource {
  readonly #options: MicSourceOptions;
  readonly #ring: Float32Array;
  #read = 0;
  #write = 0;
  #carry: Buffer | null = null;
  readonly #process: SupervisedProcess;
  #closed = false;
  #playing = false;

  constructor(options: MicSourceOptions) {
    this.#options = options;
    this.#ring = new Float32Array(Math.ceil(options.sampleRateHz * MAX_LATENCY_S * 2));
    const { sdp, sampleRateHz } = options;
    this.#process = new SupervisedProcess({
      name: 'microphone decoder',
      command: options.ffmpegPath,
      launch: () => ({
        args: ['-hide_banner', '-loglevel', 'error', '-protocol_whitelist', 'pipe,udp,rtp', '-fflags', 'nobuffer', '-reorder_queue_size', '0', '-f', 'sdp', '-i', 'pipe:0',
          '-vn', '-f', 's16le', '-ac', '1', '-ar', String(sampleRateHz), 'pipe:1'],
      }),
      stdin: 'pipe',
      restart: { backoff: Backoff.fixed(RESTART_DELAY_MS) },
      killGraceMs: 0,
    });
    this.#process.on('spawned', (run) => {
      run.stdin?.end(sdp);
      run.stdout.on('data', (chunk: Buffer) => this.#onPcm(chunk));
    });
    this.#process.on('error', (err) => options.onError(`microphone: ${err.message}`));
    this.#process.on('exit', (exit) => options.onError(`microphone decoder exited (${exit.code}): ${exit.lastLine}; retrying`));
  }

  start(): void {
    if (!this.#closed) this.#process.start();
  }

  #onPcm(chunk: Buffer): void {
    const data = this.#carry ? Buffer.concat([this.#carry, chunk]) : chunk;
    const samples = data.length >> 1;
    this.#carry = data.length % 2 ? Buffer.from(data.subarray(data.length - 1)) : null;
    const size = this.#ring.length;
    for (let i = 0; i < samples; i++) {
      this.#ring[this.#write % size] = data.readInt16LE(i * 2) / 32768;
      this.#write++;
    }
    const excess = this.#write - this.#read - Math.floor(this.#options.sampleRateHz * MAX_LATENCY_S);
    if (excess > 0) this.#read += excess;
  }

  /** This tick's block, mono in -1..1; zeros where nothing arrived. */
  take(frames: number, out: Float32Array): Float32Array {
    const buffered = this.#write - this.#read;
    if (!this.#playing && buffered >= frames + this.#options.sampleRateHz * JITTER_S) this.#playing = true;
    if (!this.#playing) {
      out.fill(0, 0, frames);
      return out.subarray(0, frames);
    }
    const available = Math.min(frames, buffered);
    // A gap: play what there is, then hold again until the jitter buffer has refilled.
    if (available < frames) this.#playing = false;
    const size = this.#ring.length;
    for (let i = 0; i < available; i++) out[i] = this.#ring[(this.#read + i) % size] as number;
    out.fill(0, available, frames);
    this.#read += available;
    return out.subarray(0, frames);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    // The decoder is killed at once; nothing waits for its exit.
    void this.#process.close();
  }
}

/**
 * Reads a live RTMP stream the way a platform's ingest would, for as long as the soak runs: ffprobe lists
 * every packet; we count video frames, find holes and backward steps in the timeline, and measure the
 * video-minus-audio timestamp at each video packet (a drift between the two clocks would grow there).
 */
import { spawn, type ChildProcess } from 'node:child_process';

export interface StreamWindow {
  readonly videoFrames: number;
  /** Frames missing from the timeline (steps longer than 1.5 frame periods). */
  readonly missingFrames: number;
  readonly backwardSteps: number;
  /** Median of video pts − latest audio pts over the window, ms (null: no pairs yet). */
  readonly avOffsetMs: number | null;
}

export class StreamWatch {
  readonly #url: string;
  readonly #fps: number;
  #child: ChildProcess | null = null;
  #closed = false;
  #pending = '';
  #lastVideo: number | null = null;
  #lastAudio: number | null = null;
  #frames = 0;
  #missing = 0;
  #backward = 0;
  #offsets: number[] = [];
  /** Times the reader had to reconnect (the RTMP server dropped it, or the stream paused). */
  reconnects = 0;

  constructor(url: string, fps: number) {
    this.#url = url;
    this.#fps = fps;
  }

  start(): void {
    if (this.#closed) return;
    const child = spawn('ffprobe', ['-v', 'error', '-rw_timeout', '10000000', '-i', this.#url, '-show_entries', 'packet=codec_type,pts_time', '-of', 'csv=p=0'], { stdio: ['ignore', 'pipe', 'ignore'] });
    this.#child = child;
    // A new connection starts a new timeline: compare only within one.
    this.#lastVideo = null;
    this.#lastAudio = null;
    child.stdout?.on('data', (chunk: Buffer) => this.#read(chunk.toString()));
    child.once('exit', () => {
      if (this.#closed) return;
      this.reconnects++;
      setTimeout(() => this.start(), 1000);
    });
  }

  #read(text: string): void {
    const lines = (this.#pending + text).split('\n');
    this.#pending = lines.pop() ?? '';
    const period = 1 / this.#fps;
    for (const line of lines) {
      const [type, pts] = line.split(',');
      const t = Number(pts);
      if (!Number.isFinite(t)) continue;
      if (type === 'audio') {
        this.#lastAudio = t;
        continue;
      }
      if (type !== 'video') continue;
      this.#frames++;
      if (this.#lastVideo !== null) {
        const step = t - this.#lastVideo;
        if (step <= 0) this.#backward++;
        else if (step > 1.5 * period) this.#missing += Math.round(step / period) - 1;
      }
      this.#lastVideo = t;
      if (this.#lastAudio !== null) this.#offsets.push((t - this.#lastAudio) * 1000);
    }
  }

  /** What arrived since the last call. */
  takeWindow(): StreamWindow {
    const sorted = this.#offsets.sort((a, b) => a - b);
    const window: StreamWindow = {
      videoFrames: this.#frames,
      missingFrames: this.#missing,
      backwardSteps: this.#backward,
      avOffsetMs: sorted.length ? (sorted[sorted.length >> 1] as number) : null,
    };
    this.#frames = 0;
    this.#missing = 0;
    this.#backward = 0;
    this.#offsets = [];
    return window;
  }

  close(): void {
    this.#closed = true;
    this.#child?.kill('SIGTERM');
  }
}

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import type { RgbaFrame } from './faceLandmarks.js';

/** Where drive frames come from: a file or URL now, the operator's WebRTC camera later. */
export interface FrameSource {
  on(event: 'frame', listener: (frame: RgbaFrame, timeS: number) => void): this;
  on(event: 'error', listener: (message: string) => void): this;
  start(): void;
  close(): Promise<void>;
}

export class VideoSourceError extends Error {
  override readonly name = 'VideoSourceError';
}

/** Tracking does not need more than this; smaller frames decode and scale cheaper. */
const MAX_WIDTH = 640;

/**
 * A video file or URL decoded by ffmpeg in real time (-re) and looped, as RGBA frames at most 640 px
 * wide: lets a user drive the avatar from a recording. Spawned with an argument array; the path is
 * never seen by a shell, and the accepted forms cannot start with '-' (so it is never taken for an option).
 */
export class FfmpegVideoSource extends EventEmitter implements FrameSource {
  readonly url: string;
  readonly fps: number;
  width = 0;
  height = 0;
  readonly #ffmpegPath: string;
  #child: ChildProcess | null = null;
  #closed = false;
  #restartTimer: NodeJS.Timeout | null = null;

  constructor(url: string, options: { ffmpegPath: string; fps?: number }) {
    super();
    if (!/^(https?|rtmps?|rtsp|srt):\/\/\S+$/.test(url) && !url.startsWith('/') && !/^[\w.][\w./ -]*$/.test(url)) throw new VideoSourceError(`drive source "${url}" is not a file path or a http/rtmp/rtsp/srt URL`);
    this.url = url;
    this.fps = options.fps ?? 30;
    this.#ffmpegPath = options.ffmpegPath;
  }

  /** Reads the source's size (throws a clear error when ffmpeg cannot open it). */
  probe(): { width: number; height: number } {
    const probe = spawnSync(this.#ffmpegPath.replace(/ffmpeg$/, 'ffprobe'), ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=width,height', '-of', 'csv=p=0', this.url], { encoding: 'utf8', timeout: 15_000 });
    const [w, h] = (probe.stdout ?? '').trim().split(',').map(Number);
    if (probe.status !== 0 || !w || !h) throw new VideoSourceError(`drive source ${this.url} has no readable video: ${(probe.stderr ?? '').trim().split('\n').at(-1) || 'no video stream'}`);
    const scale = Math.min(1, MAX_WIDTH / w);
    this.width = Math.max(2, Math.round((w * scale) / 2) * 2);
    this.height = Math.max(2, Math.round((h * scale) / 2) * 2);
    return { width: this.width, height: this.height };
  }

  start(): void {
    if (this.#closed || this.#child) return;
    if (!this.width) this.probe();
    const args = ['-hide_banner', '-loglevel', 'error', '-nostdin', '-re', '-stream_loop', '-1', '-i', this.url,
      '-an', '-vf', `scale=${this.width}:${this.height},fps=${this.fps}`, '-pix_fmt', 'rgba', '-f', 'rawvideo', 'pipe:1'];
    const child = spawn(this.#ffmpegPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.#child = child;
    const frameBytes = this.width * this.height * 4;
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    let frames = 0;
    let err = '';
    child.stderr?.on('data', (c: Buffer) => {
      err = (err + c.toString()).slice(-400);
    });
    child.stdout?.on('data', (chunk: Buffer) => {
      pending.push(chunk);
      pendingBytes += chunk.length;
      while (pendingBytes >= frameBytes) {
        const all = Buffer.concat(pending);
        const frame = all.subarray(0, frameBytes);
        const rest = all.subarray(frameBytes);
        pending = rest.length ? [rest] : [];
        pendingBytes = rest.length;
        this.emit('frame', { width: this.width, height: this.height, data: frame }, frames++ / this.fps);
      }
    });
    child.on('close', (code) => {
      this.#child = null;
      if (this.#closed) return;
      this.emit('error', `drive source ${this.url} stopped (${err.trim().split('\n').at(-1) || `exit ${code}`}); retrying`);
      this.#restartTimer = setTimeout(() => this.start(), 2000);
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#restartTimer) clearTimeout(this.#restartTimer);
    const child = this.#child;
    if (!child) return;
    await new Promise<void>((resolve) => {
      child.once('close', () => resolve());
      child.kill('SIGKILL');
    });
  }
}

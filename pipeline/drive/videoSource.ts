import { spawnSync } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { Backoff } from '../output/backoff.js';
import { scrubLine } from '../process/scrubLog.js';
import { SupervisedProcess, type ProcessRun } from '../process/supervisedProcess.js';
import type { RgbaFrame } from './faceLandmarks.js';

/**
 * What ffmpeg decodes: a file or URL (looped, real time), or live RTP described by an SDP (the operator's
 * camera). `paced`: a file decoded as fast as its frames are taken (an export: every frame tracked, none
 * dropped, each on its own time), not in real time.
 */
export type DriveInput = { readonly kind: 'file'; readonly url: string; readonly paced?: boolean } | { readonly kind: 'rtp'; readonly sdp: string };

/** A camera's picture is letterboxed into this size: its own size is unknown until it decodes and may change. */
const CAMERA_SIZE = { width: 640, height: 480 } as const;

/** Where drive frames come from. */
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
/** A source that stopped (a camera gone, a URL that dropped) is opened again after this long. */
const RESTART_DELAY_MS = 2000;

/**
 * Drive frames decoded by ffmpeg as RGBA, at most 640 px wide. A video file or URL is decoded in real
 * time (-re) and looped: it lets a user drive the avatar from a recording. Live RTP (the operator's
 * camera, from the SFU) is read from an SDP on stdin with no buffering. Spawned with an argument array;
 * a path is never seen by a shell, and the accepted forms cannot start with '-' (never taken for an option).
 */
export class FfmpegVideoSource extends EventEmitter implements FrameSource {
  readonly input: DriveInput;
  readonly fps: number;
  width = 0;
  height = 0;
  readonly #ffmpegPath: string;
  readonly #process: SupervisedProcess;
  #closed = false;

  constructor(input: DriveInput, options: { ffmpegPath: string; fps?: number }) {
    super();
    if (input.kind === 'file') {
      const url = input.url;
      if (!/^(https?|rtmps?|rtsp|srt):\/\/\S+$/.test(url) && !url.startsWith('/') && !/^[\w.][\w./ -]*$/.test(url)) throw new VideoSourceError(`drive source "${url}" is not a file path or a http/rtmp/rtsp/srt URL`);
    } else {
      this.width = CAMERA_SIZE.width;
      this.height = CAMERA_SIZE.height;
    }
    this.input = input;
    this.fps = options.fps ?? 30;
    this.#ffmpegPath = options.ffmpegPath;
    this.#process = new SupervisedProcess({
      name: 'drive source decoder',
      command: options.ffmpegPath,
      launch: () => ({ args: this.#decoderArgs() }),
      stdin: input.kind === 'rtp' ? 'pipe' : 'ignore',
      restart: { backoff: Backoff.fixed(RESTART_DELAY_MS) },
      killGraceMs: 0,
    });
    this.#process.on('spawned', (run) => this.#onSpawned(run));
    // A URL's key or token never reaches the message (ffmpeg's line is scrubbed already).
    this.#process.on('exit', (exit) => this.emit('error', `drive source ${scrubLine(this.label)} stopped (${exit.startError ?? (exit.lastLine || `exit ${exit.code}`)}); retrying`));
  }

  /** What the source reads, for messages. */
  get label(): string {
    return this.input.kind === 'file' ? this.input.url : 'the camera';
  }

  /** Reads the source's size (throws a clear error when ffmpeg cannot open it). */
  probe(): { width: number; height: number } {
    if (this.input.kind === 'rtp') return { width: this.width, height: this.height };
    const probe = spawnSync(this.#ffmpegPath.replace(/ffmpeg$/, 'ffprobe'), ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=width,height', '-of', 'csv=p=0', this.input.url], { encoding: 'utf8', timeout: 15_000 });
    const [w, h] = (probe.stdout ?? '').trim().split(',').map(Number);
    if (probe.status !== 0 || !w || !h) throw new VideoSourceError(`drive source ${this.input.url} has no readable video: ${(probe.stderr ?? '').trim().split('\n').at(-1) || 'no video stream'}`);
    const scale = Math.min(1, MAX_WIDTH / w);
    this.width = Math.max(2, Math.round((w * scale) / 2) * 2);
    this.height = Math.max(2, Math.round((h * scale) / 2) * 2);
    return { width: this.width, height: this.height };
  }

  start(): void {
    if (this.#closed || this.#process.running) return;
    if (!this.width) this.probe();
    this.#process.start();
  }

  #decoderArgs(): string[] {
    const { width: w, height: h } = this;
    return this.input.kind === 'file'
      ? ['-hide_banner', '-loglevel', 'error', '-nostdin', ...(this.input.paced ? [] : ['-re']), '-stream_loop', '-1', '-i', this.input.url,
          '-an', '-vf', `scale=${w}:${h},fps=${this.fps}`, '-pix_fmt', 'rgba', '-f', 'rawvideo', 'pipe:1']
      : ['-hide_banner', '-loglevel', 'error', '-protocol_whitelist', 'pipe,udp,rtp', '-fflags', 'nobuffer', '-flags', 'low_delay',
          '-reorder_queue_size', '0', '-max_delay', '0', '-f', 'sdp', '-i', 'pipe:0',
          '-an', '-vf', `scale=${w}:${h}:force_original_aspect_ratio=decrease,pad=${w}:${h}:(ow-iw)/2:(oh-ih)/2`,
          '-fps_mode', 'passthrough', '-pix_fmt', 'rgba', '-f', 'rawvideo', 'pipe:1'];
  }

  /** Cuts the run's output into frames; a file's frames are timed by count, a camera's by arrival. */
  #onSpawned(run: ProcessRun): void {
    if (this.input.kind === 'rtp') run.stdin?.end(this.input.sdp);
    const { width: w, height: h } = this;
    const startedMs = performance.now();
    const frameBytes = w * h * 4;
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    let frames = 0;
    run.stdout.on('data', (chunk: Buffer) => {
      pending.push(chunk);
      pendingBytes += chunk.length;
      while (pendingBytes >= frameBytes) {
        const all = Buffer.concat(pending);
        const frame = all.subarray(0, frameBytes);
        const rest = all.subarray(frameBytes);
        pending = rest.length ? [rest] : [];
        pendingBytes = rest.length;
        // A file's frames are evenly spaced; a camera's arrive when they arrive.
        const timeS = this.input.kind === 'file' ? frames++ / this.fps : (performance.now() - startedMs) / 1000;
        this.emit('frame', { width: w, height: h, data: frame }, timeS);
      }
    });
  }

  /** Stops reading frames (the decoder then waits on its full pipe) until `resume`: a paced reader's backpressure. */
  pause(): void {
    this.#process.run?.stdout.pause();
  }

  resume(): void {
    this.#process.run?.stdout.resume();
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#process.close();
  }
}

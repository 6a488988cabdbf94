import { spawnDecoder, type DecoderChild } from '../decoderProcess.js';

export interface BackgroundVideoOptions {
  readonly ffmpegPath: string;
  readonly path: string;
  readonly width: number;
  readonly height: number;
  readonly fps: number;
  readonly fit: 'cover' | 'contain';
  readonly onError: (message: string) => void;
}

/** Decoded frames kept ahead of the tick; the decoder is paused beyond this, so it runs just ahead. */
const FRAMES_AHEAD = 2;
/** Quick exits in a row after which the file is given up (it decodes for ffprobe but not here). */
const MAX_QUICK_EXITS = 3;

/**
 * A looping background video: ffmpeg decodes the file forever (-stream_loop), scaled and cropped to the
 * frame at the channel's rate, into RGBA frames. Each tick takes the next frame, so the video plays at the
 * channel clock's pace, not ffmpeg's; when the decoder is late the last frame stays up.
 */
export class BackgroundVideo {
  readonly #options: BackgroundVideoOptions;
  readonly #frameBytes: number;
  readonly #ready: Buffer[] = [];
  #partial: Buffer;
  #filled = 0;
  #child: DecoderChild | null = null;
  #closed = false;
  #quickExits = 0;
  #restartTimer: NodeJS.Timeout | null = null;
  /** Spare frame buffers: a 720x1280 frame is 3.7 MB, made 30 times a second. */
  readonly #spare: Buffer[] = [];
  /** The frame last handed out by next(), reused once the caller is done with it. */
  #lent: Buffer | null = null;

  constructor(options: BackgroundVideoOptions) {
    this.#options = options;
    this.#frameBytes = options.width * options.height * 4;
    this.#partial = Buffer.allocUnsafe(this.#frameBytes);
  }

  start(): void {
    if (this.#closed || this.#child) return;
    const { ffmpegPath, path, width, height, fps, fit } = this.#options;
    const scale = fit === 'cover'
      ? `scale=${width}:${height}:force_original_aspect_ratio=increase,crop=${width}:${height}`
      : `scale=${width}:${height}:force_original_aspect_ratio=decrease,pad=${width}:${height}:(ow-iw)/2:(oh-ih)/2:black`;
    this.#child = spawnDecoder({
      ffmpegPath,
      args: ['-hide_banner', '-loglevel', 'error', '-nostdin', '-stream_loop', '-1', '-i', path, '-an', '-sn', '-vf', `${scale},fps=${fps},format=rgba`, '-f', 'rawvideo', 'pipe:1'],
      onData: (chunk) => this.#onData(chunk),
      onSpawnError: (err) => this.#options.onError(`background video: ${err.message}`),
      onExit: (code, lastLine, ranMs) => {
        this.#child = null;
        this.#filled = 0;
        if (this.#closed) return;
        this.#quickExits = ranMs < 5000 ? this.#quickExits + 1 : 0;
        if (this.#quickExits >= MAX_QUICK_EXITS) {
          this.#options.onError(`background video ${path} cannot be played (${lastLine || `exit ${code}`}); the last picture stays`);
          return;
        }
        this.#options.onError(`background video decoder exited (${code}): ${lastLine}; restarting`);
        this.#restartTimer = setTimeout(() => this.start(), 1000);
      },
    });
  }

  #onData(chunk: Buffer): void {
    let offset = 0;
    while (offset < chunk.length) {
      const n = Math.min(chunk.length - offset, this.#frameBytes - this.#filled);
      chunk.copy(this.#partial, this.#filled, offset, offset + n);
      this.#filled += n;
      offset += n;
      if (this.#filled === this.#frameBytes) {
        // Never dropped: a pipe chunk finishes at most a few frames past the look-ahead before the pause.
        this.#ready.push(this.#partial);
        this.#partial = this.#spare.pop() ?? Buffer.allocUnsafe(this.#frameBytes);
        this.#filled = 0;
      }
    }
    if (this.#ready.length >= FRAMES_AHEAD) this.#child?.stdout.pause();
  }

  /**
   * The next frame for this tick, or null when none is decoded yet (keep showing the last). The buffer is
   * valid until the next call.
   */
  next(): Buffer | null {
    const frame = this.#ready.shift() ?? null;
    if (frame) {
      if (this.#lent) this.#spare.push(this.#lent);
      this.#lent = frame;
    }
    if (this.#child?.stdout.isPaused() && this.#ready.length < FRAMES_AHEAD) this.#child.stdout.resume();
    return frame;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#restartTimer) clearTimeout(this.#restartTimer);
    this.#child?.kill('SIGKILL');
    this.#child = null;
    this.#ready.length = 0;
    this.#spare.length = 0;
  }
}

import { Backoff } from '../output/backoff.js';
import { SupervisedProcess, type ProcessEnd } from '../process/supervisedProcess.js';

export interface BackgroundVideoOptions {
  readonly ffmpegPath: string;
  readonly path: string;
  readonly width: number;
  readonly height: number;
  readonly fps: number;
  readonly fit: 'cover' | 'contain';
  readonly onError: (message: string) => void;
  /** The filter that sizes the picture, instead of the fit's (a clone's framing crops around the face). */
  readonly sizeFilter?: string;
  /**
   * RGBA (default: drawn onto the scene's canvas), I420 (planes copied straight into the frame) or I420
   * with an alpha plane after V (a clone cut out over the scene: `alphaPath` gives the alpha).
   */
  readonly pixelFormat?: 'rgba' | 'yuv420p' | 'yuva420p';
  /** A gray video, frame for frame with `path`, merged in as the alpha plane (its luma) before sizing. */
  readonly alphaPath?: string;
}

const BYTES_PER_PIXEL = { rgba: 4, yuv420p: 1.5, yuva420p: 2.5 } as const;

/** Decoded frames kept ahead of the tick; the decoder is paused beyond this, so it runs just ahead. */
const FRAMES_AHEAD = 2;
/** Quick exits in a row after which the file is given up (it decodes for ffprobe but not here). */
const MAX_QUICK_EXITS = 3;
/** A run shorter than this is a quick exit. */
const QUICK_EXIT_MS = 5000;
const RESTART_DELAY_MS = 1000;

/**
 * A looping video: ffmpeg decodes the file forever (-stream_loop), scaled and cropped to the frame at the
 * channel's rate, into RGBA frames (a scene's background) or I420 ones (a clone's base loop). Each tick takes the next frame, so the video plays at the
 * channel clock's pace, not ffmpeg's; when the decoder is late the last frame stays up.
 */
export class BackgroundVideo {
  readonly #frameBytes: number;
  readonly #ready: Buffer[] = [];
  /** The decoder run's frame number of each ready frame (a run starts at the file's start). */
  readonly #readyNumbers: number[] = [];
  #decodedInRun = 0;
  #frameNumber = -1;
  #partial: Buffer;
  #filled = 0;
  readonly #process: SupervisedProcess;
  #closed = false;
  #quickExits = 0;
  #firstFrame!: () => void;
  /** Resolves when the first frame is decoded (never, if none ever is: race it with a timeout). */
  readonly firstFrame = new Promise<void>((resolve) => {
    this.#firstFrame = resolve;
  });
  /** Spare frame buffers: a 720x1280 frame is 3.7 MB, made 30 times a second. */
  readonly #spare: Buffer[] = [];
  /** The frame last handed out by next(), reused once the caller is done with it. */
  #lent: Buffer | null = null;

  constructor(options: BackgroundVideoOptions) {
    const format = options.pixelFormat ?? 'rgba';
    this.#frameBytes = options.width * options.height * BYTES_PER_PIXEL[format];
    this.#partial = Buffer.allocUnsafe(this.#frameBytes);
    const { path, width, height, fps, fit } = options;
    const scale = options.sizeFilter ?? (fit === 'cover'
      ? `scale=${width}:${height}:force_original_aspect_ratio=increase,crop=${width}:${height}`
      : `scale=${width}:${height}:force_original_aspect_ratio=decrease,pad=${width}:${height}:(ow-iw)/2:(oh-ih)/2:black`);
    this.#process = new SupervisedProcess({
      name: 'background video decoder',
      command: options.ffmpegPath,
      launch: () => {
        const alpha = options.alphaPath;
        const input = ['-hide_banner', '-loglevel', 'error', '-nostdin', '-stream_loop', '-1', '-i', path];
        const output = ['-an', '-sn', '-f', 'rawvideo', 'pipe:1'];
        if (!alpha) return { args: [...input, '-vf', `${scale},fps=${fps},format=${format}`, ...output] };
        // Both files loop in step (the same frames at the same rate); the matte is merged before any scaling.
        return { args: [...input, '-stream_loop', '-1', '-i', alpha, '-filter_complex', `[0:v][1:v]alphamerge,${scale},fps=${fps},format=${format}`, ...output] };
      },
      restart: { backoff: Backoff.fixed(RESTART_DELAY_MS), shouldRestart: (end) => this.#worthRetrying(end) },
      killGraceMs: 0,
    });
    this.#process.on('spawned', (run) => {
      this.#decodedInRun = 0;
      run.stdout.on('data', (chunk: Buffer) => this.#onData(chunk));
    });
    this.#process.on('error', (err) => options.onError(`background video: ${err.message}`));
    this.#process.on('exit', (exit) => {
      // A frame cut off by the exit is dropped; the next run starts a fresh one.
      this.#filled = 0;
      if (exit.restartInMs === null) options.onError(`background video ${path} cannot be played (${exit.lastLine || `exit ${exit.code}`}); the last picture stays`);
      else options.onError(`background video decoder exited (${exit.code}): ${exit.lastLine}; restarting`);
    });
  }

  start(): void {
    if (!this.#closed) this.#process.start();
  }

  /** Gives the file up after several quick exits in a row. */
  #worthRetrying(end: ProcessEnd): boolean {
    this.#quickExits = end.ranMs < QUICK_EXIT_MS ? this.#quickExits + 1 : 0;
    return this.#quickExits < MAX_QUICK_EXITS;
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
        this.#firstFrame();
        this.#readyNumbers.push(this.#decodedInRun++);
        this.#partial = this.#spare.pop() ?? Buffer.allocUnsafe(this.#frameBytes);
        this.#filled = 0;
      }
    }
    if (this.#ready.length >= FRAMES_AHEAD) this.#process.run?.stdout.pause();
  }

  /**
   * The next frame for this tick, or null when none is decoded yet (keep showing the last). The buffer is
   * valid until a later call returns another frame.
   */
  next(): Buffer | null {
    const frame = this.#ready.shift() ?? null;
    if (frame) {
      this.#frameNumber = this.#readyNumbers.shift() ?? 0;
      if (this.#lent) this.#spare.push(this.#lent);
      this.#lent = frame;
    }
    const stdout = this.#process.run?.stdout;
    if (stdout?.isPaused() && this.#ready.length < FRAMES_AHEAD) stdout.resume();
    return frame;
  }

  /** Whether a decoded frame is waiting (an export's tick waits for one; live shows the last). */
  get hasFrame(): boolean {
    return this.#ready.length > 0;
  }

  /** The last frame next() gave: its number from the start of the file (it counts from 0 again when the decoder restarts). */
  get frameNumber(): number {
    return this.#frameNumber;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    // The decoder is killed at once; nothing waits for its exit.
    void this.#process.close();
    this.#filled = 0;
    this.#ready.length = 0;
    this.#readyNumbers.length = 0;
    this.#spare.length = 0;
  }
}

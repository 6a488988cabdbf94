import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { createRequire } from 'node:module';
import { setPriority } from 'node:os';
import type { Readable, Writable } from 'node:stream';
import { trackChild } from '../process/childRegistry.js';

/** How a picture is fitted into the box it is drawn in (sharp's names): `cover` crops, `inside` letterboxes. */
export interface DrawBox {
  readonly width: number;
  readonly height: number;
  readonly fit: 'cover' | 'inside';
  /** Transparent parts made black (a background, whose pixels replace the frame's) rather than kept. */
  readonly flatten: boolean;
}

/** A picture decoded and scaled to its box: RGBA, not premultiplied. */
export interface ScaledPicture {
  readonly width: number;
  readonly height: number;
  readonly rgba: Buffer;
}

/** A huge picture decodes in about a second on the 2-core box; one that takes this long is not a picture. */
const DECODE_TIMEOUT_MS = 20_000;
/** The decoder process ends after this long without work, giving back all the memory libvips used. */
const DECODER_IDLE_MS = 15_000;
/** Decoding runs beside the live loop, below its priority, so the tick never waits for a core. */
const DECODER_NICENESS = 19;
/** Answer header: request id, width, height, channels (0: the file is not a usable picture), u32le each. */
const HEADER_BYTES = 16;

/**
 * The decoder process: sharp (libvips) reads each requested file and scales it to its box without ever
 * holding the whole picture (PNG is read line by line, JPEG and WebP shrink while they decode), one request
 * at a time (a JSON line on stdin), answering a header and the RGBA pixels on stdout. Plain JavaScript run
 * with `node -e`, so it works from the sources and from dist/ alike; it ends when its stdin closes.
 */
const DECODER_SCRIPT = `
const sharp = require(process.argv[1]);
const readline = require('node:readline');
const FORMATS = new Set(['png', 'jpeg', 'webp', 'gif', 'svg']);
sharp.concurrency(1);
sharp.cache(false);
const answer = (id, width, height, channels, data) => {
  const head = Buffer.alloc(${HEADER_BYTES});
  head.writeUInt32LE(id, 0);
  head.writeUInt32LE(width, 4);
  head.writeUInt32LE(height, 8);
  head.writeUInt32LE(channels, 12);
  process.stdout.write(data ? Buffer.concat([head, data]) : head);
};
async function decode({ id, file, width, height, fit, flatten }) {
  try {
    const options = { failOn: 'error', autoOrient: true };
    const meta = await sharp(file, options).metadata();
    if (!FORMATS.has(meta.format)) return answer(id, 0, 0, 0);
    let picture = sharp(file, options).resize({ width, height, fit, position: 'centre' });
    if (flatten) picture = picture.flatten({ background: '#000000' });
    const { data, info } = await picture.toColourspace('srgb').ensureAlpha().raw().toBuffer({ resolveWithObject: true });
    answer(id, info.width, info.height, info.channels, data);
  } catch {
    answer(id, 0, 0, 0);
  }
}
let queue = Promise.resolve();
readline.createInterface({ input: process.stdin }).on('line', (line) => {
  const request = JSON.parse(line);
  queue = queue.then(() => decode(request));
});
`;

const SHARP_PATH = createRequire(import.meta.url).resolve('sharp');

interface DecodeJob {
  readonly id: number;
  readonly file: string;
  readonly box: DrawBox;
  readonly resolve: (picture: ScaledPicture | null) => void;
}

type DecoderChild = ChildProcessByStdio<Writable, Readable, null>;

/**
 * Decoding in a separate, niced process rather than on the server's threads: libvips' working memory (tens
 * of MB for an 8000x8000 PNG, on each thread that ran a decode) stays with a process's allocator once used,
 * so in the server it was never given back; this process ends when idle and takes it along. It is started
 * once per burst of work, not per picture: forking the server (hundreds of MB mapped) holds its loop for
 * 20-140 ms each time. A decoder crash on a hostile file ends this process, not the server.
 */
class PictureDecoderProcess {
  #child: DecoderChild | null = null;
  #jobs: DecodeJob[] = [];
  #nextId = 1;
  #idleTimer: NodeJS.Timeout | null = null;
  #jobTimer: NodeJS.Timeout | null = null;
  // The answer being read: its header, then its pixels straight into one buffer (no gathering and concat:
  // on this VM every fresh megabyte costs page faults on the loop's thread).
  #header = Buffer.alloc(HEADER_BYTES);
  #headerFilled = 0;
  #pixels: Buffer | null = null;
  #pixelsFilled = 0;

  decode(file: string, box: DrawBox): Promise<ScaledPicture | null> {
    return new Promise((resolve) => this.#submit({ id: this.#nextId++, file, box, resolve }));
  }

  #submit(job: DecodeJob): void {
    const child = this.#ensureChild();
    this.#jobs.push(job);
    if (this.#idleTimer) clearTimeout(this.#idleTimer);
    this.#idleTimer = null;
    if (this.#jobs.length === 1) {
      this.#armJobTimer();
      this.#keepAlive(child, true);
    }
    child.stdin.write(`${JSON.stringify({ id: job.id, file: job.file, width: job.box.width, height: job.box.height, fit: job.box.fit, flatten: job.box.flatten })}\n`);
  }

  #ensureChild(): DecoderChild {
    if (this.#child) return this.#child;
    // No environment: the decoder needs nothing from the server's (which holds the operator token).
    const child = spawn(process.execPath, ['-e', DECODER_SCRIPT, SHARP_PATH], { stdio: ['pipe', 'pipe', 'ignore'], env: {} });
    // Not a SupervisedProcess: it comes and goes with bursts of work, and its protocol needs no stderr,
    // watchdog or restart. Registered all the same, so it never outlives the server.
    trackChild(child);
    if (child.pid !== undefined) {
      try {
        setPriority(child.pid, DECODER_NICENESS);
      } catch {
        // Already gone: its exit is handled below.
      }
    }
    child.stdin.on('error', () => undefined);
    child.stdout.on('data', (chunk: Buffer) => this.#onData(child, chunk));
    child.on('error', () => this.#onExit(child));
    child.on('close', () => this.#onExit(child));
    this.#child = child;
    this.#headerFilled = 0;
    this.#pixels = null;
    return child;
  }

  /** An idle decoder is never what keeps the server's process running; one with work to do is. */
  #keepAlive(child: DecoderChild, on: boolean): void {
    for (const handle of [child, child.stdout] as unknown as { ref(): void; unref(): void }[]) {
      if (on) handle.ref();
      else handle.unref();
    }
  }

  #armJobTimer(): void {
    if (this.#jobTimer) clearTimeout(this.#jobTimer);
    const child = this.#child;
    this.#jobTimer = setTimeout(() => child?.kill('SIGKILL'), DECODE_TIMEOUT_MS);
    this.#jobTimer.unref();
  }

  #onData(child: DecoderChild, chunk: Buffer): void {
    let offset = 0;
    while (offset < chunk.length) {
      if (this.#headerFilled < HEADER_BYTES) {
        const n = chunk.copy(this.#header, this.#headerFilled, offset, offset + HEADER_BYTES - this.#headerFilled);
        this.#headerFilled += n;
        offset += n;
        if (this.#headerFilled < HEADER_BYTES) return;
        const job = this.#jobs[0];
        const [id, width, height, channels] = [0, 4, 8, 12].map((at) => this.#header.readUInt32LE(at)) as [number, number, number, number];
        if (!job || id !== job.id) return void child.kill('SIGKILL');
        if (channels === 0) {
          this.#finish(null);
          continue;
        }
        // A box-sized RGBA answer or the process is not speaking this protocol.
        if (channels !== 4 || width < 1 || height < 1 || width > job.box.width || height > job.box.height) return void child.kill('SIGKILL');
        this.#pixels = Buffer.allocUnsafe(width * height * 4);
        this.#pixelsFilled = 0;
      }
      const pixels = this.#pixels as Buffer;
      const n = chunk.copy(pixels, this.#pixelsFilled, offset);
      this.#pixelsFilled += n;
      offset += n;
      if (this.#pixelsFilled === pixels.length) this.#finish({ width: this.#header.readUInt32LE(4), height: this.#header.readUInt32LE(8), rgba: pixels });
    }
  }

  #finish(picture: ScaledPicture | null): void {
    this.#headerFilled = 0;
    this.#pixels = null;
    this.#jobs.shift()?.resolve(picture);
    if (this.#jobs.length > 0) return this.#armJobTimer();
    if (this.#jobTimer) clearTimeout(this.#jobTimer);
    this.#jobTimer = null;
    if (this.#child) this.#keepAlive(this.#child, false);
    this.#idleTimer = setTimeout(() => {
      // Closing its stdin ends it; a request from now on starts a fresh one.
      const child = this.#child;
      this.#child = null;
      this.#idleTimer = null;
      child?.stdin.end();
    }, DECODER_IDLE_MS);
    this.#idleTimer.unref();
  }

  #onExit(child: DecoderChild): void {
    if (this.#child !== child) return;
    this.#child = null;
    for (const timer of [this.#idleTimer, this.#jobTimer]) if (timer) clearTimeout(timer);
    this.#idleTimer = this.#jobTimer = null;
    // What it was working on is not a picture that can be shown (it crashed on it or took too long); the
    // requests queued behind it go to a fresh process.
    const [current, ...queued] = this.#jobs;
    this.#jobs = [];
    current?.resolve(null);
    for (const job of queued) this.#submit(job);
  }
}

const decoder = new PictureDecoderProcess();

/**
 * Decodes `file` scaled to `box` in the picture decoder process, or null when it is not a picture that can
 * be decoded (any reason: missing, damaged, another format, too slow).
 */
export function decodePictureScaled(file: string, box: DrawBox): Promise<ScaledPicture | null> {
  return decoder.decode(file, box);
}

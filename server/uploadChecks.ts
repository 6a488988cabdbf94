/**
 * The work an upload costs beyond writing it to disk: proving a picture decodes and a video probes. It runs
 * beside live rooms on a box with few cores, so it is bounded: at most CHECKS_AT_ONCE checks run, all at the
 * lowest CPU priority, and a picture's size is read from its header before anything decodes it.
 *
 * The checks are started by one long-lived checker process (uploadCheckProcess.ts), not by the server:
 * spawning from the server forks its whole address space, and with a few hundred MB resident that fork
 * held the tick for 10-250 ms (measured: 15-50 ms from a 46 MB process, 60-275 ms from a 675 MB one on a
 * busy box), a frame or more per upload. The checker is small and niced, so its children are cheap to
 * start and inherit its priority. A picture is decoded in a child of its own (a decoder fault or a huge
 * picture's memory ends with it).
 */
import { imageSize } from 'image-size';
import pLimit, { type LimitFunction } from 'p-limit';
import { spawn, type ChildProcess, type ChildProcessByStdio, type SpawnOptions } from 'node:child_process';
import { availableParallelism, setPriority } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { Readable } from 'node:stream';
import { createInflate } from 'node:zlib';

/**
 * Checks running at once; the rest wait their turn. Two, but one on a 2-core box: there the live room (tick
 * and encoder) needs about a core, and a second niced check only competed with it (20 parallel MP4 uploads
 * repeated 0-4 frames with one at a time, 0-6 with two, in the same total time).
 */
export const CHECKS_AT_ONCE = Math.min(2, Math.max(1, availableParallelism() - 1));
/** Nice value of check children: the live loop and the encoder always run first. */
export const CHECK_NICENESS = 19;
/** A picture is decoded whole; its side is checked from the header first, so nothing huge is decoded. */
export const MAX_IMAGE_SIDE = 8192;
/** A decode that takes longer is the box being busy (a 20 MB picture decodes in about a second). */
const IMAGE_CHECK_TIMEOUT_MS = 60_000;

/**
 * Runs `job`s at most `concurrency` at a time, in arrival order. Uploads are few and human-paced; a burst
 * (a script sending a folder) waits here rather than competing with the live rooms for the CPU.
 */
export class CheckQueue {
  readonly #limit: LimitFunction;

  constructor(concurrency = CHECKS_AT_ONCE) {
    this.#limit = pLimit(concurrency);
  }

  run<T>(job: () => Promise<T>): Promise<T> {
    return this.#limit(job);
  }

  get running(): number {
    return this.#limit.activeCount;
  }

  get waiting(): number {
    return this.#limit.pendingCount;
  }
}

/** The environment for the server's helper processes: what they need to run, not the server's secrets (the token). */
export function childEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const name of ['PATH', 'HOME', 'LANG', 'GLIBC_TUNABLES', 'NODE_OPTIONS']) if (process.env[name] !== undefined) env[name] = process.env[name];
  return env;
}

/**
 * Spawns `command` (an argument array, never a shell line) and lowers its priority at once. Linux keeps
 * nice per thread: threads the child starts after this inherit it, which is where decoders do their work.
 */
export function spawnNiced(command: string, args: readonly string[], options: SpawnOptions = {}): ChildProcessByStdio<null, Readable, Readable> {
  const child = spawn(command, args, { env: childEnv(), ...options, stdio: ['ignore', 'pipe', 'pipe'] }) as ChildProcessByStdio<null, Readable, Readable>;
  if (child.pid !== undefined) {
    try {
      setPriority(child.pid, CHECK_NICENESS);
    } catch {
      // Already gone: its exit is handled by the caller.
    }
  }
  return child;
}

/** A picture's size from its header, or null when the header cannot be read. */
export function imageHeaderSize(data: Buffer): { width: number; height: number } | null {
  try {
    const size = imageSize(data);
    return size.width > 0 && size.height > 0 ? { width: size.width, height: size.height } : null;
  } catch {
    return null;
  }
}

/** What the image check child answers (one JSON line on stdout). */
export type ImageCheckAnswer = { readonly ok: true; readonly width: number; readonly height: number } | { readonly ok: false; readonly reason: string };

/** What ffprobe found in an uploaded video, or why it cannot be played (VideoProbeError's words). */
export type VideoCheckAnswer = { readonly ok: true; readonly width: number; readonly height: number; readonly durationS: number } | { readonly ok: false; readonly reason: string };

/** What ffprobe found in an uploaded sound file (music), or why it cannot be played. */
export type AudioCheckAnswer = { readonly ok: true; readonly durationS: number } | { readonly ok: false; readonly reason: string };

type CheckAnswer = ImageCheckAnswer | VideoCheckAnswer | AudioCheckAnswer;

/** A check the checker process runs. */
export type CheckJob =
  | { readonly kind: 'image'; readonly file: string; readonly mime: string }
  | { readonly kind: 'video' | 'audio'; readonly file: string; readonly ffprobePath: string };

/** The checker's answer to job `id`: the check's answer, or why it could not check (a server matter). */
export type CheckReply = { readonly id: number; readonly answer: CheckAnswer } | { readonly id: number; readonly unavailable: string };

type AnswerOf<J extends CheckJob> = J extends { kind: 'image' } ? ImageCheckAnswer : J extends { kind: 'video' } ? VideoCheckAnswer : AudioCheckAnswer;

/** Longest a check may take, queue wait excluded: its own limits (decode 60 s, probe 10 s) and a margin. */
const CHECK_REPLY_TIMEOUT_MS = IMAGE_CHECK_TIMEOUT_MS + 15_000;

interface PendingCheck {
  readonly resolve: (answer: CheckAnswer) => void;
  readonly reject: (err: Error) => void;
  readonly timer: NodeJS.Timeout;
}

/**
 * The server's side of the checker process: jobs go in CHECKS_AT_ONCE at a time (the rest wait in order),
 * answers come back over the IPC channel. `start()` spawns the process while nothing is live yet (the one
 * fork of the server); one that dies is started again by the next check. The process ends with `close()`,
 * or by itself when the server is gone (its IPC channel closes).
 */
export class UploadChecker {
  readonly #queue: CheckQueue;
  readonly #pending = new Map<number, PendingCheck>();
  #child: ChildProcess | null = null;
  #nextId = 1;
  #closed = false;

  constructor(concurrency = CHECKS_AT_ONCE) {
    this.#queue = new CheckQueue(concurrency);
  }

  start(): void {
    if (this.#closed || this.#child) return;
    const child = spawn(process.execPath, [...nodeScriptArgs('uploadCheckProcess')], { env: childEnv(), stdio: ['ignore', 'ignore', 'ignore', 'ipc'] });
    if (child.pid !== undefined) {
      try {
        setPriority(child.pid, CHECK_NICENESS);
      } catch {
        // Gone already: 'exit' below.
      }
    }
    child.on('message', (reply: CheckReply) => this.#settle(reply));
    child.on('error', () => this.#lost(child, 'it cannot be started'));
    child.on('exit', (code, signal) => this.#lost(child, `it stopped (${signal ?? `exit ${code}`})`));
    // Never keeps the server running on its own.
    child.unref();
    child.channel?.unref();
    this.#child = child;
  }

  /** The checker process's id while it runs (tests). */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** Checks run or waiting (for tests and the busy answer). */
  get load(): { readonly running: number; readonly waiting: number } {
    return { running: this.#queue.running, waiting: this.#queue.waiting };
  }

  /** The check's answer; a CheckUnavailableError when the checker could not give one. */
  check<J extends CheckJob>(job: J): Promise<AnswerOf<J>> {
    return this.#queue.run(() => this.#send(job)) as Promise<AnswerOf<J>>;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const child = this.#child;
    this.#child = null;
    child?.kill('SIGKILL');
    this.#failAll('the server is stopping');
  }

  #send(job: CheckJob): Promise<CheckAnswer> {
    if (this.#closed) return Promise.reject(new CheckUnavailableError('the server is stopping'));
    this.start();
    const child = this.#child;
    if (!child?.connected) return Promise.reject(new CheckUnavailableError('the upload checker is not running'));
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        // Stuck: it is replaced, and whatever it held is answered "try again".
        this.#lost(child, `no answer within ${CHECK_REPLY_TIMEOUT_MS / 1000} s`);
        child.kill('SIGKILL');
      }, CHECK_REPLY_TIMEOUT_MS);
      this.#pending.set(id, { resolve, reject, timer });
      child.send({ id, ...job }, (err) => {
        if (err) this.#settle({ id, unavailable: `the upload checker did not take the job (${err.message})` });
      });
    });
  }

  #settle(reply: CheckReply): void {
    const pending = this.#pending.get(reply.id);
    if (!pending) return;
    this.#pending.delete(reply.id);
    clearTimeout(pending.timer);
    if ('answer' in reply) pending.resolve(reply.answer);
    else pending.reject(new CheckUnavailableError(reply.unavailable));
  }

  #lost(child: ChildProcess, why: string): void {
    if (this.#child !== child) return;
    this.#child = null;
    this.#failAll(`the upload checker ${why}`);
  }

  #failAll(why: string): void {
    for (const [id, pending] of this.#pending) {
      clearTimeout(pending.timer);
      this.#pending.delete(id);
      pending.reject(new CheckUnavailableError(why));
    }
  }
}

/** Why a check could not give an answer about the file: a server matter (busy, broken set-up), not the file's. */
export class CheckUnavailableError extends Error {
  override readonly name = 'CheckUnavailableError';
}

/** Node's arguments to run one of these modules as a process (sources run through tsx, the build as JavaScript). */
export function nodeScriptArgs(name: string): readonly string[] {
  if (import.meta.url.endsWith('.ts')) return ['--import', import.meta.resolve('tsx'), fileURLToPath(new URL(`./${name}.ts`, import.meta.url))];
  return [fileURLToPath(new URL(`./${name}.js`, import.meta.url))];
}

/**
 * Decodes the picture in a niced child (the same decoder that draws scenes), after checking a PNG's
 * compressed data is all there. Resolves with the child's answer; a child that crashes on the file answers
 * "damaged"; one that cannot start or runs out of time is a CheckUnavailableError.
 */
export async function checkImageInChild(file: string, mime: string, timeoutMs = IMAGE_CHECK_TIMEOUT_MS): Promise<ImageCheckAnswer> {
  const child = spawnNiced(process.execPath, [...nodeScriptArgs('imageCheckChild'), file, mime]);
  let out = '';
  child.stdout.on('data', (c: Buffer) => {
    if (out.length < 4096) out += c.toString();
  });
  child.stderr.resume();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, timeoutMs);
  const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null; error: Error | null }>((resolve) => {
    child.on('close', (code, signal) => resolve({ code, signal, error: null }));
    child.on('error', (error) => resolve({ code: null, signal: null, error }));
  });
  clearTimeout(timer);
  if (exit.error) throw new CheckUnavailableError(`the picture checker cannot be started (${exit.error.message})`);
  if (timedOut) throw new CheckUnavailableError(`checking the picture took longer than ${Math.round(timeoutMs / 1000)} s`);
  try {
    const answer = JSON.parse(out) as ImageCheckAnswer;
    if (typeof answer.ok === 'boolean') return answer;
  } catch {
    // No answer: the decoder died on the file.
  }
  return { ok: false, reason: `the decoder stopped on it (${exit.signal ?? `exit ${exit.code}`})` };
}

interface PngHeader {
  readonly width: number;
  readonly height: number;
  readonly bitDepth: number;
  readonly colourType: number;
  readonly interlaced: boolean;
}

const SAMPLES_PER_PIXEL: Readonly<Record<number, number>> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };
/** Adam7 passes: x start, y start, x step, y step. */
const ADAM7 = [
  [0, 0, 8, 8],
  [4, 0, 8, 8],
  [0, 4, 4, 8],
  [2, 0, 4, 4],
  [0, 2, 2, 4],
  [1, 0, 2, 2],
  [0, 1, 1, 2],
] as const;

/** Bytes the picture data inflates to: each row's filter byte and its packed samples, per pass if interlaced. */
export function pngInflatedBytes(h: PngHeader): number {
  const bitsPerPixel = (SAMPLES_PER_PIXEL[h.colourType] ?? 4) * h.bitDepth;
  const rows = (width: number, height: number) => (width > 0 && height > 0 ? height * (1 + Math.ceil((width * bitsPerPixel) / 8)) : 0);
  if (!h.interlaced) return rows(h.width, h.height);
  let total = 0;
  for (const [x0, y0, dx, dy] of ADAM7) total += rows(Math.ceil((h.width - x0) / dx), Math.ceil((h.height - y0) / dy));
  return total;
}

/**
 * Whether a PNG's picture data is all there: its chunks run to IEND without overrunning the file, and the
 * IDAT stream inflates to every row the header promises. Decoders draw a short stream as a grey lower part
 * rather than failing, and a file cut short and closed with an IEND passes an end-marker check.
 * Streams the inflate (never holds the picture) and stops once every row has come out.
 */
export async function pngDataIsComplete(data: Buffer): Promise<boolean> {
  if (data.length < 8 + 25) return false;
  let header: PngHeader | null = null;
  const idat: Buffer[] = [];
  let at = 8;
  let ended = false;
  while (at + 8 <= data.length) {
    const length = data.readUInt32BE(at);
    const type = data.toString('latin1', at + 4, at + 8);
    const body = at + 8;
    if (body + length + 4 > data.length) return false;
    if (type === 'IHDR' && length >= 13) {
      header = { width: data.readUInt32BE(body), height: data.readUInt32BE(body + 4), bitDepth: data[body + 8] as number, colourType: data[body + 9] as number, interlaced: data[body + 12] === 1 };
    } else if (type === 'IDAT') {
      idat.push(data.subarray(body, body + length));
    } else if (type === 'IEND') {
      ended = true;
      break;
    }
    at = body + length + 4;
  }
  if (!header || !ended || idat.length === 0) return false;
  const expected = pngInflatedBytes(header);
  return new Promise((resolve) => {
    const inflate = createInflate();
    let produced = 0;
    let settled = false;
    const settle = (whole: boolean) => {
      if (settled) return;
      settled = true;
      inflate.destroy();
      resolve(whole);
    };
    inflate.on('data', (chunk: Buffer) => {
      produced += chunk.length;
      if (produced >= expected) settle(true);
    });
    inflate.on('error', () => settle(false));
    inflate.on('end', () => settle(produced >= expected));
    for (const part of idat) inflate.write(part);
    inflate.end();
  });
}

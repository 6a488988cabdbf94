/**
 * Scene files from the operator's computer (backgrounds, logos, product pictures, background videos):
 * streamed to FENSHEN_DATA/uploads, checked by their content (not their name or the browser's word),
 * decoded once to prove they are usable, then listed in the database for the console. The checks are
 * bounded and niced (uploadChecks.ts): live rooms never wait for an upload.
 */
import { fileTypeFromFile } from 'file-type';
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { Readable } from 'node:stream';
import type { UploadCreatedAnswer, UploadListAnswer } from './api/contract.js';
import { BusyError, ConflictError, dataFolderError, InvalidRequestError, NotFoundError, TooLargeError, UnprocessableError, UnsupportedTypeError } from './domainErrors.js';
import type { DiskReserve } from './diskReserve.js';
import type { Store, StoredUpload } from './store.js';
import { CheckUnavailableError, imageHeaderSize, MAX_IMAGE_SIDE, UploadChecker } from './uploadChecks.js';

const MB = 1024 * 1024;
/** Bytes a picture and a video may have (config `uploads`, in MB). */
export interface UploadLimits {
  readonly image: number;
  readonly video: number;
}
/**
 * Uploads being received or checked at once. Beyond it a new one is answered 503 with Retry-After before
 * its body is read: the ones in hand finish sooner, and the temporary files stay bounded. Checks inside
 * run CHECKS_AT_ONCE at a time, so this also bounds how long the last one waits (about 16 rounds of a
 * probe or a decode, seconds, not minutes).
 */
export const MAX_UPLOADS_IN_FLIGHT = 32;
const RETRY_AFTER_S = 10;

/** What may be uploaded, by the type its content shows. */
const ACCEPTED: Readonly<Record<string, { readonly kind: StoredUpload['kind']; readonly ext: string }>> = {
  'image/png': { kind: 'image', ext: 'png' },
  'image/jpeg': { kind: 'image', ext: 'jpg' },
  'image/webp': { kind: 'image', ext: 'webp' },
  'image/gif': { kind: 'image', ext: 'gif' },
  'video/mp4': { kind: 'video', ext: 'mp4' },
  'video/quicktime': { kind: 'video', ext: 'mov' },
  'video/webm': { kind: 'video', ext: 'webm' },
  // Music for short videos and channels.
  'audio/mpeg': { kind: 'audio', ext: 'mp3' },
  'audio/x-m4a': { kind: 'audio', ext: 'm4a' },
  'audio/aac': { kind: 'audio', ext: 'aac' },
  'audio/wav': { kind: 'audio', ext: 'wav' },
  'audio/flac': { kind: 'audio', ext: 'flac' },
  'audio/ogg': { kind: 'audio', ext: 'ogg' },
  'audio/ogg; codecs=opus': { kind: 'audio', ext: 'opus' },
};

export interface UploadIntakeOptions {
  readonly store: Store;
  readonly dataDir: string;
  readonly ffprobePath: string;
  /** What shows this file (relative to FENSHEN_DATA), in words, or null. */
  readonly inUse: (file: string) => string | null;
  readonly limits: UploadLimits;
  /** Refuses an upload that would leave the data folder's disk under its reserve. */
  readonly diskReserve: DiskReserve;
}

const publicOf = (upload: StoredUpload) => ({ ...upload, url: `/api/uploads/${upload.id}` });
const isStream = (body: unknown): body is Readable => typeof (body as Readable | undefined)?.pipe === 'function';

/** A write under the data folder that failed: what failed, said safely (no machine paths). */
const writing = <T>(what: string, step: () => Promise<T> | T): Promise<T> =>
  Promise.resolve()
    .then(step)
    .catch((err: unknown) => {
      throw dataFolderError(err, what) ?? err;
    });

const sizeText = (bytes: number) => `${(bytes / MB).toFixed(1)} MB`;
const limitsText = (limits: UploadLimits) => `images up to ${limits.image / MB} MB, videos and sound files up to ${limits.video / MB} MB`;

/** The uploaded name as shown in the console: no path, no control characters, not too long. */
function displayName(raw: unknown): string {
  const name = typeof raw === 'string' ? basename(raw.replace(/\\/g, '/')) : '';
  // eslint-disable-next-line no-control-regex
  const clean = name.replace(/[\u0000-\u001f\u007f]/g, '').trim().slice(0, 120);
  return clean || 'upload';
}

/**
 * Whether an image file is whole: decoders draw a cut-off file with the missing part grey, so a truncated
 * upload would only show as a broken picture on air. Each format has an end marker (or a stated length).
 */
export function imageIsComplete(data: Buffer, mime: string): boolean {
  switch (mime) {
    case 'image/png':
      return data.length > 12 && data.toString('latin1', data.length - 8, data.length - 4) === 'IEND';
    case 'image/jpeg':
      return data.subarray(Math.max(0, data.length - 256)).includes(Buffer.from([0xff, 0xd9]));
    case 'image/webp':
      return data.length >= 12 && data.readUInt32LE(4) + 8 <= data.length;
    case 'image/gif':
      return data.at(-1) === 0x3b;
    default:
      return false;
  }
}

/**
 * Streams the body to `file` and returns its length. Past the limit it stops writing and fails with a 413,
 * but keeps reading (discarding) so the client gets the answer rather than a reset connection; a client
 * that goes on far beyond the limit is cut off.
 */
function receive(body: Readable, file: string, limits: UploadLimits): Promise<number> {
  const maxBytes = Math.max(limits.image, limits.video);
  return new Promise((resolve, reject) => {
    const out = createWriteStream(file, { mode: 0o600 });
    let received = 0;
    let refused = false;
    out.on('error', (err) => {
      body.resume();
      reject(dataFolderError(err, 'uploads') ?? err);
    });
    body.on('error', reject);
    body.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (refused) {
        if (received > 2 * maxBytes) body.destroy();
        return;
      }
      if (received > maxBytes) {
        refused = true;
        out.destroy();
        reject(new TooLargeError(`the file is over ${sizeText(maxBytes)}; uploads are limited to ${limitsText(limits)}`));
        return;
      }
      if (!out.write(chunk)) {
        body.pause();
        out.once('drain', () => body.resume());
      }
    });
    body.on('end', () => {
      if (refused) return;
      out.end(() => resolve(received));
    });
  });
}

const damaged = (ext: string, why: string) => new UnprocessableError(`the ${ext.toUpperCase()} image is damaged or cut off and cannot be used (${why})`);

/** The checker could not answer (busy, restarting): the same upload later can succeed, RETRY_AFTER_S from now. */
const unavailable = (what: string) => (err: unknown) => {
  if (err instanceof CheckUnavailableError) throw new BusyError(`the ${what} could not be checked now (${err.message}); try again in ${RETRY_AFTER_S} s`, RETRY_AFTER_S, err);
  throw err;
};

/**
 * A picture's size once it is proven usable: its header says how big it is (refused before anything
 * decodes it when too big), its end marker that it is whole, and the checker decodes it (queued, niced).
 */
async function checkImage(checker: UploadChecker, file: string, mime: string, ext: string): Promise<{ width: number; height: number }> {
  const data = await readFile(file);
  const header = imageHeaderSize(data);
  if (!header) throw damaged(ext, 'its header cannot be read');
  if (header.width > MAX_IMAGE_SIDE || header.height > MAX_IMAGE_SIDE) {
    throw new UnprocessableError(`the image is ${header.width}x${header.height}; at most ${MAX_IMAGE_SIDE} pixels a side`);
  }
  if (!imageIsComplete(data, mime)) throw damaged(ext, 'it ends too early');
  const answer = await checker.check({ kind: 'image', file, mime }).catch(unavailable('picture'));
  if (!answer.ok) throw damaged(ext, answer.reason);
  return { width: answer.width, height: answer.height };
}

/** A sound file's length once ffprobe (queued, niced) finds a sound stream ffmpeg can decode. */
async function checkAudio(checker: UploadChecker, ffprobePath: string, file: string): Promise<{ durationS: number }> {
  const answer = await checker.check({ kind: 'audio', file, ffprobePath }).catch(unavailable('sound file'));
  if (!answer.ok) throw new UnprocessableError(`the sound file cannot be used: ${answer.reason}`);
  return { durationS: answer.durationS };
}

/** A video's size and length once ffprobe (queued, niced) finds a picture stream long enough to loop. */
async function checkVideo(checker: UploadChecker, ffprobePath: string, file: string): Promise<{ width: number; height: number; durationS: number }> {
  const answer = await checker.check({ kind: 'video', file, ffprobePath }).catch(unavailable('video'));
  if (!answer.ok) throw new UnprocessableError(`the video cannot be used: ${answer.reason}`);
  return { width: answer.width, height: answer.height, durationS: answer.durationS };
}

/**
 * Uploads as the server keeps them: taking one in (streamed to disk, checked, listed), listing, serving
 * and removing them. The checker process starts with `start()`, before any channel is live, and ends
 * with `close()`.
 */
export class UploadIntake {
  readonly #options: UploadIntakeOptions;
  readonly #dir: string;
  readonly #checker = new UploadChecker();
  #inFlight = 0;

  constructor(options: UploadIntakeOptions) {
    this.#options = options;
    this.#dir = join(options.dataDir, 'uploads');
  }

  /** Starts the checker now, while no channel is live yet: starting it later would fork the whole server mid-stream. */
  start(): void {
    this.#checker.start();
  }

  close(): void {
    this.#checker.close();
  }

  /**
   * Takes in the file streamed as `body` (`declaredBytes` from its content-length, `name` as given): refused
   * before it is read when too large or when too many are in flight; stored once its content is proven to
   * be a usable picture or video.
   */
  async add(body: unknown, declaredBytes: number, name: unknown): Promise<UploadCreatedAnswer> {
    const { limits } = this.#options;
    if (declaredBytes > Math.max(limits.image, limits.video)) {
      throw new TooLargeError(`the file is ${sizeText(declaredBytes)}; uploads are limited to ${limitsText(limits)}`);
    }
    if (!isStream(body)) throw new InvalidRequestError('send the file itself as the request body');
    // Without a content-length the size is unknown until it has arrived: the reserve alone is checked.
    await this.#options.diskReserve.ensureRoom(Number.isFinite(declaredBytes) ? declaredBytes : 0, 'this upload');
    if (this.#inFlight >= MAX_UPLOADS_IN_FLIGHT) {
      throw new BusyError(`${MAX_UPLOADS_IN_FLIGHT} uploads are already being received or checked; try again in ${RETRY_AFTER_S} s`, RETRY_AFTER_S);
    }
    this.#inFlight++;
    const id = `u-${randomBytes(5).toString('hex')}`;
    const temp = join(this.#dir, `.${id}.part`);
    try {
      await writing('uploads', () => mkdir(this.#dir, { recursive: true, mode: 0o700 }));
      const received = await receive(body, temp, limits);
      if (received === 0) throw new InvalidRequestError('the file is empty');
      const type = await fileTypeFromFile(temp);
      const accepted = type ? ACCEPTED[type.mime] : undefined;
      if (!type || !accepted) {
        throw new UnsupportedTypeError(`not a picture, video or sound file${type ? ` (the content is ${type.mime})` : ''}: upload PNG, JPEG, WebP or GIF pictures, MP4, MOV or WebM videos, or MP3, M4A, AAC, WAV, FLAC, Ogg or Opus music`);
      }
      const limit = accepted.kind === 'image' ? limits.image : limits.video;
      if (received > limit) throw new TooLargeError(`the ${accepted.kind === 'audio' ? 'sound file' : accepted.kind} is ${sizeText(received)}; ${limitsText(limits)}`);
      const size = accepted.kind === 'image'
        ? await checkImage(this.#checker, temp, type.mime, type.ext)
        : accepted.kind === 'video'
          ? await checkVideo(this.#checker, this.#options.ffprobePath, temp)
          : await checkAudio(this.#checker, this.#options.ffprobePath, temp);
      const file = `uploads/${id}.${accepted.ext}`;
      await writing('uploads', () => rename(temp, join(this.#options.dataDir, file)));
      const upload: StoredUpload = { id, name: displayName(name), kind: accepted.kind, mime: type.mime, bytes: received, file, createdAt: Date.now() };
      await writing('the database', () => this.#options.store.addUpload(upload));
      return { ...publicOf(upload), ...size };
    } finally {
      this.#inFlight--;
      await rm(temp, { force: true }).catch(() => {});
    }
  }

  list(): UploadListAnswer {
    return { uploads: this.#options.store.uploads().map(publicOf), limits: this.#options.limits };
  }

  /** The upload `id` and its file's content as a stream. */
  open(id: string): { readonly upload: StoredUpload; readonly content: Readable } {
    const upload = this.#require(id);
    return { upload, content: createReadStream(join(this.#options.dataDir, upload.file)) };
  }

  /** Removes the upload and its file; refused while a channel's scene or a saved scene shows it. */
  async remove(id: string): Promise<void> {
    const upload = this.#require(id);
    const user = this.#options.inUse(upload.file);
    if (user) throw new ConflictError(`${user} shows ${upload.name}; change or delete it first`);
    this.#options.store.removeUpload(upload.id);
    await rm(join(this.#options.dataDir, upload.file), { force: true });
  }

  #require(id: string): StoredUpload {
    const upload = this.#options.store.upload(id);
    if (!upload) throw new NotFoundError(`upload ${id}`);
    return upload;
  }
}

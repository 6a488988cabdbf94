/**
 * Scene files from the operator's computer (backgrounds, logos, product pictures, background videos):
 * streamed to FENSHEN_DATA/uploads, checked by their content (not their name or the browser's word),
 * decoded once to prove they are usable, then listed in the database for the console. The checks are
 * bounded and niced (uploadChecks.ts): live rooms never wait for an upload.
 */
import type { FastifyInstance } from 'fastify';
import { fileTypeFromFile } from 'file-type';
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { Readable } from 'node:stream';
import { dataFolderError, errors } from './errors.js';
import type { Store, StoredUpload } from './store.js';
import { CheckUnavailableError, imageHeaderSize, MAX_IMAGE_SIDE, UploadChecker } from './uploadChecks.js';

const MB = 1024 * 1024;
export const UPLOAD_LIMITS = { image: 20 * MB, video: 100 * MB } as const;
const MAX_UPLOAD_BYTES = Math.max(UPLOAD_LIMITS.image, UPLOAD_LIMITS.video);
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
};

export interface UploadRoutesOptions {
  readonly store: Store;
  readonly dataDir: string;
  readonly ffprobePath: string;
  /** What shows this file (relative to FENSHEN_DATA), in words, or null. */
  readonly inUse: (file: string) => string | null;
}

const sizeText = (bytes: number) => `${(bytes / MB).toFixed(1)} MB`;
const limitsText = `images up to ${UPLOAD_LIMITS.image / MB} MB, videos up to ${UPLOAD_LIMITS.video / MB} MB`;

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
function receive(body: Readable, file: string): Promise<number> {
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
        if (received > 2 * MAX_UPLOAD_BYTES) body.destroy();
        return;
      }
      if (received > MAX_UPLOAD_BYTES) {
        refused = true;
        out.destroy();
        reject(errors.tooLarge(`the file is over ${sizeText(MAX_UPLOAD_BYTES)}; uploads are limited to ${limitsText}`));
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

const damaged = (ext: string, why: string) => errors.unprocessable(`the ${ext.toUpperCase()} image is damaged or cut off and cannot be used (${why})`);

/** The checker could not answer (busy, restarting): the same upload later can succeed. */
const unavailable = (what: string) => (err: unknown) => {
  if (err instanceof CheckUnavailableError) throw errors.busy(`the ${what} could not be checked now (${err.message}); try again in ${RETRY_AFTER_S} s`, RETRY_AFTER_S, err);
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
    throw errors.unprocessable(`the image is ${header.width}x${header.height}; at most ${MAX_IMAGE_SIDE} pixels a side`);
  }
  if (!imageIsComplete(data, mime)) throw damaged(ext, 'it ends too early');
  const answer = await checker.check({ kind: 'image', file, mime }).catch(unavailable('picture'));
  if (!answer.ok) throw damaged(ext, answer.reason);
  return { width: answer.width, height: answer.height };
}

/** A video's size and length once ffprobe (queued, niced) finds a picture stream long enough to loop. */
async function checkVideo(checker: UploadChecker, ffprobePath: string, file: string): Promise<{ width: number; height: number; durationS: number }> {
  const answer = await checker.check({ kind: 'video', file, ffprobePath }).catch(unavailable('video'));
  if (!answer.ok) throw errors.unprocessable(`the video cannot be used: ${answer.reason}`);
  return { width: answer.width, height: answer.height, durationS: answer.durationS };
}

export async function uploadRoutes(api: FastifyInstance, options: UploadRoutesOptions): Promise<void> {
  const dir = join(options.dataDir, 'uploads');
  const publicOf = (u: StoredUpload) => ({ ...u, url: `/api/uploads/${u.id}` });
  const checker = new UploadChecker();
  // Now, while no channel is live yet: starting it later would fork the whole server mid-stream.
  checker.start();
  api.addHook('onClose', async () => checker.close());
  let inFlight = 0;
  /** A write under the data folder that failed: what failed, said safely (no machine paths). */
  const writing = <T>(what: string, step: () => Promise<T> | T): Promise<T> =>
    Promise.resolve()
      .then(step)
      .catch((err: unknown) => {
        throw dataFolderError(err, what) ?? err;
      });

  // The body is the file itself (any content type), streamed to disk: never buffered whole in memory.
  api.addContentTypeParser('*', (_request, payload, done) => done(null, payload));

  api.post('/api/uploads', async (request, reply) => {
    const declared = Number(request.headers['content-length']);
    if (declared > MAX_UPLOAD_BYTES) {
      throw errors.tooLarge(`the file is ${sizeText(declared)}; uploads are limited to ${limitsText}`);
    }
    const body = request.body as Readable | undefined;
    if (!body || typeof body.pipe !== 'function') throw errors.invalid('send the file itself as the request body');
    if (inFlight >= MAX_UPLOADS_IN_FLIGHT) {
      throw errors.busy(`${MAX_UPLOADS_IN_FLIGHT} uploads are already being received or checked; try again in ${RETRY_AFTER_S} s`, RETRY_AFTER_S);
    }
    inFlight++;
    const id = `u-${randomBytes(5).toString('hex')}`;
    const temp = join(dir, `.${id}.part`);
    try {
      await writing('uploads', () => mkdir(dir, { recursive: true, mode: 0o700 }));
      const received = await receive(body, temp);
      if (received === 0) throw errors.invalid('the file is empty');
      const type = await fileTypeFromFile(temp);
      const accepted = type ? ACCEPTED[type.mime] : undefined;
      if (!type || !accepted) {
        throw errors.unsupportedType(`not an image or a video${type ? ` (the content is ${type.mime})` : ''}: upload PNG, JPEG, WebP or GIF pictures, or MP4, MOV or WebM videos`);
      }
      if (received > UPLOAD_LIMITS[accepted.kind]) throw errors.tooLarge(`the ${accepted.kind} is ${sizeText(received)}; ${limitsText}`);
      const size = accepted.kind === 'image' ? await checkImage(checker, temp, type.mime, type.ext) : await checkVideo(checker, options.ffprobePath, temp);
      const file = `uploads/${id}.${accepted.ext}`;
      await writing('uploads', () => rename(temp, join(options.dataDir, file)));
      const upload: StoredUpload = { id, name: displayName((request.query as { name?: unknown }).name), kind: accepted.kind, mime: type.mime, bytes: received, file, createdAt: Date.now() };
      await writing('the database', () => options.store.addUpload(upload));
      return reply.status(201).send({ ...publicOf(upload), ...size });
    } finally {
      inFlight--;
      await rm(temp, { force: true }).catch(() => {});
    }
  });

  api.get('/api/uploads', async () => ({ uploads: options.store.uploads().map(publicOf), limits: UPLOAD_LIMITS }));

  api.get<{ Params: { id: string } }>('/api/uploads/:id', async (request, reply) => {
    const upload = options.store.upload(request.params.id);
    if (!upload) throw errors.notFound(`upload ${request.params.id}`);
    reply.header('cache-control', 'private, max-age=3600');
    return reply.type(upload.mime).send(createReadStream(join(options.dataDir, upload.file)));
  });

  api.delete<{ Params: { id: string } }>('/api/uploads/:id', async (request, reply) => {
    const upload = options.store.upload(request.params.id);
    if (!upload) throw errors.notFound(`upload ${request.params.id}`);
    const user = options.inUse(upload.file);
    if (user) throw errors.conflict(`${user} shows ${upload.name}; change or delete it first`);
    options.store.removeUpload(upload.id);
    await rm(join(options.dataDir, upload.file), { force: true });
    return reply.status(204).send();
  });
}

// Kept with the other media probing (scene videos use it too); exported here for the routes that import it.
export { ffprobeBeside } from '../pipeline/mediaProbe.js';

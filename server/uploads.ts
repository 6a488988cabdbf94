/**
 * Scene files from the operator's computer (backgrounds, logos, product pictures, background videos):
 * streamed to FENSHEN_DATA/uploads, checked by their content (not their name or the browser's word),
 * decoded once to prove they are usable, then listed in the database for the console.
 */
import { loadImage } from '@napi-rs/canvas';
import type { FastifyInstance } from 'fastify';
import { fileTypeFromFile } from 'file-type';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { errors } from './errors.js';
import type { Store, StoredUpload } from './store.js';

const MB = 1024 * 1024;
export const UPLOAD_LIMITS = { image: 20 * MB, video: 100 * MB } as const;
const MAX_UPLOAD_BYTES = Math.max(UPLOAD_LIMITS.image, UPLOAD_LIMITS.video);
const MAX_IMAGE_SIDE = 8192;

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

/** ffprobe's word on a video: its picture size and length, or why it is not one. */
async function probeVideo(ffprobe: string, file: string): Promise<{ width: number; height: number; durationS: number }> {
  const child = spawn(ffprobe, ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=width,height:format=duration', '-of', 'json', file], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  const code = await new Promise<number | null>((resolve) => {
    child.on('close', resolve);
    child.on('error', () => resolve(null));
  });
  clearTimeout(timer);
  const parsed = (() => {
    try {
      return JSON.parse(out) as { streams?: { width?: number; height?: number }[]; format?: { duration?: string } };
    } catch {
      return {};
    }
  })();
  const stream = parsed.streams?.[0];
  const durationS = Number(parsed.format?.duration);
  if (code !== 0 || !stream?.width || !stream.height) throw errors.invalid('the video cannot be read (no picture stream ffmpeg can decode)');
  if (!(durationS > 0.2)) throw errors.invalid('the video is too short to loop (under 0.2 s)');
  return { width: stream.width, height: stream.height, durationS };
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
    out.on('error', reject);
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

export async function uploadRoutes(api: FastifyInstance, options: UploadRoutesOptions): Promise<void> {
  const dir = join(options.dataDir, 'uploads');
  const publicOf = (u: StoredUpload) => ({ ...u, url: `/api/uploads/${u.id}` });

  // The body is the file itself (any content type), streamed to disk: never buffered whole in memory.
  api.addContentTypeParser('*', (_request, payload, done) => done(null, payload));

  api.post('/api/uploads', async (request, reply) => {
    const declared = Number(request.headers['content-length']);
    if (declared > MAX_UPLOAD_BYTES) {
      throw errors.tooLarge(`the file is ${sizeText(declared)}; uploads are limited to ${limitsText}`);
    }
    const body = request.body as Readable | undefined;
    if (!body || typeof body.pipe !== 'function') throw errors.invalid('send the file itself as the request body');
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const id = `u-${randomBytes(5).toString('hex')}`;
    const temp = join(dir, `.${id}.part`);
    let received = 0;
    try {
      received = await receive(body, temp);
      if (received === 0) throw errors.invalid('the file is empty');
      const type = await fileTypeFromFile(temp);
      const accepted = type ? ACCEPTED[type.mime] : undefined;
      if (!type || !accepted) {
        throw errors.unsupportedType(`not an image or a video${type ? ` (the content is ${type.mime})` : ''}: upload PNG, JPEG, WebP or GIF pictures, or MP4, MOV or WebM videos`);
      }
      if (received > UPLOAD_LIMITS[accepted.kind]) throw errors.tooLarge(`the ${accepted.kind} is ${sizeText(received)}; ${limitsText}`);
      let size: { width: number; height: number };
      if (accepted.kind === 'image') {
        const data = await readFile(temp);
        const image = imageIsComplete(data, type.mime) ? await loadImage(data).catch(() => null) : null;
        if (!image || !image.width || !image.height) throw errors.invalid(`the ${type.ext.toUpperCase()} image is damaged or cut off and cannot be used`);
        if (image.width > MAX_IMAGE_SIDE || image.height > MAX_IMAGE_SIDE) throw errors.invalid(`the image is ${image.width}x${image.height}; at most ${MAX_IMAGE_SIDE} pixels a side`);
        size = { width: image.width, height: image.height };
      } else {
        size = await probeVideo(options.ffprobePath, temp);
      }
      const file = `uploads/${id}.${accepted.ext}`;
      await rename(temp, join(options.dataDir, file));
      const upload: StoredUpload = { id, name: displayName((request.query as { name?: unknown }).name), kind: accepted.kind, mime: type.mime, bytes: received, file, createdAt: Date.now() };
      options.store.addUpload(upload);
      return reply.status(201).send({ ...publicOf(upload), ...size });
    } finally {
      await rm(temp, { force: true });
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

/** ffprobe beside the configured ffmpeg (Debian installs both in /usr/bin). */
export function ffprobeBeside(ffmpegPath: string): string {
  return ffmpegPath.includes('/') ? join(dirname(ffmpegPath), basename(ffmpegPath).replace(/ffmpeg/, 'ffprobe')) : ffmpegPath.replace(/ffmpeg/, 'ffprobe');
}

/**
 * Child process of the upload check (uploadChecks.ts, checkImageInChild): `<file> <mime>`. Decodes the
 * picture with the decoder scenes draw with and writes one JSON line: {ok, width, height} or {ok: false,
 * reason}. In its own process so the decode's CPU (niced), memory and any decoder fault stay out of the
 * server.
 */
import { setPriority } from 'node:os';
import { readFile } from 'node:fs/promises';
import type { ImageCheckAnswer } from './uploadChecks.js';

// Before the decoder starts its threads: they inherit this thread's priority (the parent set it too).
try {
  setPriority(19);
} catch {
  // Not allowed to lower it further: the parent's setting stands.
}

async function check(file: string, mime: string): Promise<ImageCheckAnswer> {
  const data = await readFile(file);
  const { pngDataIsComplete } = await import('./uploadChecks.js');
  if (mime === 'image/png' && !(await pngDataIsComplete(data))) return { ok: false, reason: 'its picture data is cut short' };
  const { loadImage } = await import('@napi-rs/canvas');
  try {
    const image = await loadImage(data);
    if (!image.width || !image.height) return { ok: false, reason: 'it decodes to no picture' };
    return { ok: true, width: image.width, height: image.height };
  } catch {
    return { ok: false, reason: 'it cannot be decoded' };
  }
}

const [file, mime] = process.argv.slice(2);
if (!file || !mime) {
  process.stderr.write('usage: imageCheckChild <file> <mime>\n');
  process.exit(2);
}
const answer = await check(file, mime);
process.stdout.write(`${JSON.stringify(answer)}\n`);

/**
 * Paths given over the API stay inside the data folder (FENSHEN_DATA, where uploads live). A path from the
 * API that is outside it, escapes it with `..` or a symlink, is missing, is not a regular file or cannot be
 * read is refused with one message, so an answer never tells what exists elsewhere on the disk. Paths in
 * the config file are the machine owner's and are not checked here.
 */
import { constants } from 'node:fs';
import { access, realpath, stat } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { UnprocessableError } from './domainErrors.js';

export const SCENE_FILE_REFUSED = 'scene files must be uploads (POST /api/uploads) inside the data folder';
export const DRIVE_FILE_REFUSED =
  'a drive video must be an upload (POST /api/uploads) or another file inside the data folder, or an http(s), rtmp(s), rtsp or srt URL';

/**
 * Where `path` (relative to `dataDir`, or absolute) really is, relative to the data folder with symlinks
 * resolved, when it is a readable regular file inside it; otherwise null, without saying why.
 */
export async function dataFileOf(path: string, dataDir: string): Promise<string | null> {
  try {
    const root = await realpath(dataDir);
    const real = await realpath(isAbsolute(path) ? path : resolve(dataDir, path));
    const inside = relative(root, real);
    if (inside === '' || inside.startsWith(`..${sep}`) || inside === '..' || isAbsolute(inside)) return null;
    if (!(await stat(real)).isFile()) return null;
    await access(real, constants.R_OK);
    return inside;
  } catch {
    // Missing, a loop of links, no permission, a NUL in the name: all the same answer.
    return null;
  }
}

/** The scene fields that name files, and the key holding each path. */
const SCENE_FILE_FIELDS = [
  ['background', 'path'],
  ['logo', 'path'],
  ['productCard', 'image'],
] as const;

/**
 * `scene` with each file it names (background image or video, logo, product picture) checked to be inside
 * the data folder and rewritten relative to it (`uploads/u-…png`, the form the uploads list and the
 * in-use check know); an UnprocessableError (422) with SCENE_FILE_REFUSED otherwise. Fields that are absent or not paths are
 * left for the schema to judge.
 */
export async function confineSceneFiles<T extends object>(scene: T, dataDir: string): Promise<T> {
  const out = { ...scene } as Record<string, unknown>;
  for (const [field, key] of SCENE_FILE_FIELDS) {
    const value = out[field];
    if (typeof value !== 'object' || value === null) continue;
    const path = (value as Record<string, unknown>)[key];
    if (typeof path !== 'string') continue;
    const inside = await dataFileOf(path, dataDir);
    if (inside === null) throw new UnprocessableError(SCENE_FILE_REFUSED);
    out[field] = { ...value, [key]: inside };
  }
  return out as T;
}

/** A URL scheme (`rtmp://…`): ffmpeg's own business, checked by the video source's URL rules. */
const URL_SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//;

/**
 * The drive `file` source's input: a URL as given, or a local file inside the data folder as its absolute
 * path (ffmpeg runs in the server's working folder); an UnprocessableError (422) with DRIVE_FILE_REFUSED
 * for any other path.
 */
export async function confineDriveUrl(url: string, dataDir: string): Promise<string> {
  if (URL_SCHEME.test(url)) return url;
  const inside = await dataFileOf(url, dataDir);
  if (inside === null) throw new UnprocessableError(DRIVE_FILE_REFUSED);
  return join(await realpath(dataDir), inside);
}

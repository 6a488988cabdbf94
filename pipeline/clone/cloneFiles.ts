import { closeSync, existsSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { CLONE_FORMAT, cloneManifestSchema, type CloneManifest } from './cloneManifest.js';

/** A clone that cannot be shown: not built, from another format, or its folder damaged; the message says which. */
export class CloneLoadError extends Error {
  override readonly name = 'CloneLoadError';
}

export const CLONE_ID = /^clone-[a-z0-9-]{1,57}$/;

/** Whether an avatar id names a clone (clone-…), not a drawn avatar. */
export function isCloneId(id: string): boolean {
  return CLONE_ID.test(id);
}

export function cloneDir(dataDir: string, id: string): string {
  return join(dataDir, 'avatars', id);
}

const POINTS = 936;

/**
 * A built clone, opened to be shown: its manifest checked, its landmarks in memory, and the mouth patches
 * read one at a time from their file (a patch is read per frame: tens of kB from the page cache).
 */
export class CloneFiles {
  readonly id: string;
  readonly dir: string;
  readonly manifest: CloneManifest;
  /** Landmarks of each loop frame, x,y pairs in recording pixels. */
  readonly loopLandmarks: Float32Array;
  /** Landmarks of each mouth, x,y pairs in patch pixels. */
  readonly mouthLandmarks: Float32Array;
  readonly patchBytes: number;
  #fd: number | null;

  private constructor(id: string, dir: string, manifest: CloneManifest, loop: Float32Array, mouths: Float32Array, fd: number) {
    this.id = id;
    this.dir = dir;
    this.manifest = manifest;
    this.loopLandmarks = loop;
    this.mouthLandmarks = mouths;
    this.patchBytes = (manifest.mouths.patchWidth * manifest.mouths.patchHeight * 3) / 2;
    this.#fd = fd;
  }

  /** Opens clone `id` under the data folder, or throws a CloneLoadError saying what is wrong. */
  static open(dataDir: string, id: string): CloneFiles {
    const dir = cloneDir(dataDir, id);
    const manifestPath = join(dir, 'manifest.json');
    if (!existsSync(dir)) throw new CloneLoadError(`clone ${id} not found`);
    if (!existsSync(manifestPath)) {
      let state = 'not built';
      try {
        const record = JSON.parse(readFileSync(join(dir, 'clone.json'), 'utf8')) as { state?: string; progress?: number };
        state = record.state === 'building' ? `still building (${Math.round((record.progress ?? 0) * 100)}%)` : record.state === 'failed' ? 'a failed build' : state;
      } catch {
        // No record either: not built.
      }
      throw new CloneLoadError(`clone ${id} cannot be shown: it is ${state}`);
    }
    let manifest: CloneManifest;
    try {
      const raw = JSON.parse(readFileSync(manifestPath, 'utf8')) as { format?: unknown };
      if (raw.format !== CLONE_FORMAT) throw new CloneLoadError(`clone ${id} was built in format ${String(raw.format)}; this version shows format ${CLONE_FORMAT}: build it again from its recording`);
      manifest = cloneManifestSchema.parse(raw);
    } catch (err) {
      if (err instanceof CloneLoadError) throw err;
      throw new CloneLoadError(`clone ${id} is damaged: its manifest cannot be read (${(err as Error).message.split('\n')[0]})`);
    }
    const { loop, mouths } = manifest;
    const expect = (file: string, bytes: number) => {
      const path = join(dir, file);
      const size = existsSync(path) ? statSync(path).size : -1;
      if (size !== bytes) throw new CloneLoadError(`clone ${id} is damaged: ${file} is ${size < 0 ? 'missing' : `${size} bytes where ${bytes} were written`}; build it again`);
    };
    const patchBytes = (mouths.patchWidth * mouths.patchHeight * 3) / 2;
    expect(loop.landmarks, loop.frames * POINTS * 4);
    expect(mouths.landmarks, mouths.count * POINTS * 4);
    expect(mouths.file, mouths.count * patchBytes);
    for (const file of [loop.file, manifest.cutout?.file]) {
      if (file && !existsSync(join(dir, file))) throw new CloneLoadError(`clone ${id} is damaged: ${file} is missing; build it again`);
    }
    const floats = (file: string) => {
      const bytes = readFileSync(join(dir, file));
      return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
    };
    return new CloneFiles(id, dir, manifest, floats(loop.landmarks), floats(mouths.landmarks), openSync(join(dir, mouths.file), 'r'));
  }

  /** Reads mouth `k`'s I420 patch into `out`. */
  readPatch(k: number, out: Uint8Array): void {
    if (this.#fd === null) throw new Error(`clone ${this.id} is closed`);
    readSync(this.#fd, out, 0, this.patchBytes, k * this.patchBytes);
  }

  close(): void {
    if (this.#fd !== null) closeSync(this.#fd);
    this.#fd = null;
  }
}

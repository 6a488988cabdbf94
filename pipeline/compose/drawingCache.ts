import { AvatarRenderer } from '../avatar/renderer.js';
import { SpriteBank } from './spriteBank.js';

/** Avatars and frame sizes kept at once (least recently used first out). */
const MAX_ENTRIES = 2;

/**
 * What the renders of one process share: each drawn avatar rasterised once, and the I420 sprites made from
 * it (by frame size). A short video's idle motion is seeded, so every render of an avatar visits the same
 * rotations: after the first, its sprites come from here instead of being drawn and converted again (about
 * 4 s of CPU for a 60 s video at 720x1280). The sprites are the same bytes either way: a cached render makes
 * the same frames as a fresh one.
 */
export class DrawingCache {
  readonly #avatars = new Map<string, Promise<AvatarRenderer>>();
  readonly #banks = new Map<string, SpriteBank>();

  /** The avatar drawn for `key` (its id, style and scale), made with `make` the first time. */
  avatar(key: string, make: () => Promise<AvatarRenderer>): Promise<AvatarRenderer> {
    let found = this.#avatars.get(key);
    if (found) this.#avatars.delete(key);
    else found = make();
    this.#avatars.set(key, found);
    // A failed load is not kept.
    found.catch(() => this.#avatars.delete(key));
    trim(this.#avatars);
    return found;
  }

  /** The sprite bank for frames of `width` x `height` (made with `make` the first time). */
  bank(width: number, height: number, make: () => SpriteBank): SpriteBank {
    const key = `${width}x${height}`;
    const found = this.#banks.get(key) ?? make();
    this.#banks.delete(key);
    this.#banks.set(key, found);
    trim(this.#banks);
    return found;
  }
}

function trim<V>(map: Map<string, V>): void {
  while (map.size > MAX_ENTRIES) map.delete(map.keys().next().value as string);
}

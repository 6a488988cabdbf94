import { createCanvas } from '@napi-rs/canvas';
import { boundsOf, type Affine } from '../avatar/affine.js';
import type { SpriteSource } from '../avatar/spriteSource.js';
import { I420Sprite } from './i420Sprite.js';

/** A sprite ready to blend, and where its top-left pixel goes in the frame. */
export interface PlacedSprite {
  readonly sprite: I420Sprite;
  readonly x: number;
  readonly y: number;
}

interface BankEntry {
  readonly sprite: I420Sprite;
  /** Offset of the sprite's top-left from the transform's translation (whole pixels). */
  readonly dx: number;
  readonly dy: number;
  readonly bytes: number;
}

export interface SpriteBankStats {
  hits: number;
  misses: number;
  /** Milliseconds spent reading canvases back and converting them, since the last reset. */
  convertMs: number;
}

/**
 * The I420 sprites a frame is blended from, made from canvases the first time they are drawn:
 * a canvas placed at whole pixels is read back as it is; one under a rotation or scale (the face's
 * small parts) is first drawn by Skia at that linear part. Least recently used first out when the
 * byte budget is full. Sprites are known by their source's key, so a big layer's rotation whose
 * canvas the rotation cache has dropped is still found here and never drawn again.
 */
export class SpriteBank {
  readonly #budgetBytes: number;
  readonly #entries = new Map<string, BankEntry>();
  #bytes = 0;
  readonly stats: SpriteBankStats = { hits: 0, misses: 0, convertMs: 0 };

  constructor(budgetBytes = 96 * 1024 * 1024) {
    this.#budgetBytes = budgetBytes;
  }

  get bytes(): number {
    return this.#bytes;
  }

  /** The sprite for `source` drawn under `transform` (source pixels to frame pixels). */
  place(source: SpriteSource, transform: Affine): PlacedSprite {
    const [a, b, c, d, e, f] = transform;
    const plain = a === 1 && b === 0 && c === 0 && d === 1;
    const fx = e - Math.floor(e), fy = f - Math.floor(f);
    // Keyed by what changes the pixels: the source, the linear part and the sub-pixel phase of the offset.
    const transformed = !(plain && fx === 0 && fy === 0);
    const key = transformed ? `${source.key}|${a}:${b}:${c}:${d}:${Math.round(fx * 16)}:${Math.round(fy * 16)}` : source.key;
    let entry = this.#entries.get(key);
    if (entry) {
      this.#entries.delete(key);
      this.#entries.set(key, entry);
      this.stats.hits++;
    } else {
      entry = this.#make(source, transform, transformed);
      this.#entries.set(key, entry);
      this.#bytes += entry.bytes;
      this.stats.misses++;
      for (const [oldKey, old] of this.#entries) {
        if (this.#bytes <= this.#budgetBytes || old === entry) break;
        this.#entries.delete(oldKey);
        this.#bytes -= old.bytes;
      }
    }
    return { sprite: entry.sprite, x: Math.floor(e) + entry.dx, y: Math.floor(f) + entry.dy };
  }

  #make(source: SpriteSource, transform: Affine, transformed: boolean): BankEntry {
    const t0 = performance.now();
    let canvas = source.canvas, dx = 0, dy = 0;
    if (transformed) {
      // Drawn at the transform's sub-pixel phase, into a canvas covering its bounds (a pixel of margin
      // for smoothing), placed back at whole pixels.
      const [a, b, c, d, e, f] = transform;
      const phase: Affine = [a, b, c, d, e - Math.floor(e), f - Math.floor(f)];
      const bounds = boundsOf(phase, source.width, source.height);
      dx = Math.floor(bounds.minX) - 1;
      dy = Math.floor(bounds.minY) - 1;
      canvas = createCanvas(Math.max(1, Math.ceil(bounds.maxX) + 1 - dx), Math.max(1, Math.ceil(bounds.maxY) + 1 - dy));
      const ctx = canvas.getContext('2d');
      ctx.setTransform(a, b, c, d, phase[4] - dx, phase[5] - dy);
      ctx.drawImage(source.canvas, 0, 0);
    }
    const rgba = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    const sprite = I420Sprite.fromRgba(rgba, canvas.width, canvas.height);
    this.stats.convertMs += performance.now() - t0;
    return { sprite, dx, dy, bytes: sprite.bytes };
  }
}

import { createCanvas, type Canvas } from '@napi-rs/canvas';
import { boundsOf, decompose, type Affine } from './affine.js';
import { canvasSource, type SpriteRecipe, type SpriteSource } from './spriteSource.js';

/** A large sprite at one quantised rotation and scale: its geometry at once, its pixels when first drawn. */
export interface TransformedSprite extends SpriteSource {
  /** Where the source sprite's centre lands in `canvas`, in pixels. */
  readonly centreX: number;
  readonly centreY: number;
  /** The exact linear part it is drawn with. */
  readonly linear: readonly [number, number, number, number];
}

/** Entries kept at most, drawn or not. */
const MAX_ENTRIES = 2048;

export interface TransformCacheOptions {
  /** Angle step; at 0.1° a point 400 px from the sprite centre is off by at most 0.35 px. */
  readonly angleStepDeg?: number;
  readonly scaleStep?: number;
  readonly budgetBytes?: number;
}

/**
 * Rotating a large sprite costs ~15 ns a pixel in Skia, against ~1 ns for a plain blit; head roll and
 * body lean change slowly, so each big layer is drawn once per quantised (angle, scale) and then only
 * translated. An entry's pixels are drawn when first asked for (the compositor keeps converted copies
 * by key and asks only when it has none); least recently used drawn entries go first when the byte
 * budget is full.
 */
export class TransformCache {
  readonly #angleStep: number;
  readonly #scaleStep: number;
  readonly #budget: number;
  readonly #entries = new Map<string, LazyTransformed>();
  #bytes = 0;
  /** Rotations drawn (each costs ~15 ns a pixel). */
  misses = 0;

  constructor(options: TransformCacheOptions = {}) {
    this.#angleStep = ((options.angleStepDeg ?? 0.1) * Math.PI) / 180;
    this.#scaleStep = options.scaleStep ?? 0.004;
    // Drawn rotations are read once into the compositor's sprite bank, which keeps them by key: this
    // cache only needs the ones being converted and those another caller draws.
    this.#budget = options.budgetBytes ?? 32 * 1024 * 1024;
  }

  get bytes(): number {
    return this.#bytes;
  }

  #key(source: Canvas, m: Affine): string | null {
    const { angle, kx, ky } = decompose(m);
    const qa = Math.round(angle / this.#angleStep);
    const qx = Math.round((kx - 1) / this.#scaleStep);
    const qy = Math.round((ky - 1) / this.#scaleStep);
    if (qa === 0 && qx === 0 && qy === 0) return null;
    // Named after the source's own key, so keys never collide across avatars sharing a compositor.
    return `${canvasSource(source).key}:${qa}:${qx}:${qy}`;
  }

  /**
   * The sprite drawn under the quantised linear part of `m`, or null when that is the identity (the
   * source can be blitted as it is).
   */
  get(source: Canvas, m: Affine): TransformedSprite | null {
    const key = this.#key(source, m);
    if (key === null) return null;
    const found = this.#entries.get(key);
    if (found) {
      // Re-insert: Map order is the recency order.
      this.#entries.delete(key);
      this.#entries.set(key, found);
      return found;
    }
    const [, qa, qx, qy] = key.split(':').map(Number) as [number, number, number, number];
    const entry = new LazyTransformed(key, source, qa * this.#angleStep, 1 + qx * this.#scaleStep, 1 + qy * this.#scaleStep, (bytes) => this.#drawn(bytes));
    this.#entries.set(key, entry);
    // Undrawn entries are only geometry, but idle motion keeps visiting new ones: keep a bounded number.
    if (this.#entries.size > MAX_ENTRIES) {
      const [oldKey, old] = this.#entries.entries().next().value as [string, LazyTransformed];
      this.#entries.delete(oldKey);
      this.#bytes -= old.drawnBytes;
    }
    return entry;
  }

  /** An entry drew its pixels: count them, and let the oldest drawn entries go past the budget. */
  #drawn(bytes: number): void {
    this.misses++;
    this.#bytes += bytes;
    for (const [oldKey, old] of this.#entries) {
      if (this.#bytes <= this.#budget) break;
      this.#entries.delete(oldKey);
      this.#bytes -= old.drawnBytes;
    }
  }

  clear(): void {
    this.#entries.clear();
    this.#bytes = 0;
  }
}

class LazyTransformed implements TransformedSprite {
  readonly key: string;
  readonly width: number;
  readonly height: number;
  readonly centreX: number;
  readonly centreY: number;
  readonly linear: readonly [number, number, number, number];
  readonly #source: Canvas;
  readonly #ox: number;
  readonly #oy: number;
  readonly #onDrawn: (bytes: number) => void;
  #canvas: Canvas | null = null;
  #recipe: SpriteRecipe | null = null;

  constructor(key: string, source: Canvas, angle: number, kx: number, ky: number, onDrawn: (bytes: number) => void) {
    const cos = Math.cos(angle), sin = Math.sin(angle);
    this.key = key;
    this.linear = [kx * cos, kx * sin, -ky * sin, ky * cos];
    const box = boundsOf([...this.linear, 0, 0], source.width, source.height);
    this.#ox = Math.floor(box.minX) - 1;
    this.#oy = Math.floor(box.minY) - 1;
    this.width = Math.ceil(box.maxX) - this.#ox + 1;
    this.height = Math.ceil(box.maxY) - this.#oy + 1;
    const cx = source.width / 2, cy = source.height / 2;
    this.centreX = this.linear[0] * cx + this.linear[2] * cy - this.#ox;
    this.centreY = this.linear[1] * cx + this.linear[3] * cy - this.#oy;
    this.#source = source;
    this.#onDrawn = onDrawn;
  }

  get recipe(): SpriteRecipe {
    if (!this.#recipe) {
      const [a, b, c, d] = this.linear;
      this.#recipe = { base: canvasSource(this.#source), transform: [a, b, c, d, -this.#ox, -this.#oy], centreX: this.centreX, centreY: this.centreY };
    }
    return this.#recipe;
  }

  /** Bytes of drawn pixels held (0 until drawn). */
  get drawnBytes(): number {
    return this.#canvas ? this.width * this.height * 4 : 0;
  }

  get canvas(): Canvas {
    if (!this.#canvas) {
      const canvas = createCanvas(this.width, this.height);
      const ctx = canvas.getContext('2d');
      ctx.setTransform(...this.recipe.transform);
      ctx.drawImage(this.#source, 0, 0);
      this.#canvas = canvas;
      this.#onDrawn(this.drawnBytes);
    }
    return this.#canvas;
  }
}

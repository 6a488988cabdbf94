import { createCanvas } from '@napi-rs/canvas';
import { boundsOf, type Affine } from '../avatar/affine.js';
import type { SpriteSource } from '../avatar/spriteSource.js';
import { I420Sprite } from './i420Sprite.js';
import { OffTickSprites } from './offTickSprites.js';

/** A sprite ready to blend, and where its top-left pixel goes in the frame. */
export interface PlacedSprite {
  readonly sprite: I420Sprite;
  readonly x: number;
  readonly y: number;
}

/** What to draw while a sprite is made off the tick: its layer's newest sprite, moved so their centres meet. */
export interface StandIn {
  readonly source: SpriteSource;
  readonly dx: number;
  readonly dy: number;
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
  /** Milliseconds the caller's thread spent reading canvases back and converting them, since the last reset. */
  convertMs: number;
  /** Sprites made off the tick, and the milliseconds they took there. */
  offTick: number;
  offTickMs: number;
}

/** Sprites smaller than this are made on the tick: a face part costs well under a millisecond. */
const OFF_TICK_MIN_PIXELS = 40_000;

/**
 * The I420 sprites a frame is blended from, made from canvases the first time they are drawn:
 * a canvas placed at whole pixels is read back as it is; one under a rotation or scale (the face's
 * small parts) is first drawn by Skia at that linear part. Least recently used first out when the
 * byte budget is full. Sprites are known by their source's key, so a big layer's rotation whose
 * canvas the rotation cache has dropped is still found here and never drawn again.
 *
 * With `offTick`, a big layer at a rotation not seen yet is made in a worker thread (20-100 ms of Skia
 * and conversion that would hold a live tick, repeating frames); until it arrives, `standIn` names the
 * layer's newest sprite to draw instead, a fraction of a degree behind.
 */
export class SpriteBank {
  readonly #budgetBytes: number;
  readonly #entries = new Map<string, BankEntry>();
  #bytes = 0;
  readonly stats: SpriteBankStats = { hits: 0, misses: 0, convertMs: 0, offTick: 0, offTickMs: 0 };
  readonly #offTick: OffTickSprites | null;
  /** Sprites being made off the tick, by key. */
  readonly #making = new Map<string, SpriteSource>();
  /** Each big layer's newest made sprite (turned or not) and where the layer's centre is in it, by the layer's (base source's) key. */
  readonly #newestOfLayer = new Map<string, LayerSprite>();
  /** Sprites the worker could not make. */
  readonly #onTickOnly = new Set<string>();

  constructor(budgetBytes = 96 * 1024 * 1024, options: { readonly offTick?: boolean } = {}) {
    this.#budgetBytes = budgetBytes;
    this.#offTick = options.offTick
      ? new OffTickSprites({
          made: (key, sprite, ms) => {
            const source = this.#making.get(key);
            this.#making.delete(key);
            this.stats.offTick++;
            this.stats.offTickMs += ms;
            if (!source || this.#entries.has(key)) return;
            this.#add(key, { sprite, dx: 0, dy: 0, bytes: sprite.bytes });
            this.#noteNewest(source);
          },
          failed: (key) => {
            this.#making.delete(key);
            // Made on the tick next time it is drawn, as without a worker.
            if (this.#onTickOnly.size > 1024) this.#onTickOnly.clear();
            this.#onTickOnly.add(key);
          },
        })
      : null;
  }

  get bytes(): number {
    return this.#bytes;
  }

  /**
   * What to draw instead of `source` at the whole-pixel `transform` while it is made off the tick, or null
   * when it is to be drawn now: it is made already, it is small or not a turned layer, its layer has no
   * sprite yet (the first frame of a layer is never a stand-in), or the worker cannot take it.
   */
  standIn(source: SpriteSource, transform: Affine): StandIn | null {
    const recipe = source.recipe;
    if (!this.#offTick?.available || !recipe || this.#entries.has(source.key) || this.#onTickOnly.has(source.key)) return null;
    if (source.width * source.height < OFF_TICK_MIN_PIXELS || !isWholePixelShift(transform)) return null;
    const newest = this.#newestOfLayer.get(recipe.base.key);
    if (!newest || !this.#entries.has(newest.source.key)) return null;
    if (!this.#making.has(source.key)) {
      // A layer turning faster than the worker keeps up is drawn behind for a few frames, never held up.
      if (!this.#offTick.request(source, recipe)) return this.#offTick.available ? standInOf(newest, recipe.centreX, recipe.centreY) : null;
      this.#making.set(source.key, source);
    }
    return standInOf(newest, recipe.centreX, recipe.centreY);
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
      this.#add(key, entry);
      if (!transformed) this.#noteNewest(source);
      this.stats.misses++;
    }
    return { sprite: entry.sprite, x: Math.floor(e) + entry.dx, y: Math.floor(f) + entry.dy };
  }

  /** Stops the worker that makes sprites off the tick (if one started). */
  close(): void {
    this.#offTick?.close();
    this.#making.clear();
  }

  /** `source` (made, at whole pixels) is now its layer's newest sprite; a layer's unturned source counts too. */
  #noteNewest(source: SpriteSource): void {
    if (source.width * source.height < OFF_TICK_MIN_PIXELS) return;
    const { recipe } = source;
    if (recipe) this.#newestOfLayer.set(recipe.base.key, { source, centreX: recipe.centreX, centreY: recipe.centreY });
    else this.#newestOfLayer.set(source.key, { source, centreX: source.width / 2, centreY: source.height / 2 });
  }

  #add(key: string, entry: BankEntry): void {
    this.#entries.set(key, entry);
    this.#bytes += entry.bytes;
    for (const [oldKey, old] of this.#entries) {
      if (this.#bytes <= this.#budgetBytes || old === entry) break;
      this.#entries.delete(oldKey);
      this.#bytes -= old.bytes;
    }
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

const isWholePixelShift = (t: Affine) => t[0] === 1 && t[1] === 0 && t[2] === 0 && t[3] === 1 && Number.isInteger(t[4]) && Number.isInteger(t[5]);

interface LayerSprite {
  readonly source: SpriteSource;
  readonly centreX: number;
  readonly centreY: number;
}

/** `newest` placed so its layer's centre lands where the wanted sprite's would. */
function standInOf(newest: LayerSprite, centreX: number, centreY: number): StandIn {
  return { source: newest.source, dx: Math.round(centreX - newest.centreX), dy: Math.round(centreY - newest.centreY) };
}

import type { Canvas } from '@napi-rs/canvas';
import type { Affine } from './affine.js';

/**
 * Pixels to draw, named by a key: equal keys are equal pixels, so a frame that draws the same keys at
 * the same places as the last one has nothing to redraw, and converted copies (pipeline/compose's
 * SpriteBank) can be found again even after the canvas itself was dropped. `canvas` may be drawn on
 * first access (a big layer at a new rotation).
 */
export interface SpriteSource {
  readonly key: string;
  readonly width: number;
  readonly height: number;
  readonly canvas: Canvas;
  /** How `canvas` is drawn from another source, when it is (a big layer at one rotation): it can then be drawn elsewhere (off the tick). */
  readonly recipe?: SpriteRecipe;
}

/** A sprite drawn from a base source under a linear transform: one layer at one of its rotations. */
export interface SpriteRecipe {
  /** The unturned layer; its key names the layer across all its rotations. */
  readonly base: SpriteSource;
  /** Base pixels to this sprite's pixels. */
  readonly transform: Affine;
  /** Where the base's centre lands in this sprite, in pixels (sprites of one layer are placed by it). */
  readonly centreX: number;
  readonly centreY: number;
}

const sources = new WeakMap<Canvas, SpriteSource>();
let nextId = 0;

/** The source for a canvas drawn once and never changed (a part's raster, an overlay). */
export function canvasSource(canvas: Canvas): SpriteSource {
  let source = sources.get(canvas);
  if (!source) {
    source = { key: `c${nextId++}`, width: canvas.width, height: canvas.height, canvas };
    sources.set(canvas, source);
  }
  return source;
}

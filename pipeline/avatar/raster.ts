import { createCanvas, loadImage, type Canvas } from '@napi-rs/canvas';
import type { AvatarDefinition, ResolvedLayer } from './loader.js';
import { AvatarError } from './loader.js';
import type { LayerSpec, MouthShape } from './format.js';

/** A part rasterised once at the output scale, trimmed to its visible pixels. */
export interface Sprite {
  readonly canvas: Canvas;
  /** Top-left corner in design units. */
  readonly x: number;
  readonly y: number;
  /** Size in design units. */
  readonly width: number;
  readonly height: number;
}

export interface RasterLayer {
  readonly spec: LayerSpec;
  readonly sprite: Sprite | null;
  readonly closed: Sprite | null;
  readonly mouth: readonly { readonly shape: MouthShape; readonly sprite: Sprite }[];
}

export interface RasterAvatar {
  readonly definition: AvatarDefinition;
  /** Pixels per design unit the sprites were made for. */
  readonly scale: number;
  readonly layers: readonly RasterLayer[];
}

type Rect = readonly [number, number, number, number];

async function rasterize(svgBody: string, area: Rect, scale: number, what: string): Promise<Sprite | null> {
  const [ax, ay, aw, ah] = area;
  const pw = Math.max(1, Math.ceil(aw * scale));
  const ph = Math.max(1, Math.ceil(ah * scale));
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="${ax} ${ay} ${aw} ${ah}" width="${pw}" height="${ph}">${svgBody}</svg>`;
  let image;
  try {
    image = await loadImage(Buffer.from(svg));
  } catch (err) {
    throw new AvatarError(`avatar part ${what} is not a drawable SVG: ${(err as Error).message}`);
  }
  const full = createCanvas(pw, ph);
  full.getContext('2d').drawImage(image, 0, 0, pw, ph);
  // Trim to the opaque box: large transparent margins would cost a transformed blit every frame.
  const pixels = full.data();
  let minX = pw, minY = ph, maxX = -1, maxY = -1;
  for (let y = 0; y < ph; y++) {
    const row = y * pw * 4;
    for (let x = 0; x < pw; x++) {
      if (pixels[row + x * 4 + 3] !== 0) {
        if (x < minX) minX = x;
        if (x > maxX) maxX = x;
        if (y < minY) minY = y;
        maxY = y;
      }
    }
  }
  if (maxX < 0) return null;
  minX = Math.max(0, minX - 1);
  minY = Math.max(0, minY - 1);
  maxX = Math.min(pw - 1, maxX + 1);
  maxY = Math.min(ph - 1, maxY + 1);
  const w = maxX - minX + 1;
  const h = maxY - minY + 1;
  const trimmed = createCanvas(w, h);
  trimmed.getContext('2d').drawImage(full, minX, minY, w, h, 0, 0, w, h);
  return { canvas: trimmed, x: ax + minX / scale, y: ay + minY / scale, width: w / scale, height: h / scale };
}

/** Layers that never move relative to each other can share one sprite. */
function isStatic(spec: LayerSpec): boolean {
  return !spec.eyelid && !spec.gaze && spec.browRise === undefined && !spec.mouth && !spec.clip;
}

/**
 * Turns an avatar into sprites at `scale` pixels per design unit. Neighbouring static layers on the
 * same bone and depth are baked into one sprite, so a frame draws a handful of blits, not dozens.
 */
export async function rasterizeAvatar(definition: AvatarDefinition, scale: number): Promise<RasterAvatar> {
  const [vw, vh] = definition.manifest.viewBox;
  const whole: Rect = [0, 0, vw, vh];
  const groups: ResolvedLayer[][] = [];
  for (const layer of definition.layers) {
    const last = groups.at(-1);
    const prev = last?.at(-1);
    if (last && prev && isStatic(prev.spec) && isStatic(layer.spec) && prev.spec.bone === layer.spec.bone && prev.spec.depth === layer.spec.depth) {
      last.push(layer);
    } else {
      groups.push([layer]);
    }
  }
  const out: RasterLayer[] = [];
  for (const group of groups) {
    const first = group[0] as ResolvedLayer;
    const spec = group.length === 1 ? first.spec : { ...first.spec, id: group.map((l) => l.spec.id).join('+') };
    const area = spec.clip ?? whole;
    if (first.mouthShapes) {
      const mouth = [];
      for (const { shape, svg } of first.mouthShapes) {
        const sprite = await rasterize(svg, area, scale, shape.src);
        if (sprite) mouth.push({ shape, sprite });
      }
      if (mouth.length === 0) throw new AvatarError(`avatar mouth layer "${spec.id}" draws nothing`);
      out.push({ spec, sprite: null, closed: null, mouth });
      continue;
    }
    const sprite = await rasterize(group.map((l) => l.svg).join(''), area, scale, spec.id);
    const closed = first.closedSvg ? await rasterize(first.closedSvg, area, scale, `${spec.id} (closed)`) : null;
    out.push({ spec, sprite, closed, mouth: [] });
  }
  return { definition, scale, layers: out };
}

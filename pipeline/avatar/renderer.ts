import type { Canvas, SKRSContext2D } from '@napi-rs/canvas';
import type { AvatarPlacement, AvatarPort, DrawItem } from './avatarPort.js';
import { apply, boundsOf, IDENTITY, rotate, scale, translate, type Affine } from './affine.js';
import type { MouthShape } from './format.js';
import type { RasterAvatar, RasterLayer, Sprite } from './raster.js';
import type { RigPose } from './rig.js';
import { canvasSource, type SpriteSource } from './spriteSource.js';
import { TransformCache, type TransformCacheOptions } from './transformCache.js';

const YAW_RANGE_DEG = 30;
const PITCH_RANGE_DEG = 20;
const DEG = Math.PI / 180;
/** Design units the chest rises at a full breath (about 3 px at 720x1280). */
const BREATH_LIFT = 1.2;
/** Sprites above this many pixels are worth caching per rotation. */
const CACHE_MIN_PIXELS = 16_000;


/** Nearest mouth shape in (open, form, round) space; openness matters most. */
export function pickMouthShape<T extends { readonly shape: MouthShape }>(shapes: readonly T[], open: number, form: number, round: number): T {
  let best = shapes[0] as T;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of shapes) {
    const { shape } = candidate;
    const d = 2.2 * (shape.open - open) ** 2 + 0.6 * (shape.form - form) ** 2 + 1.2 * (shape.round - round) ** 2;
    if (d < bestDistance) {
      bestDistance = d;
      best = candidate;
    }
  }
  return best;
}

/** A layer's exact transform this frame, before snapping. */
interface LayerPlacement {
  readonly id: string;
  readonly canvas: Canvas;
  readonly transform: Affine;
  /** Big plain layers go through the rotation cache; small ones are drawn transformed directly. */
  readonly cached: boolean;
  /** The bone's pivot in whole pixels (x, y) and the shift that put it there (dx, dy). */
  readonly snap: readonly [number, number, number, number];
}

/** Where a bone's pivot lands, rounded to whole pixels, and by how much rounding moved it. */
function boneSnap(bone: Affine, px: number, py: number): [number, number, number, number] {
  const [x, y] = apply(bone, px, py);
  const sx = Math.round(x), sy = Math.round(y);
  return [sx, sy, sx - x, sy - y];
}

/**
 * A small layer's transform, settled so that it only changes when the drawn sprite would: its linear
 * part in steps that move its farthest pixel by at most half a pixel, its offset in whole pixels
 * (with the bone's snap, like the big layers). Idle motion drifts slowly: unsettled, the face's small
 * parts changed every frame and the frame was redrawn around them every frame.
 */
function settled(m: Affine, snap: readonly [number, number, number, number], extentPx: number): Affine {
  const step = 0.5 / Math.max(1, extentPx);
  const q = (v: number) => Math.round(v / step) * step;
  return [q(m[0]), q(m[1]), q(m[2]), q(m[3]), Math.round(m[4] + snap[2]), Math.round(m[5] + snap[3])];
}

/**
 * How far a turn goes past idle drift (|n| up to 0.25 of the range), for the head's narrowing: idle
 * sways are too small for it to show, and without it they revisit far fewer cached head rotations.
 */
function beyondIdle(n: number): number {
  return Math.max(0, Math.abs(n) - 0.25) / 0.75;
}

function spriteTransform(m: Affine, sprite: Sprite, pxPerUnit: number): Affine {
  return scale(translate(m, sprite.x, sprite.y), 1 / pxPerUnit, 1 / pxPerUnit);
}

/**
 * Draws a rasterised avatar for one rig pose: the body bone turns about the hips (lean) and rises with
 * breathing, the head bone turns about the neck (roll), and head layers slide with yaw/pitch by their
 * depth, which gives a 2.5D turn without a 3D model. Big layers are drawn from a rotation cache, so a
 * frame costs a few blits instead of several full resamplings.
 */
export class AvatarRenderer implements AvatarPort {
  readonly kind = 'sprites' as const;
  readonly avatar: RasterAvatar;
  readonly cache: TransformCache;

  get id(): string {
    return this.avatar.definition.manifest.id;
  }

  get cacheBytes(): number {
    return this.cache.bytes;
  }

  constructor(avatar: RasterAvatar, cacheOptions?: TransformCacheOptions) {
    this.avatar = avatar;
    this.cache = new TransformCache(cacheOptions);
  }

  /**
   * The sprites of one pose, back to front. Each bone snaps to whole pixels (all its layers by the
   * same amount, so they never drift apart) and big layers come from the rotation cache at integer
   * offsets: an unchanged layer then compares equal from frame to frame and costs nothing to redraw.
   */
  frame(pose: RigPose, placement: AvatarPlacement): DrawItem[] {
    const items: DrawItem[] = [];
    for (const layer of this.#layout(pose, placement)) {
      const { canvas, transform: m, snap } = layer;
      let source: SpriteSource = canvasSource(canvas), t: Affine;
      if (layer.cached) {
        const turned = this.cache.get(canvas, m);
        // Anchor the sprite's centre; the quantised rotation only moves pixels far from it by a fraction.
        const [cx, cy] = apply(m, canvas.width / 2, canvas.height / 2);
        const ox = turned ? turned.centreX : canvas.width / 2;
        const oy = turned ? turned.centreY : canvas.height / 2;
        if (turned) source = turned;
        // Offset from the bone's exact pivot, rounded on its own: it only changes when the layer itself moves.
        t = [1, 0, 0, 1, snap[0] + Math.round(cx - ox - (snap[0] - snap[2])), snap[1] + Math.round(cy - oy - (snap[1] - snap[3]))];
      } else {
        t = settled(m, snap, Math.max(canvas.width, canvas.height));
      }
      const b = boundsOf(t, source.width, source.height);
      items.push({ layer: layer.id, source, transform: t, bounds: [Math.floor(b.minX) - 1, Math.floor(b.minY) - 1, Math.ceil(b.maxX) + 1, Math.ceil(b.maxY) + 1] });
    }
    return items;
  }

  /** Draws one pose (for callers that do not track what changed). */
  draw(ctx: SKRSContext2D, pose: RigPose, placement: AvatarPlacement): void {
    AvatarRenderer.drawItems(ctx, this.frame(pose, placement));
  }

  /** Draws items with the frame shifted by (-dx, -dy). */
  static drawItems(ctx: SKRSContext2D, items: readonly DrawItem[], dx = 0, dy = 0): void {
    for (const { source, transform: t } of items) {
      ctx.setTransform(t[0], t[1], t[2], t[3], t[4] - dx, t[5] - dy);
      ctx.drawImage(source.canvas, 0, 0);
    }
    ctx.setTransform(1, 0, 0, 1, 0, 0);
  }

  #layout(pose: RigPose, placement: AvatarPlacement): LayerPlacement[] {
    const { manifest } = this.avatar.definition;
    const [hx, hy] = manifest.pivots.hips;
    const [nx, ny] = manifest.pivots.neck;
    const yawN = pose.headYawDeg / YAW_RANGE_DEG;
    const pitchN = pose.headPitchDeg / PITCH_RANGE_DEG;
    const s = this.avatar.scale;
    let body = scale(translate(IDENTITY, placement.x, placement.y), s, s);
    body = translate(rotate(body, pose.bodyLeanDeg * DEG), 0, -BREATH_LIFT * pose.breath);
    body = translate(body, -hx, -hy);
    // Head bone: roll about the neck; a turn shifts and narrows the head slightly.
    let head = translate(body, nx + yawN * 3, ny + pitchN * 2 - pose.breath * 0.8);
    head = scale(rotate(head, pose.headRollDeg * DEG), 1 - 0.035 * beyondIdle(yawN), 1 - 0.02 * beyondIdle(pitchN));
    head = translate(head, -nx, -ny);
    const snaps = { body: boneSnap(body, hx, hy), head: boneSnap(head, nx, ny) };
    const items: LayerPlacement[] = [];
    for (const layer of this.avatar.layers) {
      const item = this.#layerItem(layer, layer.spec.bone === 'head' ? head : body, pose, yawN, pitchN);
      if (item) items.push({ ...item, id: layer.spec.id, snap: snaps[layer.spec.bone] });
    }
    return items;
  }

  #layerItem(layer: RasterLayer, bone: Affine, pose: RigPose, yawN: number, pitchN: number): Omit<LayerPlacement, 'snap' | 'id'> | null {
    const { spec } = layer;
    const s = this.avatar.scale;
    const { parallax } = this.avatar.definition.manifest;
    let dx = spec.bone === 'head' ? spec.depth * yawN * parallax.yaw : 0;
    let dy = spec.bone === 'head' ? spec.depth * pitchN * parallax.pitch : 0;
    if (spec.gaze) {
      dx += pose.gazeX * spec.gaze[0];
      dy += pose.gazeY * spec.gaze[1];
    }
    if (spec.browRise !== undefined) {
      // Brows dip a little as the eyes close, as real brows do in a blink.
      const blink = 1 - Math.min(pose.eyeOpenL, pose.eyeOpenR);
      dy += -pose.browRaise * spec.browRise + blink * spec.browRise * 0.15;
    }
    const m = translate(bone, dx, dy);
    if (layer.mouth.length > 0) {
      const choice = pickMouthShape(layer.mouth, pose.mouthOpen, pose.mouthForm, pose.mouthRound);
      const sprite = choice.sprite;
      // Between shapes, stretch the chosen one toward the wanted openness so the mouth moves smoothly.
      const stretch = Math.min(1.35, Math.max(0.75, 1 + (pose.mouthOpen - choice.shape.open) * 0.9));
      const cy = sprite.y + sprite.height * 0.35;
      const stretched = translate(scale(translate(m, 0, cy), 1, stretch), 0, -cy);
      return { canvas: sprite.canvas, transform: spriteTransform(stretched, sprite, s), cached: false };
    }
    if (spec.eyelid) {
      const open = spec.eyelid.side === 'L' ? pose.eyeOpenL : pose.eyeOpenR;
      if (open < 0.2 && layer.closed) return { canvas: layer.closed.canvas, transform: spriteTransform(m, layer.closed, s), cached: false };
      if (!layer.sprite) return null;
      const pivotY = spec.eyelid.pivotY;
      const lidded = translate(scale(translate(m, 0, pivotY), 1, Math.max(0.12, open)), 0, -pivotY);
      return { canvas: layer.sprite.canvas, transform: spriteTransform(lidded, layer.sprite, s), cached: false };
    }
    if (!layer.sprite) return null;
    const { canvas } = layer.sprite;
    return { canvas, transform: spriteTransform(m, layer.sprite, s), cached: canvas.width * canvas.height >= CACHE_MIN_PIXELS };
  }
}

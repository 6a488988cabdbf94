import { createCanvas, type SKRSContext2D } from '@napi-rs/canvas';
import { AvatarRenderer, type AvatarPlacement, type DrawItem } from '../avatar/renderer.js';
import type { RigPose } from '../avatar/rig.js';
import { alignRect, I420Layout, rgbaToI420, type Rect } from './i420.js';
import { PicturePool, type Picture } from './picturePool.js';
import type { PreparedScene } from './scene.js';

/** Timings of one composed frame, in milliseconds. */
export interface ComposeTimings {
  /** Drawing the changed area (Skia rasterises when the pixels are read). */
  render: number;
  /** Colour conversion of the changed area and the copy into a pooled picture. */
  convert: number;
  /** Pixels redrawn this frame. */
  damagedPixels: number;
}

type Bounds = readonly [number, number, number, number];

/**
 * Builds each frame's picture by redrawing only what changed since the previous frame (the damage):
 * the sprites whose source or position differ, over the scene, clipped to their old and new bounds.
 * An idle avatar changes a few small areas most frames (eyes, mouth); a frame with no change at all
 * reuses the last picture. The latest picture is kept in I420 and copied into pooled buffers.
 */
export class FrameCompositor {
  readonly layout: I420Layout;
  readonly #pool: PicturePool;
  /** Drawing surfaces by size, most recently used last. */
  readonly #scratches = new Map<string, SKRSContext2D>();
  readonly #current: Buffer;
  #scene: PreparedScene;
  #avatar: AvatarRenderer;
  #placement: AvatarPlacement;
  #previous: DrawItem[] | null = null;
  /** Scene area to redraw on the next frame (a caption change), besides what the avatar damaged. */
  #sceneDamage: Rect | null = null;
  #last: Picture | null = null;

  constructor(width: number, height: number, scene: PreparedScene, avatar: AvatarRenderer, placement: AvatarPlacement) {
    this.layout = new I420Layout(width, height);
    this.#pool = new PicturePool(this.layout);
    this.#current = Buffer.alloc(this.layout.byteLength);
    this.#scene = scene;
    this.#avatar = avatar;
    this.#placement = placement;
  }

  get avatar(): AvatarRenderer {
    return this.#avatar;
  }

  /**
   * Shows another scene from the next frame. When only overlays changed (same backplate), only the old and
   * new overlay areas are redrawn: a caption per spoken sentence must not cost a whole frame.
   */
  setScene(scene: PreparedScene): void {
    const previous = this.#scene;
    this.#scene = scene;
    if (scene.backplate !== previous.backplate) {
      this.#previous = null;
      return;
    }
    for (const [before, after] of [[previous.productCard, scene.productCard], [previous.caption, scene.caption]] as const) {
      if (before === after) continue;
      for (const o of [before, after]) {
        if (o) this.#sceneDamage = union(this.#sceneDamage, { x: o.x, y: o.y, width: o.canvas.width, height: o.canvas.height });
      }
    }
  }

  setAvatar(avatar: AvatarRenderer, placement: AvatarPlacement): void {
    this.#avatar = avatar;
    this.#placement = placement;
    this.#previous = null;
  }

  /** Draws one frame for `pose`; the caller owns one reference to the returned picture. */
  compose(pose: RigPose, timings?: ComposeTimings): Picture {
    const t0 = performance.now();
    const items = this.#avatar.frame(pose, this.#placement);
    // A background video changes the whole backplate each frame: the whole frame is redrawn.
    if (this.#scene.advanceVideo()) this.#previous = null;
    const { width, height } = this.layout;
    const damage = this.#previous ? alignRect(union(damageOf(this.#previous, items), this.#sceneDamage), width, height) : { x: 0, y: 0, width, height };
    this.#previous = items;
    this.#sceneDamage = null;
    if (this.#last && (damage.width === 0 || damage.height === 0)) {
      if (timings) Object.assign(timings, { render: performance.now() - t0, convert: 0, damagedPixels: 0 });
      return this.#last.retain();
    }
    const rgba = this.#draw(items, damage);
    const t1 = performance.now();
    rgbaToI420(rgba, damage.width, 0, 0, this.#current, this.layout, damage);
    const picture = this.#pool.acquire();
    picture.data.set(this.#current);
    this.#last?.release();
    this.#last = picture.retain();
    if (timings) Object.assign(timings, { render: t1 - t0, convert: performance.now() - t1, damagedPixels: damage.width * damage.height });
    return picture;
  }

  /** Another reference to the last picture made (for a tick that repeats it), or null before the first. */
  repeatLast(): Picture | null {
    return this.#last?.retain() ?? null;
  }

  /** Releases the picture kept for unchanged frames. */
  close(): void {
    this.#last?.release();
    this.#last = null;
  }

  /**
   * Redraws the scene, the avatar and the overlays inside `area` and reads those pixels back. It draws
   * on a canvas the size of the area (shifted), not on a frame-sized one: Skia's per-draw and read-back
   * costs grow with the target canvas, ~10x for a mouth-sized area.
   */
  #draw(items: readonly DrawItem[], area: Rect): Uint8ClampedArray {
    const ctx = this.#scratch(area.width, area.height);
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.drawImage(this.#scene.backplate, -area.x, -area.y);
    AvatarRenderer.drawItems(ctx, items.filter((item) => intersects(item.bounds, area)), area.x, area.y);
    for (const overlay of this.#scene.overlays) ctx.drawImage(overlay.canvas, overlay.x - area.x, overlay.y - area.y);
    return ctx.getImageData(0, 0, area.width, area.height).data;
  }

  /** A drawing surface at least w x h, from a few kept sizes (rounded up to 64 px). */
  #scratch(width: number, height: number): SKRSContext2D {
    const w = Math.ceil(width / 64) * 64, h = Math.ceil(height / 64) * 64;
    const key = `${w}x${h}`;
    let ctx = this.#scratches.get(key);
    if (ctx) {
      this.#scratches.delete(key);
    } else {
      ctx = createCanvas(w, h).getContext('2d');
      if (this.#scratches.size >= 8) this.#scratches.delete(this.#scratches.keys().next().value as string);
    }
    this.#scratches.set(key, ctx);
    return ctx;
  }
}

function union(a: Rect | null, b: Rect | null): Rect {
  if (!a || a.width <= 0 || a.height <= 0) return b ?? { x: 0, y: 0, width: 0, height: 0 };
  if (!b || b.width <= 0 || b.height <= 0) return a;
  const x = Math.min(a.x, b.x), y = Math.min(a.y, b.y);
  return { x, y, width: Math.max(a.x + a.width, b.x + b.width) - x, height: Math.max(a.y + a.height, b.y + b.height) - y };
}

function intersects(b: Bounds, r: Rect): boolean {
  return b[0] < r.x + r.width && b[2] > r.x && b[1] < r.y + r.height && b[3] > r.y;
}

function sameItem(a: DrawItem, b: DrawItem): boolean {
  if (a.source !== b.source) return false;
  for (let i = 0; i < 6; i++) if (a.transform[i] !== b.transform[i]) return false;
  return true;
}

/** The union of the old and new bounds of every sprite that changed (an empty rect when none did). */
function damageOf(previous: readonly DrawItem[], items: readonly DrawItem[]): Rect {
  let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
  const grow = (b: Bounds) => {
    x0 = Math.min(x0, b[0]);
    y0 = Math.min(y0, b[1]);
    x1 = Math.max(x1, b[2]);
    y1 = Math.max(y1, b[3]);
  };
  const n = Math.max(previous.length, items.length);
  for (let i = 0; i < n; i++) {
    const a = previous[i], b = items[i];
    if (a && b && sameItem(a, b)) continue;
    if (a) grow(a.bounds);
    if (b) grow(b.bounds);
  }
  return x1 > x0 ? { x: x0, y: y0, width: x1 - x0, height: y1 - y0 } : { x: 0, y: 0, width: 0, height: 0 };
}

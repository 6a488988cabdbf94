import { createCanvas, type Canvas } from '@napi-rs/canvas';
import { CAPTION_FONT_FAMILY, ensureCaptionFont } from './fonts.js';
import type { AvatarPlacement, ChannelAvatar, DrawItem, FrameAvatarPort, MouthAhead } from '../avatar/avatarPort.js';
import type { RigPose } from '../avatar/rig.js';
import { canvasSource } from '../avatar/spriteSource.js';
import { alignRect, copyI420Rect, I420Layout, rgbaToI420, type Rect } from './i420.js';
import { PicturePool, type Picture } from './picturePool.js';
import type { PreparedScene } from './scene.js';
import type { DrawingCache } from './drawingCache.js';
import { SpriteBank } from './spriteBank.js';

/** Timings of one composed frame, in milliseconds. */
export interface ComposeTimings {
  /** Blending the changed area in I420 (sprites already converted). */
  render: number;
  /** Reading canvases back and converting them to I420: new sprites, a new backplate or video frame. */
  convert: number;
  /** Pixels redrawn this frame. */
  damagedPixels: number;
}

type Bounds = readonly [number, number, number, number];

/** Frames of a background video: the next decoded one (RGBA, frame-sized) when one is due, else null. */
export interface VideoFeed {
  next(): Uint8Array | null;
  /** Whether a decoded frame is waiting. */
  readonly hasFrame: boolean;
}

const SPRITE_BYTES_PER_FRAME_PIXEL = 200;
const NO_MOUTH_AHEAD: readonly MouthAhead[] = [];

/**
 * Builds each frame's picture by redrawing only what changed since the previous frame (the damage):
 * the sprites whose source or position differ, over the scene, clipped to their old and new bounds.
 * Drawing happens in I420: the backplate is converted when its scene is prepared (a video, per frame), each sprite
 * once when first drawn (SpriteBank), and a frame is the backplate's rect copied and the sprites
 * blended over it. An idle avatar changes a few small areas most frames (eyes, mouth); a frame with
 * no change at all reuses the last picture. The latest picture is kept and copied into pooled buffers.
 */
export class FrameCompositor {
  readonly layout: I420Layout;
  readonly #pool: PicturePool;
  readonly #bank: SpriteBank;
  readonly #current: Buffer;
  /** The backplate in I420 that frames are drawn over (the scene's, or #videoPlate), and the canvas it shows. */
  #plate: Uint8Array;
  #plateOf: Canvas | null = null;
  /** A background video's latest frame in I420 (allocated with the first). */
  #videoPlate: Uint8Array | null = null;
  #video: VideoFeed | null = null;
  #scene: PreparedScene;
  #avatar: ChannelAvatar;
  #placement: AvatarPlacement;
  #previous: DrawItem[] | null = null;
  /** Scene area to redraw on the next frame (a caption change), besides what the avatar damaged. */
  #sceneDamage: Rect | null = null;
  #last: Picture | null = null;
  #away: Picture | null = null;

  /**
   * `offTickSprites`: big layers at new rotations are made in a worker thread while the frame shows their
   * newest sprite (live channels: a tick must never wait); without it every sprite is made when first drawn
   * (an export, which must draw exactly the pose it is given).
   */
  constructor(width: number, height: number, scene: PreparedScene, avatar: ChannelAvatar, placement: AvatarPlacement, options: { readonly offTickSprites?: boolean; readonly drawings?: DrawingCache } = {}) {
    this.layout = new I420Layout(width, height);
    this.#pool = new PicturePool(this.layout);
    this.#current = Buffer.alloc(this.layout.byteLength);
    this.#plate = scene.plate;
    // Room for the avatar's big layers at the rotations minutes of idle motion visit (~1 MB each at
    // 720x1280, packed), the face's parts and the overlays.
    const bank = () => new SpriteBank(width * height * SPRITE_BYTES_PER_FRAME_PIXEL, { offTick: options.offTickSprites ?? false });
    // Shared sprites (exports) are made on the tick: a render draws exactly the pose it is given.
    this.#bank = options.drawings && !options.offTickSprites ? options.drawings.bank(width, height, bank) : bank();
    this.#scene = scene;
    this.#avatar = avatar;
    this.#placement = placement;
  }

  get avatar(): ChannelAvatar {
    return this.#avatar;
  }

  /**
   * Whether every picture the next frame draws from is decoded: a clone's loop frame, a background
   * video's. Off the wall clock the tick waits for this, so an export draws every frame from its own picture.
   */
  get inputsReady(): boolean {
    if (this.#avatar.kind === 'frame' && !this.#avatar.pictureReady) return false;
    const videoShown = this.#scene.videoSource !== null && (this.#avatar.kind === 'sprites' || this.#avatar.cutout);
    return !videoShown || !this.#video || this.#video.hasFrame;
  }

  /** Bytes held by converted sprites. */
  get spriteBytes(): number {
    return this.#bank.bytes;
  }

  /** Milliseconds the sprite worker has spent making sprites for this compositor. */
  get spriteWorkerMs(): number {
    return this.#bank.stats.offTickMs;
  }

  /** Bytes of pixels kept ready to draw: the avatar's and the converted sprites. */
  get cacheBytes(): number {
    return this.#avatar.cacheBytes + this.#bank.bytes;
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
    for (const [before, after] of [[previous.productCard, scene.productCard], [previous.caption, scene.caption], [previous.aiLabel, scene.aiLabel]] as const) {
      if (before === after) continue;
      for (const o of [before, after]) {
        if (o) this.#sceneDamage = union(this.#sceneDamage, { x: o.x, y: o.y, width: o.canvas.width, height: o.canvas.height });
      }
    }
  }

  /** The background video drawn into the backplate from the next frame on, or none. */
  setVideo(video: VideoFeed | null): void {
    this.#video = video;
  }

  setAvatar(avatar: ChannelAvatar, placement: AvatarPlacement): void {
    this.#avatar = avatar;
    this.#placement = placement;
    this.#previous = null;
  }

  /** Draws one frame for `pose` (`mouthAhead`: the mouth's next frames, when known); the caller owns one reference to the returned picture. */
  compose(pose: RigPose, timings?: ComposeTimings, mouthAhead: readonly MouthAhead[] = NO_MOUTH_AHEAD): Picture {
    if (this.#avatar.kind === 'frame') return this.#composeWhole(this.#avatar, pose, mouthAhead, timings);
    const t0 = performance.now();
    const convertBefore = this.#bank.stats.convertMs;
    const items = this.#withStandIns(this.#avatar.frame(pose, this.#placement));
    // A background video changes the whole backplate each frame: the whole frame is redrawn. Another
    // scene's plate was converted when the scene was prepared.
    const plateMs = this.#refreshPlate();
    const { width, height } = this.layout;
    const damage = this.#previous ? alignRect(union(damageOf(this.#previous, items), this.#sceneDamage), width, height) : { x: 0, y: 0, width, height };
    this.#previous = items;
    this.#sceneDamage = null;
    if (this.#last && (damage.width === 0 || damage.height === 0)) {
      if (timings) Object.assign(timings, { render: performance.now() - t0 - plateMs, convert: plateMs, damagedPixels: 0 });
      return this.#last.retain();
    }
    copyI420Rect(this.#plate, this.#current, this.layout, damage);
    for (const item of items) {
      if (!intersects(item.bounds, damage)) continue;
      const placed = this.#bank.place(item.source, item.transform);
      placed.sprite.drawInto(this.#current, this.layout, placed.x, placed.y, damage);
    }
    return this.#finish(damage, timings, t0, convertBefore, plateMs);
  }

  /** `items` with each big layer whose sprite is still being made replaced by its stand-in (usually none). */
  #withStandIns(items: DrawItem[]): DrawItem[] {
    for (let i = 0; i < items.length; i++) {
      const item = items[i] as DrawItem;
      const standIn = this.#bank.standIn(item.source, item.transform);
      if (!standIn) continue;
      const { source } = standIn;
      const x = item.transform[4] + standIn.dx, y = item.transform[5] + standIn.dy;
      items[i] = { layer: item.layer, source, transform: [1, 0, 0, 1, x, y], bounds: [x - 1, y - 1, x + source.width + 1, y + source.height + 1] };
    }
    return items;
  }

  /**
   * The backplate for this frame: a background video's next frame converted (its milliseconds returned),
   * or the scene's plate when the scene changed. Either change redraws the whole next frame.
   */
  #refreshPlate(): number {
    const videoFrame = this.#scene.videoSource ? this.#video?.next() : null;
    if (videoFrame) {
      this.#scene.drawVideoFrame(videoFrame);
      this.#previous = null;
      return this.#convertVideoPlate();
    }
    if (this.#plateOf !== this.#scene.backplate) {
      this.#plate = this.#scene.plate;
      this.#plateOf = this.#scene.backplate;
      this.#previous = null;
    }
    return 0;
  }

  /**
   * A frame drawn whole by the avatar (a clone: in its own room, or cut out over the scene's backplate),
   * with the scene's overlays on top.
   */
  #composeWhole(avatar: FrameAvatarPort, pose: RigPose, mouthAhead: readonly MouthAhead[], timings?: ComposeTimings): Picture {
    const t0 = performance.now();
    const convertBefore = this.#bank.stats.convertMs;
    const { width, height } = this.layout;
    let plateMs = 0;
    if (avatar.cutout) {
      plateMs = this.#refreshPlate();
      this.#current.set(this.#plate);
    }
    avatar.drawFrame(pose, this.#current, this.layout, mouthAhead, this.#placement);
    // A drawn avatar shown next starts from a whole frame.
    this.#previous = null;
    return this.#finish({ x: 0, y: 0, width, height }, timings, t0, convertBefore, plateMs);
  }

  /**
   * The end of every drawn frame: the scene's overlays over `damage`, the frame copied into a pooled
   * picture kept as the last one, and the timings: conversion is the sprite bank's since `convertBefore`
   * (overlays' included) plus `plateMs` (a video frame's backplate).
   */
  #finish(damage: Rect, timings: ComposeTimings | undefined, t0: number, convertBefore: number, plateMs: number): Picture {
    for (const overlay of this.#scene.overlays) {
      const placed = this.#bank.place(canvasSource(overlay.canvas), [1, 0, 0, 1, overlay.x, overlay.y]);
      placed.sprite.drawInto(this.#current, this.layout, placed.x, placed.y, damage);
    }
    const picture = this.#pool.acquire();
    picture.data.set(this.#current);
    this.#last?.release();
    this.#last = picture.retain();
    if (timings) {
      const convert = plateMs + this.#bank.stats.convertMs - convertBefore;
      Object.assign(timings, { render: performance.now() - t0 - convert, convert, damagedPixels: damage.width * damage.height });
    }
    return picture;
  }

  /**
   * Shows `text` on a plain card instead of the avatar and scene from the next frame (the host is away), with
   * the AI label still in its corner; null goes back to the scene. The card is drawn and converted once.
   */
  setAwayCard(text: string | null): void {
    this.#away?.release();
    this.#away = null;
    this.#previous = null;
    if (text === null) return;
    const { width, height } = this.layout;
    const canvas = createCanvas(width, height);
    const ctx = canvas.getContext('2d');
    const gradient = ctx.createLinearGradient(0, 0, 0, height);
    gradient.addColorStop(0, '#1b1f2e');
    gradient.addColorStop(1, '#0b0d14');
    ctx.fillStyle = gradient;
    ctx.fillRect(0, 0, width, height);
    ensureCaptionFont();
    const size = Math.round(Math.min(width, height) / 16);
    ctx.font = `${size}px ${CAPTION_FONT_FAMILY}, sans-serif`;
    ctx.fillStyle = '#ffffff';
    ctx.textAlign = 'center';
    ctx.textBaseline = 'middle';
    ctx.fillText(text, width / 2, height / 2, width * 0.9);
    const label = this.#scene.aiLabel;
    if (label) ctx.drawImage(label.canvas, label.x, label.y);
    const picture = this.#pool.acquire();
    rgbaToI420(ctx.getImageData(0, 0, width, height).data, width, 0, 0, picture.data, this.layout, { x: 0, y: 0, width, height });
    this.#away = picture;
  }

  /** Another reference to the "host away" card (see setAwayCard), or null when none is set. */
  awayCard(): Picture | null {
    return this.#away?.retain() ?? null;
  }

  /** Another reference to the last picture made (for a tick that repeats it), or null before the first. */
  repeatLast(): Picture | null {
    return this.#last?.retain() ?? null;
  }

  /** Releases the picture kept for unchanged frames and stops the sprite worker. */
  close(): void {
    this.#bank.close();
    this.#away?.release();
    this.#away = null;
    this.#last?.release();
    this.#last = null;
  }

  /** This tick's background video frame (with the logo) to I420; returns the milliseconds it took. */
  #convertVideoPlate(): number {
    const t0 = performance.now();
    const backplate = this.#scene.backplate;
    const { width, height } = this.layout;
    this.#videoPlate ??= new Uint8Array(this.layout.byteLength);
    const rgba = backplate.getContext('2d').getImageData(0, 0, width, height).data;
    rgbaToI420(rgba, width, 0, 0, this.#videoPlate, this.layout, { x: 0, y: 0, width, height });
    this.#plate = this.#videoPlate;
    this.#plateOf = backplate;
    return performance.now() - t0;
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
  if (a.source !== b.source && a.source.key !== b.source.key) return false;
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

import { createCanvas, ImageData, type Canvas, type SKRSContext2D } from '@napi-rs/canvas';
import { stat } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import type { BackgroundConfig, SceneConfig } from '../../config/schema.js';
import { ffprobeBeside, probeVideoFile, VideoProbeError } from '../mediaProbe.js';
import { CAPTION_FONT_FAMILY, ensureCaptionFont } from './fonts.js';
import { I420Layout, rgbaToI420 } from './i420.js';
import { breakLines } from './lineBreak.js';
import { decodePictureScaled, type DrawBox, type ScaledPicture } from './pictureDecoder.js';
import { drawProductCard, productPictureSidePx } from './productCard.js';

/** What a scene with a background video needs to play it. */
export interface SceneMedia {
  readonly ffmpegPath: string;
  readonly fps: number;
  readonly onError: (message: string) => void;
}

interface PlacedLogo {
  readonly image: Canvas;
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

/** A background video file (absolute path) and how it fills the frame. */
export interface BackgroundVideoSource {
  readonly path: string;
  readonly fit: 'cover' | 'contain';
}

/** A small layer drawn over the avatar (caption, product card) at a fixed place in the frame. */
export interface OverlaySprite {
  readonly canvas: Canvas;
  readonly x: number;
  readonly y: number;
}

/** A scene file the operator pointed at is missing or unreadable. */
export class SceneError extends Error {
  override readonly name = 'SceneError';
}

const MAX_IMAGE_BYTES = 32 * 1024 * 1024;
/**
 * Scene pictures are kept decoded at the size they are drawn (RGBA bytes counted): showing a product card
 * or switching back to a background must not decode its file again, and a few huge pictures must not hold
 * hundreds of megabytes. 64 MB holds about seventeen 720x1280 backgrounds or seven at 1080x1920.
 */
export const SCENE_PICTURE_CACHE_BYTES = 64 * 1024 * 1024;

/** Scaled pictures by file, length, mtime and drawn size, least recently used first; bounded by bytes. */
class ScenePictureCache {
  readonly #entries = new Map<string, ScaledPicture>();
  readonly #pending = new Map<string, Promise<ScaledPicture>>();
  #bytes = 0;

  constructor(readonly budgetBytes: number) {}

  get bytes(): number {
    return this.#bytes;
  }

  /** The cached picture for `key`, or the one `make` produces (one decode for concurrent asks). */
  async get(key: string, make: () => Promise<ScaledPicture>): Promise<ScaledPicture> {
    const cached = this.#entries.get(key);
    if (cached) {
      this.#entries.delete(key);
      this.#entries.set(key, cached);
      return cached;
    }
    const pending = this.#pending.get(key);
    if (pending) return pending;
    const made = make().finally(() => this.#pending.delete(key));
    this.#pending.set(key, made);
    const picture = await made;
    this.#put(key, picture);
    return picture;
  }

  #put(key: string, picture: ScaledPicture): void {
    const bytes = picture.rgba.length;
    if (bytes > this.budgetBytes || this.#entries.has(key)) return;
    this.#entries.set(key, picture);
    this.#bytes += bytes;
    for (const [oldKey, old] of this.#entries) {
      if (this.#bytes <= this.budgetBytes) break;
      this.#entries.delete(oldKey);
      this.#bytes -= old.rgba.length;
    }
  }
}

const pictures = new ScenePictureCache(SCENE_PICTURE_CACHE_BYTES);

/** Bytes of decoded scene pictures kept (what the unit tests check against the budget). */
export const scenePictureCacheBytes = (): number => pictures.bytes;

/** A scene file's path: absolute, or relative to FENSHEN_DATA. */
const scenePath = (path: string, baseDir: string) => (isAbsolute(path) ? path : resolve(baseDir, path));

/** A scaled picture as a canvas, to be drawn with alpha (a logo, a product picture: small). */
function canvasOf(picture: ScaledPicture): Canvas {
  const canvas = createCanvas(picture.width, picture.height);
  canvas.getContext('2d').putImageData(imageDataOf(picture), 0, 0);
  return canvas;
}

const imageDataOf = ({ rgba, width, height }: ScaledPicture) => new ImageData(new Uint8ClampedArray(rgba.buffer, rgba.byteOffset, rgba.byteLength), width, height);

/** Rows of a frame-sized picture put into the backplate per turn of the event loop (~5 ms at 720 wide). */
const PICTURE_BAND_ROWS = 256;
const yieldToTick = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Puts a picture's pixels into `ctx` at (x, y) a band of rows at a time, letting the live loop's tick run
 * between bands: a whole 720x1280 picture at once held the loop 15-45 ms on the loaded 2-core box.
 */
async function putInBands(ctx: SKRSContext2D, picture: ScaledPicture, x: number, y: number): Promise<void> {
  const data = imageDataOf(picture);
  for (let row = 0; row < picture.height; row += PICTURE_BAND_ROWS) {
    if (row > 0) await yieldToTick();
    ctx.putImageData(data, x, y, 0, row, picture.width, Math.min(PICTURE_BAND_ROWS, picture.height - row));
  }
}

/**
 * The backplate in I420, converted a band of rows at a time between ticks: converting a whole 720x1280
 * plate inside the tick that first shows a scene took 15-30 ms and repeated frames on a loaded box.
 */
async function plateToI420(plate: Canvas): Promise<Uint8Array> {
  const { width, height } = plate;
  const layout = new I420Layout(width, height);
  const i420 = new Uint8Array(layout.byteLength);
  const ctx = plate.getContext('2d');
  for (let row = 0; row < height; row += PICTURE_BAND_ROWS) {
    if (row > 0) await yieldToTick();
    const rows = Math.min(PICTURE_BAND_ROWS, height - row);
    rgbaToI420(ctx.getImageData(0, row, width, rows).data, width, 0, 0, i420, layout, { x: 0, y: row, width, height: rows });
  }
  return i420;
}

/**
 * The scene picture at `path`, decoded and scaled to `box` off the tick (in the picture decoder process;
 * this process only receives the scaled pixels). Every failure is one message that says nothing of the cause.
 */
async function loadScenePicture(path: string, baseDir: string, what: string, box: DrawBox): Promise<ScaledPicture> {
  const full = scenePath(path, baseDir);
  const unusable = () => new SceneError(`${what} ${path} cannot be loaded: it is missing, unreadable or not a picture (PNG, JPEG, WebP or GIF)`);
  const width = Math.max(1, Math.round(box.width));
  const height = Math.max(1, Math.round(box.height));
  const info = await stat(full).catch(() => null);
  if (!info?.isFile()) throw unusable();
  if (info.size > MAX_IMAGE_BYTES) throw new SceneError(`${what} ${path} is larger than 32 MB`);
  const key = `${full}:${info.size}:${info.mtimeMs}:${width}x${height}:${box.fit}:${box.flatten ? 'flat' : 'alpha'}`;
  try {
    return await pictures.get(key, async () => {
      const picture = await decodePictureScaled(full, { ...box, width, height });
      if (!picture) throw unusable();
      return picture;
    });
  } catch (err) {
    if (err instanceof SceneError) throw err;
    throw unusable();
  }
}

/** The box a logo is drawn in: its width a fraction of the frame's, its height what its shape gives (at most the frame). */
const logoBox = (logo: NonNullable<SceneConfig['logo']>, width: number, height: number): DrawBox => ({ width: width * logo.widthFraction, height, fit: 'inside', flatten: false });

/** The box a background picture is drawn in: the frame, filled (cover) or letterboxed (contain). */
const backgroundBox = (fit: 'cover' | 'contain', width: number, height: number): DrawBox => ({ width, height, fit: fit === 'cover' ? 'cover' : 'inside', flatten: true });

async function fillBackground(ctx: SKRSContext2D, width: number, height: number, background: BackgroundConfig, image: ScaledPicture | null): Promise<void> {
  switch (background.type) {
    case 'color':
      ctx.fillStyle = background.color;
      ctx.fillRect(0, 0, width, height);
      return;
    case 'gradient': {
      const a = ((background.angleDeg - 90) * Math.PI) / 180;
      const r = Math.abs(width * Math.cos(a)) / 2 + Math.abs(height * Math.sin(a)) / 2;
      const cx = width / 2, cy = height / 2;
      const g = ctx.createLinearGradient(cx - Math.cos(a) * r, cy - Math.sin(a) * r, cx + Math.cos(a) * r, cy + Math.sin(a) * r);
      g.addColorStop(0, background.from);
      g.addColorStop(1, background.to);
      ctx.fillStyle = g;
      ctx.fillRect(0, 0, width, height);
      return;
    }
    case 'video':
      // Black until the first decoded frame.
      ctx.fillStyle = '#000000';
      ctx.fillRect(0, 0, width, height);
      return;
    case 'image': {
      if (!image) return;
      // Already scaled to the frame (cover) or inside it (contain) and flattened onto black: its pixels are
      // put straight in, centred, with no canvas of its own in between.
      if (image.width < width || image.height < height) {
        ctx.fillStyle = '#000000';
        ctx.fillRect(0, 0, width, height);
      }
      await putInBands(ctx, image, Math.round((width - image.width) / 2), Math.round((height - image.height) / 2));
      return;
    }
  }
}

/** Breaks caption text into at most `maxLines` lines that fit `maxWidth` px, by Chinese line-breaking rules. */
export function wrapCaption(ctx: SKRSContext2D, text: string, maxWidth: number, maxLines: number): string[] {
  return breakLines(text, maxWidth, (s) => ctx.measureText(s).width, maxLines);
}

/**
 * The static parts of a scene, prepared once per change: a backplate (background and logo) drawn in
 * one blit per frame, and small overlays over the avatar (product card, caption), each redrawn only when
 * it changes.
 */
export class PreparedScene {
  readonly backplate: Canvas;
  /** The backplate as it was prepared, in I420 (a background video's frames are converted as they come). */
  readonly plate: Uint8Array;
  readonly productCard: OverlaySprite | null;
  readonly caption: OverlaySprite | null;
  /** The AI label (on top of everything), or null where the output is not for publication and it is hidden. */
  readonly aiLabel: OverlaySprite | null;
  readonly config: SceneConfig;
  /**
   * The background video to play into the backplate, checked to be playable; it is started and stopped by
   * whoever shows the scene (the channel's scene control), not by this value.
   */
  readonly videoSource: BackgroundVideoSource | null;
  readonly #logo: PlacedLogo | null;

  private constructor(config: SceneConfig, backplate: Canvas, plate: Uint8Array, productCard: OverlaySprite | null, caption: OverlaySprite | null, videoSource: BackgroundVideoSource | null, logo: PlacedLogo | null, aiLabel: OverlaySprite | null) {
    this.config = config;
    this.aiLabel = aiLabel;
    this.backplate = backplate;
    this.plate = plate;
    this.productCard = productCard;
    this.caption = caption;
    this.videoSource = videoSource;
    this.#logo = logo;
  }

  /**
   * Puts a background video frame (RGBA, frame-sized) into the backplate, with the logo over it.
   */
  drawVideoFrame(frame: Uint8Array): void {
    const { width, height } = this.backplate;
    const ctx = this.backplate.getContext('2d');
    ctx.putImageData(new ImageData(new Uint8ClampedArray(frame.buffer, frame.byteOffset, frame.byteLength), width, height), 0, 0);
    if (this.#logo) ctx.drawImage(this.#logo.image, this.#logo.x, this.#logo.y);
  }

  /** The overlays in drawing order (over the avatar). */
  get overlays(): OverlaySprite[] {
    return [this.productCard, this.caption, this.aiLabel].filter((o): o is OverlaySprite => o !== null);
  }

  /**
   * Prepares `config`. With `previous` of the same size and the same background and logo, its backplate is
   * kept, so a change of overlays only (a product card shown) redraws just the overlays' areas.
   */
  static async prepare(config: SceneConfig, width: number, height: number, baseDir: string, previous?: PreparedScene, media?: SceneMedia): Promise<PreparedScene> {
    const card = config.productCard?.visible ? config.productCard : undefined;
    const pictureSide = productPictureSidePx(width, height);
    const cardImage = card?.image ? canvasOf(await loadScenePicture(card.image, baseDir, 'product image', { width: pictureSide, height: pictureSide, fit: 'cover', flatten: false })) : null;
    const productCard = card ? drawProductCard(card, cardImage, width, height) : null;
    const caption = PreparedScene.#drawCaption(config, width, height);
    const samePlate = (a: SceneConfig, b: SceneConfig) => JSON.stringify([a.background, a.logo]) === JSON.stringify([b.background, b.logo]);
    const background = config.background;
    if (previous && previous.backplate.width === width && previous.backplate.height === height && samePlate(previous.config, config)) {
      // The files may have changed on disk: check they still load, as a fresh prepare would.
      if (background.type === 'image') await loadScenePicture(background.path, baseDir, 'background image', backgroundBox(background.fit, width, height));
      if (config.logo) await loadScenePicture(config.logo.path, baseDir, 'logo', logoBox(config.logo, width, height));
      return new PreparedScene(config, previous.backplate, previous.plate, productCard, caption, previous.videoSource, previous.#logo, drawAiLabel(config.aiLabel, width, height));
    }
    const bgImage = background.type === 'image' ? await loadScenePicture(background.path, baseDir, 'background image', backgroundBox(background.fit, width, height)) : null;
    const logoImage = config.logo ? canvasOf(await loadScenePicture(config.logo.path, baseDir, 'logo', logoBox(config.logo, width, height))) : null;
    let videoSource: BackgroundVideoSource | null = null;
    if (background.type === 'video') {
      if (!media) throw new SceneError('a background video needs ffmpeg (not available here)');
      const full = scenePath(background.path, baseDir);
      // Refused now rather than accepted and then only logged as unplayable.
      await probeVideoFile(ffprobeBeside(media.ffmpegPath), full).catch((err: unknown) => {
        throw new SceneError(`background video ${background.path} cannot be played: ${err instanceof VideoProbeError ? err.message : 'it cannot be read'}`);
      });
      videoSource = { path: full, fit: background.fit };
    }
    const backplate = createCanvas(width, height);
    const ctx = backplate.getContext('2d');
    await fillBackground(ctx, width, height, background, bgImage);
    let logo: PlacedLogo | null = null;
    if (logoImage && config.logo) {
      const margin = Math.round(Math.min(width, height) * 0.04);
      const { width: w, height: h } = logoImage;
      const x = config.logo.corner.endsWith('left') ? margin : width - margin - w;
      const y = config.logo.corner.startsWith('top') ? margin : height - margin - h;
      logo = { image: logoImage, x, y, width: w, height: h };
      ctx.drawImage(logoImage, x, y);
    }
    const plate = await plateToI420(backplate);
    return new PreparedScene(config, backplate, plate, productCard, caption, videoSource, logo, drawAiLabel(config.aiLabel, width, height));
  }

  /** The same scene with another caption text (the spoken sentence), or the configured one for null. */
  withCaptionText(text: string | null): PreparedScene {
    const { width, height } = this.backplate;
    const style = this.config.caption ?? { text: '', fontSizePx: 40, color: '#ffffff', boxColor: '#00000099', y: 0.84 };
    const caption = text === null ? this.config.caption : { ...style, text };
    return new PreparedScene(this.config, this.backplate, this.plate, this.productCard, PreparedScene.#drawCaption({ ...this.config, caption }, width, height), this.videoSource, this.#logo, this.aiLabel);
  }

  static #drawCaption(config: SceneConfig, width: number, height: number): OverlaySprite | null {
    const caption = config.caption;
    if (!caption || caption.text.trim() === '') return null;
    ensureCaptionFont();
    const font = (px: number) => `${px}px ${CAPTION_FONT_FAMILY}, sans-serif`;
    const measure = createCanvas(1, 1).getContext('2d');
    const size = Math.round((caption.fontSizePx * Math.min(width, height)) / 720);
    measure.font = font(size);
    const pad = Math.round(size * 0.5);
    const lines = wrapCaption(measure, caption.text, width * 0.86 - 2 * pad, 3);
    const lineHeight = Math.round(size * 1.35);
    const boxW = Math.ceil(Math.min(width * 0.9, Math.max(...lines.map((l) => measure.measureText(l).width)) + 2 * pad));
    const boxH = lines.length * lineHeight + pad;
    // The caption is its own small sprite: a full-frame overlay would cost a full-frame blend per frame.
    const canvas = createCanvas(boxW, boxH);
    const ctx = canvas.getContext('2d');
    ctx.font = font(size);
    ctx.fillStyle = caption.boxColor;
    ctx.beginPath();
    ctx.roundRect(0, 0, boxW, boxH, Math.round(size * 0.4));
    ctx.fill();
    ctx.fillStyle = caption.color;
    ctx.textAlign = 'center';
    ctx.textBaseline = 'middle';
    lines.forEach((line, i) => ctx.fillText(line, boxW / 2, pad / 2 + lineHeight * (i + 0.5)));
    const x = Math.round((width - boxW) / 2);
    const y = Math.round(Math.min(height - boxH - 4, Math.max(4, caption.y * height - boxH / 2)));
    return { canvas, x, y };
  }
}

/**
 * The AI label: its text on a dark rounded box in its corner, a small sprite drawn once per scene (blended
 * like the caption: it costs nothing per frame beyond its few thousand pixels), or null when hidden.
 */
function drawAiLabel(label: SceneConfig['aiLabel'], width: number, height: number): OverlaySprite | null {
  if (!label.shown) return null;
  ensureCaptionFont();
  const size = Math.round((label.fontSizePx * Math.min(width, height)) / 720);
  const font = `bold ${size}px ${CAPTION_FONT_FAMILY}, sans-serif`;
  const measure = createCanvas(1, 1).getContext('2d');
  measure.font = font;
  const padX = Math.round(size * 0.5), padY = Math.round(size * 0.3);
  const boxW = Math.ceil(measure.measureText(label.text).width) + 2 * padX;
  const boxH = Math.round(size * 1.2) + 2 * padY;
  const canvas = createCanvas(boxW, boxH);
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = '#000000a6';
  ctx.beginPath();
  ctx.roundRect(0, 0, boxW, boxH, Math.round(size * 0.3));
  ctx.fill();
  ctx.font = font;
  ctx.fillStyle = '#ffffff';
  ctx.textAlign = 'center';
  ctx.textBaseline = 'middle';
  ctx.fillText(label.text, boxW / 2, boxH / 2);
  const margin = Math.round(Math.min(width, height) * 0.03);
  const x = label.corner.endsWith('left') ? margin : width - margin - boxW;
  const y = label.corner.startsWith('top') ? margin : height - margin - boxH;
  return { canvas, x, y };
}

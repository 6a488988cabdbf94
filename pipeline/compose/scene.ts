import { createCanvas, loadImage, type Canvas, type SKRSContext2D, type Image } from '@napi-rs/canvas';
import { readFile, stat } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import type { BackgroundConfig, SceneConfig } from '../../config/schema.js';
import { CAPTION_FONT_FAMILY, ensureCaptionFont } from './fonts.js';

/** A scene file the operator pointed at is missing or unreadable. */
export class SceneError extends Error {
  override readonly name = 'SceneError';
}

const MAX_IMAGE_BYTES = 32 * 1024 * 1024;

async function loadSceneImage(path: string, baseDir: string, what: string): Promise<Image> {
  const full = isAbsolute(path) ? path : resolve(baseDir, path);
  try {
    const info = await stat(full);
    if (info.size > MAX_IMAGE_BYTES) throw new SceneError(`${what} ${path} is larger than 32 MB`);
    return await loadImage(await readFile(full));
  } catch (err) {
    if (err instanceof SceneError) throw err;
    throw new SceneError(`${what} ${path} cannot be loaded: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

function fillBackground(ctx: SKRSContext2D, width: number, height: number, background: BackgroundConfig, image: Image | null): void {
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
    case 'image': {
      if (!image) return;
      ctx.fillStyle = '#000000';
      ctx.fillRect(0, 0, width, height);
      const s = background.fit === 'cover' ? Math.max(width / image.width, height / image.height) : Math.min(width / image.width, height / image.height);
      const w = image.width * s, h = image.height * s;
      ctx.drawImage(image, (width - w) / 2, (height - h) / 2, w, h);
      return;
    }
  }
}

/** Breaks text into lines that fit `maxWidth`: CJK may break between any characters, Latin at spaces. */
export function wrapCaption(ctx: SKRSContext2D, text: string, maxWidth: number, maxLines: number): string[] {
  const tokens = text.match(/[\u2E80-\u9FFF\uF900-\uFAFF\uFF00-\uFFEF\u3000-\u303F]|[^\s\u2E80-\u9FFF\uF900-\uFAFF\uFF00-\uFFEF\u3000-\u303F]+|\s+/g) ?? [];
  const lines: string[] = [];
  let line = '';
  for (const token of tokens) {
    const candidate = line + token;
    if (line && ctx.measureText(candidate.trimEnd()).width > maxWidth) {
      lines.push(line.trim());
      line = token.trimStart();
    } else {
      line = candidate;
    }
  }
  if (line.trim()) lines.push(line.trim());
  if (lines.length > maxLines) {
    const kept = lines.slice(0, maxLines);
    kept[maxLines - 1] = `${(kept[maxLines - 1] as string).slice(0, -1)}…`;
    return kept;
  }
  return lines;
}

/**
 * The static parts of a scene, prepared once per change: a backplate (background and logo) drawn in
 * one blit per frame, and a caption layer redrawn only when its text changes.
 */
export class PreparedScene {
  readonly backplate: Canvas;
  readonly caption: { readonly canvas: Canvas; readonly x: number; readonly y: number } | null;
  readonly config: SceneConfig;

  private constructor(config: SceneConfig, backplate: Canvas, caption: PreparedScene['caption']) {
    this.config = config;
    this.backplate = backplate;
    this.caption = caption;
  }

  static async prepare(config: SceneConfig, width: number, height: number, baseDir: string): Promise<PreparedScene> {
    const bgImage = config.background.type === 'image' ? await loadSceneImage(config.background.path, baseDir, 'background image') : null;
    const logo = config.logo ? await loadSceneImage(config.logo.path, baseDir, 'logo') : null;
    const backplate = createCanvas(width, height);
    const ctx = backplate.getContext('2d');
    fillBackground(ctx, width, height, config.background, bgImage);
    if (logo && config.logo) {
      const margin = Math.round(Math.min(width, height) * 0.04);
      const w = width * config.logo.widthFraction;
      const h = (logo.height / logo.width) * w;
      const x = config.logo.corner.endsWith('left') ? margin : width - margin - w;
      const y = config.logo.corner.startsWith('top') ? margin : height - margin - h;
      ctx.drawImage(logo, x, y, w, h);
    }
    return new PreparedScene(config, backplate, PreparedScene.#drawCaption(config, width, height));
  }

  /** The same scene with another caption text (the spoken sentence), or the configured one for null. */
  withCaptionText(text: string | null): PreparedScene {
    const { width, height } = this.backplate;
    const style = this.config.caption ?? { text: '', fontSizePx: 40, color: '#ffffff', boxColor: '#00000099', y: 0.84 };
    const caption = text === null ? this.config.caption : { ...style, text };
    return new PreparedScene(this.config, this.backplate, PreparedScene.#drawCaption({ ...this.config, caption }, width, height));
  }

  static #drawCaption(config: SceneConfig, width: number, height: number): PreparedScene['caption'] {
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

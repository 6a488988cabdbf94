import { createCanvas, type Canvas, type Image } from '@napi-rs/canvas';
import type { ProductCardConfig } from '../../config/schema.js';
import { CAPTION_FONT_FAMILY, ensureCaptionFont } from './fonts.js';
import { breakLines } from './lineBreak.js';
import type { OverlaySprite } from './scene.js';

/** The side of the card's square picture, in pixels: what a product picture is decoded to. */
export function productPictureSidePx(width: number, height: number): number {
  return Math.round(132 * (Math.min(width, height) / 720));
}

/**
 * Draws the product card as its own sprite: picture on one side, name, price and tagline on the other,
 * sized from the frame's short side so it reads the same at 720p and 1080p.
 */
export function drawProductCard(card: ProductCardConfig, image: Image | Canvas | null, width: number, height: number): OverlaySprite {
  ensureCaptionFont();
  const unit = Math.min(width, height) / 720;
  const font = (px: number, weight = '') => `${weight} ${Math.round(px * unit)}px ${CAPTION_FONT_FAMILY}, sans-serif`.trim();
  const pad = Math.round(16 * unit);
  const picture = image ? productPictureSidePx(width, height) : 0;
  const cardW = Math.round(Math.min(width * 0.62, 440 * unit));
  const textW = cardW - 2 * pad - (picture ? picture + pad : 0);
  // Name and tagline wrap to two lines (ending in "…" beyond), the price stays on one; empty ones are left out.
  const blocks = [
    { text: card.name, font: font(30, 'bold'), color: '#1a1a1a', size: 30, maxLines: 2 },
    { text: card.price, font: font(40, 'bold'), color: card.accentColor, size: 40, maxLines: 1 },
    { text: card.tagline, font: font(22), color: '#5a5a5a', size: 22, maxLines: 2 },
  ];
  const measure = createCanvas(1, 1).getContext('2d');
  const wrapped = blocks
    .map((b) => {
      measure.font = b.font;
      const lines = breakLines(b.text, textW, (s) => measure.measureText(s).width, b.maxLines);
      return { ...b, lines, lineHeight: Math.round(b.size * 1.2 * unit) };
    })
    .filter((b) => b.lines.length > 0);
  const lineGap = Math.round(8 * unit);
  const textH = wrapped.reduce((h, b) => h + b.lines.length * b.lineHeight, 0) + lineGap * (wrapped.length - 1);
  const cardH = Math.max(picture, textH) + 2 * pad;
  const canvas = createCanvas(cardW, cardH);
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = '#ffffffee';
  ctx.beginPath();
  ctx.roundRect(0, 0, cardW, cardH, Math.round(18 * unit));
  ctx.fill();
  // A strip of the accent colour on the outer edge marks it as the product on sale.
  ctx.fillStyle = card.accentColor;
  ctx.fillRect(card.side === 'left' ? 0 : cardW - Math.round(6 * unit), Math.round(18 * unit), Math.round(6 * unit), cardH - Math.round(36 * unit));
  if (image && picture) {
    const s = Math.max(picture / image.width, picture / image.height);
    const sw = picture / s, sh = picture / s;
    ctx.save();
    ctx.beginPath();
    ctx.roundRect(pad, (cardH - picture) / 2, picture, picture, Math.round(10 * unit));
    ctx.clip();
    ctx.drawImage(image, (image.width - sw) / 2, (image.height - sh) / 2, sw, sh, pad, (cardH - picture) / 2, picture, picture);
    ctx.restore();
  }
  const textX = pad + (picture ? picture + pad : 0);
  let y = (cardH - textH) / 2;
  ctx.textBaseline = 'top';
  for (const block of wrapped) {
    ctx.font = block.font;
    ctx.fillStyle = block.color;
    for (const line of block.lines) {
      ctx.fillText(line, textX, y);
      y += block.lineHeight;
    }
    y += lineGap;
  }
  const margin = Math.round(24 * unit);
  const x = card.side === 'left' ? margin : width - margin - cardW;
  const top = Math.round(Math.min(height - cardH - 4, Math.max(4, card.y * height - cardH / 2)));
  return { canvas, x, y: top };
}

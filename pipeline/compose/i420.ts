/**
 * Planar YUV 4:2:0 pictures (Y plane, then U, then V, no row padding), BT.709 limited range: the
 * format the encoder and WebRTC take. Converting only the part of a frame that changed in JavaScript
 * costs less than letting ffmpeg convert every full RGBA frame, and it halves the bytes piped.
 */

export interface Rect {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

export class I420Layout {
  readonly width: number;
  readonly height: number;
  readonly chromaWidth: number;
  readonly chromaHeight: number;
  readonly uOffset: number;
  readonly vOffset: number;
  readonly byteLength: number;

  constructor(width: number, height: number) {
    if (width % 2 !== 0 || height % 2 !== 0) throw new RangeError(`I420 needs even dimensions, got ${width}x${height}`);
    this.width = width;
    this.height = height;
    this.chromaWidth = width / 2;
    this.chromaHeight = height / 2;
    this.uOffset = width * height;
    this.vOffset = this.uOffset + this.chromaWidth * this.chromaHeight;
    this.byteLength = this.vOffset + this.chromaWidth * this.chromaHeight;
  }
}

// BT.709 luma weights, scaled to limited range (Y 16..235, C 16..240) in 16-bit fixed point.
const KR = 0.2126;
const KB = 0.0722;
const KG = 1 - KR - KB;
const FIX = 1 << 16;
const YS = (219 / 255) * FIX;
const CS = (224 / 255) * FIX;
const Y_R = Math.round(KR * YS), Y_G = Math.round(KG * YS), Y_B = Math.round(KB * YS);
const U_R = Math.round((-KR / (2 * (1 - KB))) * CS), U_G = Math.round((-KG / (2 * (1 - KB))) * CS);
const U_B = -U_R - U_G;
const V_G = Math.round((-KG / (2 * (1 - KR))) * CS), V_B = Math.round((-KB / (2 * (1 - KR))) * CS);
const V_R = -V_G - V_B;
const Y_OFFSET = 16 * FIX + FIX / 2;
const C_OFFSET_4 = 4 * (128 * FIX + FIX / 2);

/** One colour to limited-range BT.709 YUV (for tests and solid fills). */
export function rgbToYuv(r: number, g: number, b: number): [number, number, number] {
  return [
    (Y_R * r + Y_G * g + Y_B * b + Y_OFFSET) >> 16,
    (U_R * r + U_G * g + U_B * b + 128 * FIX + FIX / 2) >> 16,
    (V_R * r + V_G * g + V_B * b + 128 * FIX + FIX / 2) >> 16,
  ];
}

/** The conversion's fixed-point coefficients (`x >> 16` after the sum), for code that inlines it. */
export const BT709 = { Y_R, Y_G, Y_B, Y_OFFSET, U_R, U_G, U_B, V_R, V_G, V_B, C_OFFSET: 128 * FIX + FIX / 2 } as const;

/** Copies an even-aligned rect of one I420 picture into another of the same layout. */
export function copyI420Rect(src: Uint8Array, dst: Uint8Array, layout: I420Layout, rect: Rect): void {
  const { width, chromaWidth, uOffset, vOffset } = layout;
  for (let y = rect.y; y < rect.y + rect.height; y++) {
    const at = y * width + rect.x;
    dst.set(src.subarray(at, at + rect.width), at);
  }
  const cw = rect.width >> 1;
  for (let cy = rect.y >> 1; cy < (rect.y + rect.height) >> 1; cy++) {
    const at = cy * chromaWidth + (rect.x >> 1);
    dst.set(src.subarray(uOffset + at, uOffset + at + cw), uOffset + at);
    dst.set(src.subarray(vOffset + at, vOffset + at + cw), vOffset + at);
  }
}

/** Grows a rect outwards to even coordinates and clips it to the picture. */
export function alignRect(rect: Rect, width: number, height: number): Rect {
  const x0 = Math.max(0, Math.floor(rect.x / 2) * 2);
  const y0 = Math.max(0, Math.floor(rect.y / 2) * 2);
  const x1 = Math.min(width, Math.ceil((rect.x + rect.width) / 2) * 2);
  const y1 = Math.min(height, Math.ceil((rect.y + rect.height) / 2) * 2);
  return { x: x0, y: y0, width: Math.max(0, x1 - x0), height: Math.max(0, y1 - y0) };
}

/**
 * Converts an even-aligned block of opaque (or premultiplied-over-black) RGBA into an I420 picture.
 * `src` is `srcWidth` pixels a row; the block starts at (srcX, srcY) there and at `dst` in the picture.
 * Chroma is taken from the mean of each 2x2 block.
 */
export function rgbaToI420(src: Uint8Array | Uint8ClampedArray, srcWidth: number, srcX: number, srcY: number, picture: Uint8Array, layout: I420Layout, dst: Rect): void {
  if (dst.x % 2 || dst.y % 2 || dst.width % 2 || dst.height % 2) throw new RangeError('I420 blocks must be even-aligned');
  // One 32-bit load a pixel (little-endian: R in the low byte); copy first if the bytes are unaligned.
  const aligned = src.byteOffset % 4 === 0 ? src : new Uint8Array(src);
  const words = new Uint32Array(aligned.buffer, aligned.byteOffset, aligned.byteLength >> 2);
  const { width, chromaWidth, uOffset, vOffset } = layout;
  for (let row = 0; row < dst.height; row += 2) {
    let s0 = (srcY + row) * srcWidth + srcX;
    let s1 = s0 + srcWidth;
    let y0 = (dst.y + row) * width + dst.x;
    let y1 = y0 + width;
    let u = uOffset + ((dst.y + row) >> 1) * chromaWidth + (dst.x >> 1);
    const end = u + (dst.width >> 1);
    const vShift = vOffset - uOffset;
    for (; u < end; u++) {
      const p00 = words[s0] as number, p01 = words[s0 + 1] as number;
      const p10 = words[s1] as number, p11 = words[s1 + 1] as number;
      const r00 = p00 & 255, g00 = (p00 >>> 8) & 255, b00 = (p00 >>> 16) & 255;
      const r01 = p01 & 255, g01 = (p01 >>> 8) & 255, b01 = (p01 >>> 16) & 255;
      const r10 = p10 & 255, g10 = (p10 >>> 8) & 255, b10 = (p10 >>> 16) & 255;
      const r11 = p11 & 255, g11 = (p11 >>> 8) & 255, b11 = (p11 >>> 16) & 255;
      picture[y0] = (Y_R * r00 + Y_G * g00 + Y_B * b00 + Y_OFFSET) >> 16;
      picture[y0 + 1] = (Y_R * r01 + Y_G * g01 + Y_B * b01 + Y_OFFSET) >> 16;
      picture[y1] = (Y_R * r10 + Y_G * g10 + Y_B * b10 + Y_OFFSET) >> 16;
      picture[y1 + 1] = (Y_R * r11 + Y_G * g11 + Y_B * b11 + Y_OFFSET) >> 16;
      const r = r00 + r01 + r10 + r11, g = g00 + g01 + g10 + g11, b = b00 + b01 + b10 + b11;
      picture[u] = (U_R * r + U_G * g + U_B * b + C_OFFSET_4) >> 18;
      picture[u + vShift] = (V_R * r + V_G * g + V_B * b + C_OFFSET_4) >> 18;
      s0 += 2;
      s1 += 2;
      y0 += 2;
      y1 += 2;
    }
  }
}

/**
 * Draws a YUVA 4:2:0 picture (planes Y, U, V, then A at full size; `width`×`height`, even) over an I420
 * frame with its top-left at (x, y) (even; it may lie partly outside: only the overlap is drawn). Each
 * pixel is mixed by its alpha, chroma by the mean alpha of its 2x2 block; fully clear and fully opaque
 * pixels (nearly all of them) are skipped or copied.
 */
export function blendYuvaOver(src: Uint8Array, width: number, height: number, frame: Uint8Array, layout: I420Layout, x: number, y: number): void {
  if (x % 2 || y % 2 || width % 2 || height % 2) throw new RangeError('YUVA pictures must be even-aligned');
  const x0 = Math.max(0, x), y0 = Math.max(0, y);
  const x1 = Math.min(layout.width, x + width), y1 = Math.min(layout.height, y + height);
  if (x1 <= x0 || y1 <= y0) return;
  const cw = width >> 1;
  const su = width * height, sv = su + cw * (height >> 1), sa = sv + cw * (height >> 1);
  // Four alpha bytes at a time where the rows allow it: a clear or opaque word is skipped or copied whole.
  const words = (src.byteOffset + sa) % 4 === 0 && (frame.byteOffset % 4 === 0) && src.byteOffset % 4 === 0 && width % 4 === 0 && layout.width % 4 === 0 && (x0 - x) % 4 === 0 && x0 % 4 === 0;
  const alpha32 = words ? new Uint32Array(src.buffer, src.byteOffset + sa, (width * height) >> 2) : null;
  const src32 = words ? new Uint32Array(src.buffer, src.byteOffset, su >> 2) : null;
  const frame32 = words ? new Uint32Array(frame.buffer, frame.byteOffset, layout.uOffset >> 2) : null;
  for (let fy = y0; fy < y1; fy++) {
    let s = (fy - y) * width + (x0 - x), d = fy * layout.width + x0;
    let fx = x0;
    if (alpha32 && src32 && frame32) {
      for (const end = x0 + ((x1 - x0) & ~3); fx < end; fx += 4, s += 4, d += 4) {
        const a4 = alpha32[s >> 2] as number;
        if (a4 === 0) continue;
        if (a4 === 0xffffffff) {
          frame32[d >> 2] = src32[s >> 2] as number;
          continue;
        }
        for (let k = 0; k < 4; k++) {
          const a = src[sa + s + k] as number;
          if (a !== 0) frame[d + k] = ((src[s + k] as number) * a + (frame[d + k] as number) * (255 - a) + 127) / 255;
        }
      }
    }
    for (; fx < x1; fx++, s++, d++) {
      const a = src[sa + s] as number;
      if (a === 0) continue;
      frame[d] = a === 255 ? (src[s] as number) : ((src[s] as number) * a + (frame[d] as number) * (255 - a) + 127) / 255;
    }
  }
  const { chromaWidth, uOffset, vOffset } = layout;
  const alpha16 = (src.byteOffset + sa) % 2 === 0 ? new Uint16Array(src.buffer, src.byteOffset + sa, (width * height) >> 1) : null;
  for (let cy = y0 >> 1; cy < y1 >> 1; cy++) {
    const sy = cy - (y >> 1);
    let a0 = sa + 2 * sy * width + (x0 - x), c = sy * cw + ((x0 - x) >> 1), d = cy * chromaWidth + (x0 >> 1);
    for (let cx = x0 >> 1; cx < x1 >> 1; cx++, a0 += 2, c++, d++) {
      // The block's two rows as two 16-bit reads: both clear or both opaque decide without the sum.
      const top = alpha16 ? (alpha16[(a0 - sa) >> 1] as number) : -1, bottom = alpha16 ? (alpha16[(a0 - sa + width) >> 1] as number) : -1;
      if (top === 0 && bottom === 0) continue;
      const a = top === 0xffff && bottom === 0xffff ? 255 : ((src[a0] as number) + (src[a0 + 1] as number) + (src[a0 + width] as number) + (src[a0 + width + 1] as number) + 2) >> 2;
      if (a === 0) continue;
      if (a === 255) {
        frame[uOffset + d] = src[su + c] as number;
        frame[vOffset + d] = src[sv + c] as number;
        continue;
      }
      frame[uOffset + d] = ((src[su + c] as number) * a + (frame[uOffset + d] as number) * (255 - a) + 127) / 255;
      frame[vOffset + d] = ((src[sv + c] as number) * a + (frame[vOffset + d] as number) * (255 - a) + 127) / 255;
    }
  }
}

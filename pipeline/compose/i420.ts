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

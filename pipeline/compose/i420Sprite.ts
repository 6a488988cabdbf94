import { BT709, type I420Layout, type Rect } from './i420.js';

const { Y_R, Y_G, Y_B, Y_OFFSET, U_R, U_G, U_B, V_R, V_G, V_B, C_OFFSET } = BT709;

/** Work buffers for conversions, grown as needed and reused: a conversion must not churn the heap. */
const byteScratch: Uint8Array[] = [];
const wordScratch: Uint16Array[] = [];
function scratchBytes(slot: number, n: number): Uint8Array {
  const have = byteScratch[slot];
  if (have && have.length >= n) return have.subarray(0, n);
  const made = new Uint8Array(n);
  byteScratch[slot] = made;
  return made;
}
function scratchWords(slot: number, n: number): Uint16Array {
  const have = wordScratch[slot];
  if (have && have.length >= n) return have.subarray(0, n);
  const made = new Uint16Array(n);
  wordScratch[slot] = made;
  return made;
}

/**
 * One plane of a sprite, packed: only its visible pixels are stored. `runs[row]` holds
 * [start, end, opaque (1) or partly transparent (0), offset into `values`, offset into `alpha`] per run;
 * clear pixels are left out, and only partly transparent ones keep an alpha.
 */
interface PackedPlane {
  readonly width: number;
  readonly height: number;
  readonly runs: readonly Int32Array[];
  readonly values: Uint8Array;
  readonly alpha: Uint8Array;
}

const RUN = 5;

/** The 2x2-block chroma planes of a sprite placed at one parity (even or odd left and top edge). */
interface ChromaPlanes {
  readonly u: PackedPlane;
  readonly v: PackedPlane;
}

/** x / 255, rounded, for x in 0..65025 (the products blending makes). */
const div255 = (x: number) => (x + 128 + ((x + 128) >> 8)) >> 8;

/** Packs planes that share one alpha: runs from `alpha`, then each plane's visible values. */
function pack(width: number, height: number, alpha: Uint8Array, planes: readonly Uint8Array[]): PackedPlane[] {
  const runs: Int32Array[] = [];
  let visible = 0, partial = 0;
  for (let y = 0; y < height; y++) {
    const row: number[] = [];
    let x = 0;
    while (x < width) {
      const a = alpha[y * width + x] as number;
      if (a === 0) {
        x++;
        continue;
      }
      const opaque = a === 255;
      const start = x;
      while (x < width) {
        const b = alpha[y * width + x] as number;
        if (b === 0 || (b === 255) !== opaque) break;
        x++;
      }
      row.push(start, x, opaque ? 1 : 0, visible, partial);
      visible += x - start;
      if (!opaque) partial += x - start;
    }
    runs.push(Int32Array.from(row));
  }
  const packedAlpha = new Uint8Array(partial);
  const packed = planes.map(() => new Uint8Array(visible));
  for (let y = 0; y < height; y++) {
    const row = runs[y] as Int32Array;
    for (let r = 0; r < row.length; r += RUN) {
      const from = y * width + (row[r] as number), to = y * width + (row[r + 1] as number), at = row[r + 3] as number;
      if (row[r + 2] === 0) packedAlpha.set(alpha.subarray(from, to), row[r + 4] as number);
      for (let i = 0; i < planes.length; i++) (packed[i] as Uint8Array).set((planes[i] as Uint8Array).subarray(from, to), at);
    }
  }
  return packed.map((values) => ({ width, height, runs, values, alpha: packedAlpha }));
}

/** A packed plane as one message can carry it: the rows' runs in one array, cut at `rowStarts`. */
interface PlaneParts {
  readonly width: number;
  readonly height: number;
  readonly runs: Int32Array;
  readonly rowStarts: Int32Array;
  readonly values: Uint8Array;
  readonly alpha: Uint8Array;
}

/** An I420Sprite as plain typed arrays, for another thread: the luma, then u and v of each chroma parity. */
export interface I420SpriteParts {
  readonly width: number;
  readonly height: number;
  readonly planes: readonly PlaneParts[];
}

function planeParts(plane: PackedPlane): PlaneParts {
  const rowStarts = new Int32Array(plane.height + 1);
  for (let y = 0; y < plane.height; y++) rowStarts[y + 1] = (rowStarts[y] as number) + (plane.runs[y] as Int32Array).length;
  const runs = new Int32Array(rowStarts[plane.height] as number);
  for (let y = 0; y < plane.height; y++) runs.set(plane.runs[y] as Int32Array, rowStarts[y]);
  return { width: plane.width, height: plane.height, runs, rowStarts, values: plane.values, alpha: plane.alpha };
}

function planeFromParts(parts: PlaneParts): PackedPlane {
  const runs: Int32Array[] = [];
  for (let y = 0; y < parts.height; y++) runs.push(parts.runs.subarray(parts.rowStarts[y], parts.rowStarts[y + 1]));
  return { width: parts.width, height: parts.height, runs, values: parts.values, alpha: parts.alpha };
}

/**
 * A sprite converted once to the pictures' colour space (BT.709 limited range, straight alpha), so a
 * frame is composed by blending sprites straight into its I420 picture: opaque runs are copied, clear
 * pixels skipped, only anti-aliased edges blended per pixel. Blending commutes with the RGB→YUV
 * conversion (an affine map), so this matches drawing in RGB and converting, up to rounding (and, at
 * edges, chroma taken as the alpha-weighted mean of each 2x2 block).
 *
 * Reading a Skia canvas back every frame cost more than all else the tick did; a sprite is read back
 * once, when first drawn. Only visible pixels are kept (long hair's box is two-thirds empty), with the
 * chroma of all four placement parities made at once: a layer moving by one pixel changes parity.
 */
export class I420Sprite {
  readonly width: number;
  readonly height: number;
  readonly bytes: number;
  readonly #luma: PackedPlane;
  readonly #chroma: readonly ChromaPlanes[];

  private constructor(width: number, height: number, luma: PackedPlane, chroma: ChromaPlanes[]) {
    this.width = width;
    this.height = height;
    this.#luma = luma;
    this.#chroma = chroma;
    const planeBytes = (p: PackedPlane) => p.values.length + p.runs.reduce((n, r) => n + r.byteLength, 0);
    this.bytes = planeBytes(luma) + luma.alpha.length + chroma.reduce((n, c) => n + planeBytes(c.u) + c.v.values.length + c.u.alpha.length, 0);
  }

  /** From straight (not premultiplied) RGBA, as getImageData gives it. */
  static fromRgba(rgba: Uint8Array | Uint8ClampedArray, width: number, height: number): I420Sprite {
    const n = width * height;
    // One 32-bit load a pixel (little-endian: R in the low byte); copy first if the bytes are unaligned.
    const aligned = rgba.byteOffset % 4 === 0 ? rgba : new Uint8Array(rgba);
    const words = new Uint32Array(aligned.buffer, aligned.byteOffset, n);
    const luma = scratchBytes(0, n), alpha = scratchBytes(1, n);
    alpha.fill(0);
    // Alpha and alpha-weighted chroma with a clear border of one pixel, so every parity's 2x2 blocks
    // read inside the arrays without bounds checks (a·U ≤ 65025 fits 16 bits).
    const pw = width + 2, ph = height + 2;
    const pa = scratchWords(0, pw * ph), pu = scratchWords(1, pw * ph), pv = scratchWords(2, pw * ph);
    pa.fill(0);
    pu.fill(0);
    pv.fill(0);
    for (let y = 0; y < height; y++) {
      for (let i = y * width, end = i + width, o = (y + 1) * pw + 1; i < end; i++, o++) {
        const word = words[i] as number;
        const a = word >>> 24;
        if (a === 0) continue;
        const r = word & 255, g = (word >>> 8) & 255, b = (word >>> 16) & 255;
        alpha[i] = a;
        luma[i] = (Y_R * r + Y_G * g + Y_B * b + Y_OFFSET) >> 16;
        pa[o] = a;
        pu[o] = a * ((U_R * r + U_G * g + U_B * b + C_OFFSET) >> 16);
        pv[o] = a * ((V_R * r + V_G * g + V_B * b + C_OFFSET) >> 16);
      }
    }
    const [packedLuma] = pack(width, height, alpha, [luma]) as [PackedPlane];
    const chroma: ChromaPlanes[] = [];
    for (const [px, py] of [[0, 0], [1, 0], [0, 1], [1, 1]] as const) chroma.push(I420Sprite.#chromaAt(width, height, pw, pa, pu, pv, px, py));
    return new I420Sprite(width, height, packedLuma, chroma);
  }

  /** The sprite as typed arrays another thread can be given (`transferables` moves them instead of copying). */
  toParts(): { readonly parts: I420SpriteParts; readonly transferables: ArrayBuffer[] } {
    const planes = [planeParts(this.#luma), ...this.#chroma.flatMap((c) => [planeParts(c.u), planeParts(c.v)])];
    const buffers = new Set<ArrayBuffer>();
    for (const p of planes) for (const a of [p.runs, p.rowStarts, p.values, p.alpha]) buffers.add(a.buffer as ArrayBuffer);
    return { parts: { width: this.width, height: this.height, planes }, transferables: [...buffers] };
  }

  static fromParts(parts: I420SpriteParts): I420Sprite {
    const [luma, ...chroma] = parts.planes.map(planeFromParts) as [PackedPlane, ...PackedPlane[]];
    const pairs: ChromaPlanes[] = [];
    for (let i = 0; i + 1 < chroma.length; i += 2) pairs.push({ u: chroma[i] as PackedPlane, v: chroma[i + 1] as PackedPlane });
    return new I420Sprite(parts.width, parts.height, luma, pairs);
  }

  /**
   * The 2x2-block chroma of the sprite placed with its left/top edge at an odd (1) or even (0) pixel,
   * from the padded alpha and alpha-weighted chroma.
   */
  static #chromaAt(width: number, height: number, pw: number, pa: Uint16Array, pu: Uint16Array, pv: Uint16Array, px: number, py: number): ChromaPlanes {
    const cw = (width + px + 1) >> 1, ch = (height + py + 1) >> 1;
    const cu = new Uint8Array(cw * ch), cv = new Uint8Array(cw * ch), ca = new Uint8Array(cw * ch);
    for (let cy = 0; cy < ch; cy++) {
      // Padded row of the block's top pixels: sprite row 2cy - py, plus the border.
      let top = (cy * 2 - py + 1) * pw + 1 - px;
      for (let cx = 0, o = cy * cw; cx < cw; cx++, o++, top += 2) {
        const bottom = top + pw;
        const sumA = (pa[top] as number) + (pa[top + 1] as number) + (pa[bottom] as number) + (pa[bottom + 1] as number);
        if (sumA === 0) continue;
        // Only a block of four opaque pixels is opaque (copied); any other is blended by its mean alpha.
        ca[o] = sumA === 1020 ? 255 : Math.max(1, Math.min(254, (sumA + 2) >> 2));
        cu[o] = Math.round(((pu[top] as number) + (pu[top + 1] as number) + (pu[bottom] as number) + (pu[bottom + 1] as number)) / sumA);
        cv[o] = Math.round(((pv[top] as number) + (pv[top + 1] as number) + (pv[bottom] as number) + (pv[bottom + 1] as number)) / sumA);
      }
    }
    const [packedU, packedV] = pack(cw, ch, ca, [cu, cv]) as [PackedPlane, PackedPlane];
    return { u: packedU, v: packedV };
  }

  /**
   * Blends the sprite into `picture` with its top-left pixel at (x, y), touching only `clip` (even
   * aligned, inside the picture).
   */
  drawInto(picture: Uint8Array, layout: I420Layout, x: number, y: number, clip: Rect): void {
    const x0 = Math.max(clip.x, x), x1 = Math.min(clip.x + clip.width, x + this.width);
    const y0 = Math.max(clip.y, y), y1 = Math.min(clip.y + clip.height, y + this.height);
    if (x0 >= x1 || y0 >= y1) return;
    blendPlane(picture, 0, layout.width, this.#luma, x, y, x0, x1, y0, y1);
    // The sprite's chroma grid starts at the block holding its left/top edge.
    const px = x & 1, py = y & 1;
    const planes = this.#chroma[py * 2 + px] as ChromaPlanes;
    const cx = (x - px) >> 1, cy = (y - py) >> 1;
    const cx0 = Math.max(clip.x >> 1, cx), cx1 = Math.min((clip.x + clip.width) >> 1, cx + planes.u.width);
    const cy0 = Math.max(clip.y >> 1, cy), cy1 = Math.min((clip.y + clip.height) >> 1, cy + planes.u.height);
    if (cx0 >= cx1 || cy0 >= cy1) return;
    blendPlane(picture, layout.uOffset, layout.chromaWidth, planes.u, cx, cy, cx0, cx1, cy0, cy1);
    blendPlane(picture, layout.vOffset, layout.chromaWidth, planes.v, cx, cy, cx0, cx1, cy0, cy1);
  }
}

/**
 * Blends one packed plane with its top-left at (sx0, sy0) into one plane of the picture over the
 * window [x0, x1) x [y0, y1): copies opaque runs, blends partial ones, skips what is clear.
 */
function blendPlane(dst: Uint8Array, dstOffset: number, dstStride: number, plane: PackedPlane, sx0: number, sy0: number, x0: number, x1: number, y0: number, y1: number): void {
  const { values, alpha } = plane;
  const from = x0 - sx0, to = x1 - sx0;
  for (let y = y0; y < y1; y++) {
    const row = plane.runs[y - sy0] as Int32Array;
    const dstRow = dstOffset + y * dstStride + sx0;
    for (let r = 0; r < row.length; r += RUN) {
      const runStart = row[r] as number;
      const start = Math.max(from, runStart), end = Math.min(to, row[r + 1] as number);
      if (start >= end) continue;
      const at = (row[r + 3] as number) - runStart;
      if (row[r + 2] === 1) {
        dst.set(values.subarray(at + start, at + end), dstRow + start);
        continue;
      }
      const alphaAt = (row[r + 4] as number) - runStart;
      for (let i = start; i < end; i++) {
        const a = alpha[alphaAt + i] as number;
        const d = dst[dstRow + i] as number;
        dst[dstRow + i] = div255((values[at + i] as number) * a + d * (255 - a));
      }
    }
  }
}

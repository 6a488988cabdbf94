import type { I420Layout } from '../compose/i420.js';
import { fitSimilarity, invertSimilarity, LOWER_FACE_OUTLINE, type Similarity } from './faceGeometry.js';

/** The patch's edge fades over this share of the eye distance, so no seam shows. */
const FEATHER = 0.16;
/** The mask reaches this far (eye distances) below the recorded chin: room for a jaw that drops. */
const CHIN_ROOM = 0.22;

/** x,y pairs → the outline polygon as a flat list of vertices, the chin side pushed down. */
function maskPolygon(canonical: Float32Array, eye: number): Float32Array {
  const chinY = canonical[152 * 2 + 1] as number;
  const noseY = canonical[2 * 2 + 1] as number;
  const out = new Float32Array(LOWER_FACE_OUTLINE.length * 2);
  LOWER_FACE_OUTLINE.forEach((i, n) => {
    const x = canonical[i * 2] as number, y = canonical[i * 2 + 1] as number;
    // Points below the mouth move down in proportion (the chin most).
    const t = Math.max(0, (y - noseY) / Math.max(1, chinY - noseY));
    out[n * 2] = x;
    out[n * 2 + 1] = y + CHIN_ROOM * eye * t * t;
  });
  return out;
}

function distanceToSegment(px: number, py: number, ax: number, ay: number, bx: number, by: number): number {
  const dx = bx - ax, dy = by - ay;
  const t = Math.max(0, Math.min(1, ((px - ax) * dx + (py - ay) * dy) / Math.max(1e-9, dx * dx + dy * dy)));
  return Math.hypot(px - ax - t * dx, py - ay - t * dy);
}

/**
 * The feathered mask of the lower face in patch pixels (0..1): 1 well inside the outline (under the nose,
 * cheek to cheek, round the chin), falling to 0 at the outline over FEATHER eye distances.
 */
export function lowerFaceMask(canonical: Float32Array, width: number, height: number, eye: number): Float32Array {
  const polygon = maskPolygon(canonical, eye);
  const n = polygon.length / 2;
  const feather = FEATHER * eye;
  const mask = new Float32Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const px = x + 0.5, py = y + 0.5;
      let inside = false, nearest = Infinity;
      for (let i = 0, j = n - 1; i < n; j = i++) {
        const ax = polygon[i * 2] as number, ay = polygon[i * 2 + 1] as number, bx = polygon[j * 2] as number, by = polygon[j * 2 + 1] as number;
        if (ay > py !== by > py && px < ((bx - ax) * (py - ay)) / (by - ay) + ax) inside = !inside;
        nearest = Math.min(nearest, distanceToSegment(px, py, ax, ay, bx, by));
      }
      const a = inside ? Math.min(1, nearest / feather) : 0;
      // Smoothstep: no visible edge where the ramp starts or ends.
      mask[y * width + x] = a * a * (3 - 2 * a);
    }
  }
  return mask;
}

/** Where the mouths go in each frame of the base loop: the canonical face carried onto that frame's rigid points, then into the output. */
export function patchPlacements(canonical: Float32Array, loopLandmarks: Float32Array, frames: number, toOutput: Similarity): Similarity[] {
  return Array.from({ length: frames }, (_, f) => {
    const t = fitSimilarity(canonical, loopLandmarks.subarray(f * 936, (f + 1) * 936));
    // toOutput ∘ t
    return { a: toOutput.a * t.a - toOutput.b * t.b, b: toOutput.b * t.a + toOutput.a * t.b, tx: toOutput.a * t.tx - toOutput.b * t.ty + toOutput.tx, ty: toOutput.b * t.tx + toOutput.a * t.ty + toOutput.ty };
  });
}

/**
 * Draws a mouth patch (I420, patch pixels) into an I420 frame where `place` puts it: every frame pixel
 * under the patch is mapped back into the patch (bilinear), blended by the feathered mask, and shifted by
 * the difference in mean colour between the frame and the patch along the mask's edge, so a mouth cut
 * from a brighter moment of the recording matches this one. Luma at full size, chroma at half.
 */
export class MouthRenderer {
  readonly #mask: Float32Array;
  readonly #width: number;
  readonly #height: number;

  constructor(mask: Float32Array, patchWidth: number, patchHeight: number) {
    this.#mask = mask;
    this.#width = patchWidth;
    this.#height = patchHeight;
  }

  draw(frame: Uint8Array, layout: I420Layout, patch: Uint8Array, place: Similarity): void {
    const pw = this.#width, ph = this.#height;
    const inv = invertSimilarity(place);
    // The patch's corners in the frame: the box to visit.
    let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
    for (const [u, v] of [[0, 0], [pw, 0], [0, ph], [pw, ph]] as const) {
      const x = place.a * u - place.b * v + place.tx, y = place.b * u + place.a * v + place.ty;
      x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y);
    }
    const bx0 = Math.max(0, Math.floor(x0) & ~1), by0 = Math.max(0, Math.floor(y0) & ~1);
    const bx1 = Math.min(layout.width, Math.ceil(x1)), by1 = Math.min(layout.height, Math.ceil(y1));
    if (bx1 <= bx0 || by1 <= by0) return;
    const offsets = this.#colourOffsets(frame, layout, patch, inv, bx0, by0, bx1, by1);
    this.#blendPlane(frame, 0, layout.width, patch, 0, pw, ph, inv, 1, bx0, by0, bx1, by1, offsets[0]);
    const cw = pw / 2, ch = ph / 2;
    const pu = pw * ph, pv = pu + cw * ch;
    const cbx0 = bx0 / 2, cby0 = by0 / 2, cbx1 = Math.ceil(bx1 / 2), cby1 = Math.ceil(by1 / 2);
    this.#blendPlane(frame, layout.uOffset, layout.chromaWidth, patch, pu, cw, ch, inv, 2, cbx0, cby0, cbx1, cby1, offsets[1]);
    this.#blendPlane(frame, layout.vOffset, layout.chromaWidth, patch, pv, cw, ch, inv, 2, cbx0, cby0, cbx1, cby1, offsets[2]);
  }

  /** Mean frame minus mean patch, Y, U and V, over the mask's outer ring (sampled every other pixel). */
  #colourOffsets(frame: Uint8Array, layout: I420Layout, patch: Uint8Array, inv: Similarity, bx0: number, by0: number, bx1: number, by1: number): [number, number, number] {
    const pw = this.#width, ph = this.#height;
    const pu = pw * ph, pv = pu + (pw / 2) * (ph / 2);
    let fy = 0, py = 0, fu = 0, pu_ = 0, fv = 0, pv_ = 0, n = 0;
    for (let y = by0; y < by1; y += 2) {
      for (let x = bx0; x < bx1; x += 2) {
        const u = inv.a * (x + 0.5) - inv.b * (y + 0.5) + inv.tx, v = inv.b * (x + 0.5) + inv.a * (y + 0.5) + inv.ty;
        const iu = Math.floor(u), iv = Math.floor(v);
        if (iu < 0 || iv < 0 || iu >= pw || iv >= ph) continue;
        const m = this.#mask[iv * pw + iu] as number;
        if (m <= 0.02 || m >= 0.5) continue;
        const c = (iv >> 1) * (pw / 2) + (iu >> 1), fc = (y >> 1) * layout.chromaWidth + (x >> 1);
        fy += frame[y * layout.width + x] as number;
        py += patch[iv * pw + iu] as number;
        fu += frame[layout.uOffset + fc] as number;
        pu_ += patch[pu + c] as number;
        fv += frame[layout.vOffset + fc] as number;
        pv_ += patch[pv + c] as number;
        n++;
      }
    }
    if (n < 8) return [0, 0, 0];
    return [(fy - py) / n, (fu - pu_) / n, (fv - pv_) / n];
  }

  /**
   * One plane: frame pixels [bx0, bx1) × [by0, by1) of a plane at `frameOffset` (row length `frameStride`)
   * from the patch plane at `patchOffset` (pw × ph), `scale` patch-plane pixels per luma pixel of the map.
   */
  #blendPlane(frame: Uint8Array, frameOffset: number, frameStride: number, patch: Uint8Array, patchOffset: number, pw: number, ph: number, inv: Similarity, scale: number, bx0: number, by0: number, bx1: number, by1: number, offset: number): void {
    const mask = this.#mask, maskWidth = this.#width, maskHeight = this.#height;
    const unit = 1 / scale;
    // The patch position moves by a constant step along a row: added, not recomputed, per pixel (the hot loop of a clone's frame).
    const du = inv.a * scale, dv = inv.b * scale;
    for (let y = by0; y < by1; y++) {
      // Centre of this plane pixel in luma pixels, then into patch luma pixels, then into this plane's.
      const ly = (y + 0.5) * scale, lx0 = (bx0 + 0.5) * scale;
      let u = inv.a * lx0 - inv.b * ly + inv.tx, v = inv.b * lx0 + inv.a * ly + inv.ty;
      let at = frameOffset + y * frameStride + bx0;
      for (let x = bx0; x < bx1; x++, u += du, v += dv, at++) {
        if (u < 0 || v < 0 || u >= maskWidth || v >= maskHeight) continue;
        const m = mask[(v | 0) * maskWidth + (u | 0)] as number;
        if (m <= 0) continue;
        const su = u * unit - 0.5, sv = v * unit - 0.5;
        // Truncation is the floor here (su, sv > -1), kept inside the patch.
        let iu = su | 0, iv = sv | 0;
        if (iu > pw - 2) iu = pw - 2;
        if (iv > ph - 2) iv = ph - 2;
        let fu = su - iu, fv = sv - iv;
        fu = fu < 0 ? 0 : fu > 1 ? 1 : fu;
        fv = fv < 0 ? 0 : fv > 1 ? 1 : fv;
        const p = patchOffset + iv * pw + iu;
        const top = (patch[p] as number) + ((patch[p + 1] as number) - (patch[p] as number)) * fu;
        const bottom = (patch[p + pw] as number) + ((patch[p + pw + 1] as number) - (patch[p + pw] as number)) * fu;
        const value = top + (bottom - top) * fv + offset;
        const out = (frame[at] as number) + (value - (frame[at] as number)) * m + 0.5;
        // The colour offset can push past the range: clamped, never wrapped.
        frame[at] = out <= 0 ? 0 : out >= 255 ? 255 : out;
      }
    }
  }
}

/**
 * The seam, measured: mean luma gradient magnitude along the mask's half-way contour in the drawn frame,
 * over the same in the untouched frame. 1 is no visible edge; a pasted patch with a hard or mismatched
 * border scores well above.
 */
export function seamRatio(drawn: Uint8Array, untouched: Uint8Array, layout: I420Layout, mask: Float32Array, patchWidth: number, patchHeight: number, place: Similarity): number {
  let drawnSum = 0, baseSum = 0, n = 0;
  const w = layout.width;
  const gradient = (frame: Uint8Array, x: number, y: number) => Math.hypot((frame[y * w + x + 1] as number) - (frame[y * w + x - 1] as number), (frame[(y + 1) * w + x] as number) - (frame[(y - 1) * w + x] as number));
  for (let v = 0; v < patchHeight; v++) {
    for (let u = 0; u < patchWidth; u++) {
      const m = mask[v * patchWidth + u] as number;
      if (m < 0.4 || m > 0.6) continue;
      const x = Math.round(place.a * (u + 0.5) - place.b * (v + 0.5) + place.tx), y = Math.round(place.b * (u + 0.5) + place.a * (v + 0.5) + place.ty);
      if (x < 1 || y < 1 || x >= w - 1 || y >= layout.height - 1) continue;
      drawnSum += gradient(drawn, x, y);
      baseSum += gradient(untouched, x, y);
      n++;
    }
  }
  return n && baseSum > 0 ? drawnSum / baseSum : 1;
}

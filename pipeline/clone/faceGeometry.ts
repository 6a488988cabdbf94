/**
 * What the clone reads from a face mesh (MediaPipe's 468 points, x/y in frame pixels): the mouth's shape,
 * the head's size and turn, and the similarity transform that brings one face onto another. Points are
 * kept as x,y pairs (Float32Array of 936), the z of the mesh is not needed here.
 */

/** Mesh indices the clone uses. */
export const CLONE_MESH = {
  rightEyeOuter: 33, rightEyeInner: 133, leftEyeInner: 362, leftEyeOuter: 263,
  rightEyeUpper: 159, rightEyeLower: 145, leftEyeUpper: 386, leftEyeLower: 374,
  noseTip: 1, noseBottom: 2, chin: 152, rightCheek: 234, leftCheek: 454,
  mouthRight: 61, mouthLeft: 291, upperLipTop: 0, lowerLipBottom: 17,
  innerUpper: 13, innerLower: 14, innerRight: 78, innerLeft: 308,
} as const;

/** Points that do not move when the mouth or jaw does: they place a face (eye corners, nose bridge and tip). */
export const RIGID_POINTS: readonly number[] = [33, 133, 362, 263, 168, 6, 197, 195, 5, 4, 1, 98, 327];

/** The inner lip line, closed (the hole of an open mouth). */
export const INNER_LIPS: readonly number[] = [78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308, 415, 310, 311, 312, 13, 82, 81, 80, 191];

/** The lower face's outline: cheek below the eye, down the jaw, round the chin, up the other side, across under the nose. */
export const LOWER_FACE_OUTLINE: readonly number[] = [
  93, 132, 58, 172, 136, 150, 149, 176, 148, 152, 377, 400, 378, 379, 365, 397, 288, 361, 323, 358, 327, 2, 98, 129,
];

export const MESH_POINT_COUNT = 468;

/** x,y pairs of a mesh with x,y,z per point. */
export function meshXY(points: Float32Array): Float32Array {
  const out = new Float32Array(MESH_POINT_COUNT * 2);
  for (let i = 0; i < MESH_POINT_COUNT; i++) {
    out[i * 2] = points[i * 3] as number;
    out[i * 2 + 1] = points[i * 3 + 1] as number;
  }
  return out;
}

const px = (p: Float32Array, i: number): number => p[i * 2] as number;
const py = (p: Float32Array, i: number): number => p[i * 2 + 1] as number;
export const pointDistance = (p: Float32Array, a: number, b: number): number => Math.hypot(px(p, a) - px(p, b), py(p, a) - py(p, b));

/** The mouth and head as numbers, each mouth measure relative to the eye distance (so independent of size). */
export interface FaceShape {
  /** Outer eye corner to outer eye corner, pixels. */
  readonly eyeDistancePx: number;
  /** Cheek to cheek, pixels. */
  readonly faceWidthPx: number;
  /** Inner lip gap / eye distance. */
  readonly opening: number;
  /** Mouth corner to corner / eye distance. */
  readonly width: number;
  /** Height over width of the outer lips (an "oo" is round, an "ee" is flat). */
  readonly roundness: number;
  /** Head turn left-right, degrees (0 facing the camera; the sign says which way). */
  readonly yawDeg: number;
  /** Head roll, degrees. */
  readonly rollDeg: number;
  /** Eyelid gap / eye width, both eyes averaged (a blink is near 0). */
  readonly eyeOpen: number;
  /** Centre of the rigid points, pixels. */
  readonly cx: number;
  readonly cy: number;
}

/** `yawDeg` comes from the mesh's depth (yawFromMesh); the rest from x,y. */
export function faceShape(p: Float32Array, yawDeg: number): FaceShape {
  const M = CLONE_MESH;
  const eye = pointDistance(p, M.rightEyeOuter, M.leftEyeOuter);
  const mouthW = pointDistance(p, M.mouthRight, M.mouthLeft);
  const outerH = pointDistance(p, M.upperLipTop, M.lowerLipBottom);
  const eyeOpenR = pointDistance(p, M.rightEyeUpper, M.rightEyeLower) / Math.max(1e-6, pointDistance(p, M.rightEyeOuter, M.rightEyeInner));
  const eyeOpenL = pointDistance(p, M.leftEyeUpper, M.leftEyeLower) / Math.max(1e-6, pointDistance(p, M.leftEyeOuter, M.leftEyeInner));
  let cx = 0, cy = 0;
  for (const i of RIGID_POINTS) {
    cx += px(p, i);
    cy += py(p, i);
  }
  return {
    eyeDistancePx: eye,
    faceWidthPx: pointDistance(p, M.rightCheek, M.leftCheek),
    opening: pointDistance(p, M.innerUpper, M.innerLower) / Math.max(1e-6, eye),
    width: mouthW / Math.max(1e-6, eye),
    roundness: outerH / Math.max(1e-6, mouthW),
    yawDeg,
    rollDeg: (Math.atan2(py(p, M.leftEyeOuter) - py(p, M.rightEyeOuter), px(p, M.leftEyeOuter) - px(p, M.rightEyeOuter)) * 180) / Math.PI,
    eyeOpen: (eyeOpenR + eyeOpenL) / 2,
    cx: cx / RIGID_POINTS.length,
    cy: cy / RIGID_POINTS.length,
  };
}

/** Head turn from the mesh's x,y,z points: the angle of the cheek-to-cheek line out of the picture plane. */
export function yawFromMesh(points3: Float32Array): number {
  const M = CLONE_MESH;
  const dx = (points3[M.leftCheek * 3] as number) - (points3[M.rightCheek * 3] as number);
  const dz = (points3[M.leftCheek * 3 + 2] as number) - (points3[M.rightCheek * 3 + 2] as number);
  return (Math.atan2(dz, Math.abs(dx)) * 180) / Math.PI;
}

/** x' = a·x − b·y + tx, y' = b·x + a·y + ty: scale, rotation and shift. */
export interface Similarity {
  readonly a: number;
  readonly b: number;
  readonly tx: number;
  readonly ty: number;
}

/** The least-squares similarity that carries `from`'s `indices` onto `to`'s (Umeyama without reflection). */
export function fitSimilarity(from: Float32Array, to: Float32Array, indices: readonly number[] = RIGID_POINTS): Similarity {
  let fx = 0, fy = 0, tx = 0, ty = 0;
  for (const i of indices) {
    fx += px(from, i); fy += py(from, i); tx += px(to, i); ty += py(to, i);
  }
  const n = indices.length;
  fx /= n; fy /= n; tx /= n; ty /= n;
  let sxx = 0, sxy = 0, norm = 0;
  for (const i of indices) {
    const ux = px(from, i) - fx, uy = py(from, i) - fy, vx = px(to, i) - tx, vy = py(to, i) - ty;
    sxx += ux * vx + uy * vy;
    sxy += ux * vy - uy * vx;
    norm += ux * ux + uy * uy;
  }
  const a = sxx / Math.max(1e-9, norm), b = sxy / Math.max(1e-9, norm);
  return { a, b, tx: tx - (a * fx - b * fy), ty: ty - (b * fx + a * fy) };
}

export function invertSimilarity(t: Similarity): Similarity {
  const d = t.a * t.a + t.b * t.b;
  const a = t.a / d, b = -t.b / d;
  return { a, b, tx: -(a * t.tx - b * t.ty), ty: -(b * t.tx + a * t.ty) };
}

/** Every point of a mesh carried by `t`. */
export function transformPoints(t: Similarity, p: Float32Array): Float32Array {
  const out = new Float32Array(p.length);
  for (let i = 0; i < p.length; i += 2) {
    const x = p[i] as number, y = p[i + 1] as number;
    out[i] = t.a * x - t.b * y + t.tx;
    out[i + 1] = t.b * x + t.a * y + t.ty;
  }
  return out;
}

/** Even-odd point-in-polygon over mesh indices. */
export function insidePolygon(p: Float32Array, polygon: readonly number[], x: number, y: number): boolean {
  let inside = false;
  for (let i = 0, j = polygon.length - 1; i < polygon.length; j = i++) {
    const a = polygon[i] as number, b = polygon[j] as number;
    const ax = px(p, a), ay = py(p, a), bx = px(p, b), by = py(p, b);
    if (ay > y !== by > y && x < ((bx - ax) * (y - ay)) / (by - ay) + ax) inside = !inside;
  }
  return inside;
}

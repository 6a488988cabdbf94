import { loadModel } from '../../models/onnxModels.js';
import { FaceDetector, roiFromDetection } from '../drive/faceDetector.js';
import { FaceLandmarker, roiFromLandmarks, type FaceRoi, type RgbaFrame } from '../drive/faceLandmarks.js';
import { faceShape, yawFromMesh, LOWER_FACE_OUTLINE, meshXY, MESH_POINT_COUNT, RIGID_POINTS, type FaceShape } from './faceGeometry.js';

/** What one frame of a recording shows. */
export interface FrameScan {
  readonly found: boolean;
  /** Faces the detector counted (it runs about once a second and whenever the face is lost); null between. */
  readonly faces: number | null;
  /** The face mesh's confidence. */
  readonly score: number;
  readonly shape: FaceShape | null;
  /** Mean luma (0..255) over the face. */
  readonly brightness: number;
  /** Variance of the Laplacian of luma over the lower face (sharp edges score high, blur low). */
  readonly sharpness: number;
}

/** A whole recording's scan: a row per frame, the landmarks (x,y pairs, NaN where no face) and a small grey picture of each frame. */
export interface RecordingScan {
  readonly width: number;
  readonly height: number;
  readonly fps: number;
  readonly frames: FrameScan[];
  /** frames × 468 × 2. */
  readonly landmarks: Float32Array[];
  readonly thumbs: Uint8Array[];
  readonly thumbWidth: number;
  readonly thumbHeight: number;
}

/** The small grey picture of a frame: enough to tell whether two frames match (a loop's wrap). */
export const THUMB_WIDTH = 64;
/** The detector counts faces this often (frames between), besides whenever the face was lost. */
const DETECT_EVERY_S = 1;
/** A second face counts when the detector is this sure of it and it is not tiny beside the first. */
const SECOND_FACE_SCORE = 0.8;
const SECOND_FACE_MIN_RATIO = 0.35;

/**
 * Looks at every frame of a recording, none skipped (this is not real time): the face detector finds
 * the face and counts faces, the face mesh follows it frame to frame, and each frame's shape, light and
 * sharpness are measured. The models run on one thread.
 */
export class RecordingScanner {
  readonly #detector: FaceDetector;
  readonly #landmarker: FaceLandmarker;
  #roi: FaceRoi | null = null;
  #sinceDetect = Infinity;

  private constructor(detector: FaceDetector, landmarker: FaceLandmarker) {
    this.#detector = detector;
    this.#landmarker = landmarker;
  }

  static async create(): Promise<RecordingScanner> {
    const [detector, mesh] = await Promise.all([loadModel('blazeface'), loadModel('facemesh')]);
    return new RecordingScanner(new FaceDetector(detector), new FaceLandmarker(mesh));
  }

  /** One frame; `fps` sets how often faces are counted. Returns the scan and the landmarks (null when no face). */
  async scan(frame: RgbaFrame, fps: number): Promise<{ scan: FrameScan; points: Float32Array | null }> {
    let faces: number | null = null;
    if (!this.#roi || this.#sinceDetect >= fps * DETECT_EVERY_S) {
      const found = await this.#detector.detect(frame, 0.6);
      const sorted = found.sort((a, b) => b.width * b.height - a.width * a.height);
      const best = sorted[0];
      faces = best ? 1 + sorted.slice(1).filter((f) => f.score >= SECOND_FACE_SCORE && f.width >= best.width * SECOND_FACE_MIN_RATIO).length : 0;
      this.#sinceDetect = 0;
      if (!this.#roi && best) this.#roi = roiFromDetection(best);
    }
    this.#sinceDetect++;
    const none = (score: number): { scan: FrameScan; points: null } => ({ scan: { found: false, faces, score, shape: null, brightness: 0, sharpness: 0 }, points: null });
    if (!this.#roi) return none(0);
    const mesh = await this.#landmarker.detect(frame, this.#roi);
    if (mesh.score < 0.5) {
      this.#roi = null;
      return none(mesh.score);
    }
    this.#roi = roiFromLandmarks(mesh.points);
    const points = meshXY(mesh.points);
    const shape = faceShape(points, yawFromMesh(mesh.points));
    return { scan: { found: true, faces, score: mesh.score, shape, brightness: faceBrightness(frame, points), sharpness: lowerFaceSharpness(frame, points) }, points };
  }
}

function boxOf(points: Float32Array, indices: readonly number[], frame: RgbaFrame): { x0: number; y0: number; x1: number; y1: number } {
  let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
  for (const i of indices) {
    const x = points[i * 2] as number, y = points[i * 2 + 1] as number;
    x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y);
  }
  return { x0: Math.max(0, Math.floor(x0)), y0: Math.max(0, Math.floor(y0)), x1: Math.min(frame.width - 1, Math.ceil(x1)), y1: Math.min(frame.height - 1, Math.ceil(y1)) };
}

const luma = (d: Uint8Array | Uint8ClampedArray, at: number): number => 0.299 * (d[at] as number) + 0.587 * (d[at + 1] as number) + 0.114 * (d[at + 2] as number);

/** Mean luma over the box of the whole mesh, sampled on a grid of about 32x32. */
function faceBrightness(frame: RgbaFrame, points: Float32Array): number {
  const all = Array.from({ length: MESH_POINT_COUNT }, (_, i) => i);
  const b = boxOf(points, all, frame);
  const step = Math.max(1, Math.floor(Math.max(b.x1 - b.x0, b.y1 - b.y0) / 32));
  let sum = 0, n = 0;
  for (let y = b.y0; y <= b.y1; y += step) for (let x = b.x0; x <= b.x1; x += step, n++) sum += luma(frame.data, (y * frame.width + x) * 4);
  return n ? sum / n : 0;
}

/**
 * Variance of the 4-neighbour Laplacian of luma over the lower face's box, measured at a scale where the
 * eye distance is about 64 px (so a big face and a small one are judged alike).
 */
function lowerFaceSharpness(frame: RgbaFrame, points: Float32Array): number {
  const b = boxOf(points, [...LOWER_FACE_OUTLINE, ...RIGID_POINTS], frame);
  const eye = Math.hypot((points[263 * 2] as number) - (points[33 * 2] as number), (points[263 * 2 + 1] as number) - (points[33 * 2 + 1] as number));
  const step = Math.max(1, Math.round(eye / 64));
  let sum = 0, sum2 = 0, n = 0;
  for (let y = b.y0 + step; y <= b.y1 - step; y += step) {
    for (let x = b.x0 + step; x <= b.x1 - step; x += step) {
      const at = (y * frame.width + x) * 4;
      const lap = 4 * luma(frame.data, at) - luma(frame.data, at - 4 * step) - luma(frame.data, at + 4 * step) - luma(frame.data, at - frame.width * 4 * step) - luma(frame.data, at + frame.width * 4 * step);
      sum += lap;
      sum2 += lap * lap;
      n++;
    }
  }
  return n ? sum2 / n - (sum / n) ** 2 : 0;
}

/** The frame as a small grey picture, THUMB_WIDTH wide (box-filtered). */
export function thumbnail(frame: RgbaFrame, thumbWidth = THUMB_WIDTH): { data: Uint8Array; width: number; height: number } {
  const width = thumbWidth, height = Math.max(1, Math.round((frame.height * thumbWidth) / frame.width));
  const out = new Uint8Array(width * height);
  const sx = frame.width / width, sy = frame.height / height;
  const step = Math.max(1, Math.floor(Math.min(sx, sy) / 4));
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let sum = 0, n = 0;
      for (let yy = Math.floor(y * sy); yy < Math.floor((y + 1) * sy); yy += step) {
        for (let xx = Math.floor(x * sx); xx < Math.floor((x + 1) * sx); xx += step, n++) sum += luma(frame.data, (yy * frame.width + xx) * 4);
      }
      out[y * width + x] = n ? Math.round(sum / n) : 0;
    }
  }
  return { data: out, width, height };
}

/** Mean absolute difference of two thumbnails, 0..255. */
export function thumbDifference(a: Uint8Array, b: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs((a[i] as number) - (b[i] as number));
  return sum / a.length;
}

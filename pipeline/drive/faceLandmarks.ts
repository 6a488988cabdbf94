import type { LoadedModel } from '../../models/onnxModels.js';
import { RegionModel } from './regionModel.js';

/** An RGBA picture (the decoded camera frame). */
export interface RgbaFrame {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array | Uint8ClampedArray;
}

/** A square region of the frame: centre, side and rotation (radians, the face's roll). */
export interface FaceRoi {
  readonly cx: number;
  readonly cy: number;
  readonly size: number;
  readonly angle: number;
}

export interface FaceLandmarks {
  /** 468 points (x, y in frame pixels; z in the same scale, relative depth), flattened. */
  readonly points: Float32Array;
  /** The model's confidence that the crop holds a face (0..1). */
  readonly score: number;
}

export const MESH_INPUT = 192;
export const MESH_POINTS = 468;

/**
 * MediaPipe face mesh on one region of a frame: the region is resampled (bilinear, rotated) into the
 * model's 192x192 input in 0..1, and the 468 landmarks are mapped back to frame pixels.
 */
export class FaceLandmarker {
  readonly #region: RegionModel;

  constructor(model: LoadedModel) {
    this.#region = new RegionModel(model, MESH_INPUT);
  }

  async detect(frame: RgbaFrame, roi: FaceRoi): Promise<FaceLandmarks> {
    const out = await this.#region.run(frame, roi);
    const mesh = out.output_mesh?.data as Float32Array | undefined;
    const flag = out.output_faceflag?.data as Float32Array | undefined;
    if (!mesh || !flag) throw new Error('face mesh model gave no output_mesh/output_faceflag');
    const points = new Float32Array(MESH_POINTS * 3);
    const k = roi.size / MESH_INPUT;
    for (let i = 0; i < MESH_POINTS; i++) {
      const p = this.#region.toFrame(roi, mesh[i * 3] as number, mesh[i * 3 + 1] as number);
      points[i * 3] = p.x;
      points[i * 3 + 1] = p.y;
      points[i * 3 + 2] = (mesh[i * 3 + 2] as number) * k;
    }
    return { points, score: flag[0] as number };
  }
}

/** Mesh indices of the outer eye corners (the subject's right, then left), nose tip, upper and lower lip. */
export const MESH = { rightEyeOuter: 33, leftEyeOuter: 263, noseTip: 1, upperLip: 13, lowerLip: 14 } as const;

/** Head roll in degrees from the line through the outer eye corners (0 when level; positive tilts clockwise in the picture). */
export function headRollDeg(points: Float32Array): number {
  const ax = points[MESH.rightEyeOuter * 3] as number, ay = points[MESH.rightEyeOuter * 3 + 1] as number;
  const bx = points[MESH.leftEyeOuter * 3] as number, by = points[MESH.leftEyeOuter * 3 + 1] as number;
  return (Math.atan2(by - ay, bx - ax) * 180) / Math.PI;
}

/**
 * The next frame's region from this frame's landmarks (how tracking follows a face without running the
 * detector): the box of the points in the face's own rotated frame, scaled up for motion, turned by
 * the head roll so the model always sees an upright face.
 */
export function roiFromLandmarks(points: Float32Array, scale = 1.5): FaceRoi {
  const angle = (headRollDeg(points) * Math.PI) / 180;
  const cos = Math.cos(-angle), sin = Math.sin(-angle);
  let minU = Infinity, minV = Infinity, maxU = -Infinity, maxV = -Infinity;
  for (let i = 0; i < MESH_POINTS; i++) {
    const x = points[i * 3] as number, y = points[i * 3 + 1] as number;
    const u = x * cos - y * sin, v = x * sin + y * cos;
    minU = Math.min(minU, u);
    maxU = Math.max(maxU, u);
    minV = Math.min(minV, v);
    maxV = Math.max(maxV, v);
  }
  const cu = (minU + maxU) / 2, cv = (minV + maxV) / 2;
  // Back from the face frame to the picture.
  const c2 = Math.cos(angle), s2 = Math.sin(angle);
  return { cx: cu * c2 - cv * s2, cy: cu * s2 + cv * c2, size: Math.max(maxU - minU, maxV - minV) * scale, angle };
}

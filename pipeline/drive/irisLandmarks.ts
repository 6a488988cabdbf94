import type { LoadedModel } from '../../models/onnxModels.js';
import { headRollDeg, type FaceRoi, type RgbaFrame } from './faceLandmarks.js';
import { RegionModel } from './regionModel.js';

export const IRIS_INPUT = 64;
/** The iris model's output: 71 eye-contour points, then 5 iris points (centre first), x y z each. */
const IRIS_CENTRE = 71;

/** Face-mesh eye corners: the subject's right eye (the picture's left) and left eye. */
export const EYE_CORNERS = { R: { outer: 33, inner: 133 }, L: { outer: 263, inner: 362 } } as const;
export type EyeSide = keyof typeof EYE_CORNERS;

export interface Point2 {
  readonly x: number;
  readonly y: number;
}

/** Iris centres in frame pixels. */
export type Irises = Record<EyeSide, Point2>;

/**
 * The eye's region as MediaPipe's iris pipeline takes it: centred between the corners, 2.3 times the
 * corner distance, turned with the head's roll.
 */
export function eyeRoi(points: Float32Array, side: EyeSide): FaceRoi {
  const { outer, inner } = EYE_CORNERS[side];
  const ox = points[outer * 3] as number, oy = points[outer * 3 + 1] as number;
  const ix = points[inner * 3] as number, iy = points[inner * 3 + 1] as number;
  return { cx: (ox + ix) / 2, cy: (oy + iy) / 2, size: Math.hypot(ox - ix, oy - iy) * 2.3, angle: (headRollDeg(points) * Math.PI) / 180 };
}

/**
 * MediaPipe iris on both eyes of a tracked face. The model knows one eye; the subject's left eye is
 * mirrored into it and its points mirrored back.
 */
export class IrisLandmarker {
  readonly #region: RegionModel;

  constructor(model: LoadedModel) {
    this.#region = new RegionModel(model, IRIS_INPUT);
  }

  async detect(frame: RgbaFrame, mesh: Float32Array): Promise<Irises> {
    return { R: await this.detectEye(frame, mesh, 'R'), L: await this.detectEye(frame, mesh, 'L') };
  }

  /** One eye's iris centre in frame pixels. */
  async detectEye(frame: RgbaFrame, mesh: Float32Array, side: EyeSide): Promise<Point2> {
    const roi = eyeRoi(mesh, side);
    const mirror = side === 'L';
    const out = await this.#region.run(frame, roi, mirror);
    const data = Object.values(out)[0]?.data as Float32Array | undefined;
    if (!data || data.length < (IRIS_CENTRE + 5) * 3) throw new Error('iris model gave no 76-point output');
    return this.#region.toFrame(roi, data[IRIS_CENTRE * 3] as number, data[IRIS_CENTRE * 3 + 1] as number, mirror);
  }
}

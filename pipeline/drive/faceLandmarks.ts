import ort from 'onnxruntime-node';
import type { LoadedModel } from '../../models/onnxModels.js';

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
 * model's 192x192 input in 0..1, and the 468 landmarks are mapped back to frame pixels. The input tensor
 * is allocated once and reused every frame.
 */
export class FaceLandmarker {
  readonly #model: LoadedModel;
  readonly #input = new Float32Array(MESH_INPUT * MESH_INPUT * 3);
  readonly #tensor: ort.Tensor;

  constructor(model: LoadedModel) {
    this.#model = model;
    this.#tensor = new ort.Tensor('float32', this.#input, [1, MESH_INPUT, MESH_INPUT, 3]);
  }

  async detect(frame: RgbaFrame, roi: FaceRoi): Promise<FaceLandmarks> {
    if (frame.width < 1 || frame.height < 1 || frame.data.length < frame.width * frame.height * 4) throw new RangeError(`frame ${frame.width}x${frame.height} has no pixels`);
    cropInto(frame, roi, this.#input, MESH_INPUT);
    const name = this.#model.entry.input?.name ?? 'input_1';
    const out = await this.#model.session.run({ [name]: this.#tensor });
    const mesh = out.output_mesh?.data as Float32Array | undefined;
    const flag = out.output_faceflag?.data as Float32Array | undefined;
    if (!mesh || !flag) throw new Error('face mesh model gave no output_mesh/output_faceflag');
    const points = new Float32Array(MESH_POINTS * 3);
    const cos = Math.cos(roi.angle), sin = Math.sin(roi.angle);
    const k = roi.size / MESH_INPUT;
    for (let i = 0; i < MESH_POINTS; i++) {
      const u = ((mesh[i * 3] as number) - MESH_INPUT / 2) * k;
      const v = ((mesh[i * 3 + 1] as number) - MESH_INPUT / 2) * k;
      points[i * 3] = roi.cx + u * cos - v * sin;
      points[i * 3 + 1] = roi.cy + u * sin + v * cos;
      points[i * 3 + 2] = (mesh[i * 3 + 2] as number) * k;
    }
    return { points, score: flag[0] as number };
  }
}

/** Bilinear, rotated crop of `roi` into an NHWC float image of side `size`, values 0..1; outside is black. */
export function cropInto(frame: RgbaFrame, roi: FaceRoi, out: Float32Array, size: number): void {
  const { width, height, data } = frame;
  const cos = Math.cos(roi.angle), sin = Math.sin(roi.angle);
  const k = roi.size / size;
  const inv = 1 / 255;
  for (let y = 0; y < size; y++) {
    const v = (y + 0.5 - size / 2) * k;
    // Walk the row incrementally: each step moves (k·cos, k·sin) in the frame.
    let fx = roi.cx + (0.5 - size / 2) * k * cos - v * sin - 0.5;
    let fy = roi.cy + (0.5 - size / 2) * k * sin + v * cos - 0.5;
    const stepX = k * cos, stepY = k * sin;
    let o = y * size * 3;
    for (let x = 0; x < size; x++, fx += stepX, fy += stepY, o += 3) {
      const x0 = Math.floor(fx), y0 = Math.floor(fy);
      const ax = fx - x0, ay = fy - y0;
      const w00 = (1 - ax) * (1 - ay), w10 = ax * (1 - ay), w01 = (1 - ax) * ay, w11 = ax * ay;
      let r = 0, g = 0, b = 0;
      if (x0 >= 0 && y0 >= 0 && x0 + 1 < width && y0 + 1 < height) {
        const p00 = (y0 * width + x0) * 4, p10 = p00 + 4, p01 = p00 + width * 4, p11 = p01 + 4;
        r = (data[p00] as number) * w00 + (data[p10] as number) * w10 + (data[p01] as number) * w01 + (data[p11] as number) * w11;
        g = (data[p00 + 1] as number) * w00 + (data[p10 + 1] as number) * w10 + (data[p01 + 1] as number) * w01 + (data[p11 + 1] as number) * w11;
        b = (data[p00 + 2] as number) * w00 + (data[p10 + 2] as number) * w10 + (data[p01 + 2] as number) * w01 + (data[p11 + 2] as number) * w11;
      } else {
        // At the frame's edge: each of the four taps counts only when inside (outside is black).
        for (const [px, py, w] of [[x0, y0, w00], [x0 + 1, y0, w10], [x0, y0 + 1, w01], [x0 + 1, y0 + 1, w11]] as const) {
          if (px < 0 || py < 0 || px >= width || py >= height) continue;
          const at = (py * width + px) * 4;
          r += (data[at] as number) * w;
          g += (data[at + 1] as number) * w;
          b += (data[at + 2] as number) * w;
        }
      }
      out[o] = r * inv;
      out[o + 1] = g * inv;
      out[o + 2] = b * inv;
    }
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

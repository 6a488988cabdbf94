import ort from 'onnxruntime-node';
import type { LoadedModel } from '../../models/onnxModels.js';
import type { FaceRoi, RgbaFrame } from './faceLandmarks.js';

/** Refuses frames without pixels (a 0x0 frame or a short buffer) with a clear error. */
export function assertFrame(frame: RgbaFrame): void {
  if (frame.width < 1 || frame.height < 1 || frame.data.length < frame.width * frame.height * 4) throw new RangeError(`frame ${frame.width}x${frame.height} has no pixels`);
}

/**
 * A landmark model that looks at one square, rotated region of a frame: the region is resampled into
 * the model's input (allocated once, reused every frame) and the session is run on it.
 */
export class RegionModel {
  readonly model: LoadedModel;
  readonly size: number;
  readonly #input: Float32Array;
  readonly #tensor: ort.Tensor;

  constructor(model: LoadedModel, size: number) {
    this.model = model;
    this.size = size;
    this.#input = new Float32Array(size * size * 3);
    this.#tensor = new ort.Tensor('float32', this.#input, [1, size, size, 3]);
  }

  /** `mirror` flips the crop left-right (a model trained on one eye sees the other one as its own). */
  async run(frame: RgbaFrame, roi: FaceRoi, mirror = false): Promise<ort.InferenceSession.OnnxValueMapType> {
    assertFrame(frame);
    cropInto(frame, roi, this.#input, this.size, mirror);
    return this.model.session.run({ [this.model.entry.input?.name ?? 'input_1']: this.#tensor });
  }

  /** Maps a point of the model's input (pixels) back into the frame. */
  toFrame(roi: FaceRoi, x: number, y: number, mirror = false): { x: number; y: number } {
    const k = roi.size / this.size;
    const u = (mirror ? this.size / 2 - x : x - this.size / 2) * k, v = (y - this.size / 2) * k;
    const cos = Math.cos(roi.angle), sin = Math.sin(roi.angle);
    return { x: roi.cx + u * cos - v * sin, y: roi.cy + u * sin + v * cos };
  }
}

/** Bilinear, rotated (optionally mirrored) crop of `roi` into an NHWC float image of side `size`, values 0..1; outside is black. */
export function cropInto(frame: RgbaFrame, roi: FaceRoi, out: Float32Array, size: number, mirror = false): void {
  const { width, height, data } = frame;
  const cos = Math.cos(roi.angle), sin = Math.sin(roi.angle);
  const k = roi.size / size;
  // Across a row the crop walks +k (or -k when mirrored) in the region's own x.
  const u0 = (mirror ? size / 2 - 0.5 : 0.5 - size / 2) * k;
  const du = mirror ? -k : k;
  const inv = 1 / 255;
  for (let y = 0; y < size; y++) {
    const v = (y + 0.5 - size / 2) * k;
    // Walk the row incrementally: each step moves (k·cos, k·sin) in the frame.
    let fx = roi.cx + u0 * cos - v * sin - 0.5;
    let fy = roi.cy + u0 * sin + v * cos - 0.5;
    const stepX = du * cos, stepY = du * sin;
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

import ort from 'onnxruntime-node';
import { loadModel, type LoadedModel } from '../../models/onnxModels.js';
import type { RgbaFrame } from '../drive/faceLandmarks.js';

/**
 * The person in a clone's loop, separated from the room they were filmed in, so the clone can stand over a
 * scene: a chroma key when the recording was shot against a green or blue screen (sharp, hair included),
 * otherwise MediaPipe's selfie segmentation (256x256, soft, good enough at a host's distance).
 */

export type MatteMethod = 'chroma' | 'segmentation';

export interface ScreenKey {
  readonly r: number;
  readonly g: number;
  readonly b: number;
}

/** A border sample counts for a screen when its channel leads the other two by this much (8-bit). */
const SCREEN_LEAD = 30;
/** Share of the border samples that must be screen-coloured to key. */
const SCREEN_SHARE = 0.75;
/** The model's side. */
export const SEGMENTATION_SIZE = 256;

/**
 * The screen's colour when the frame's border (the top and the sides above the shoulders, where a host's
 * room shows) is mostly green or mostly blue; null for any other room.
 */
export function detectScreen(frame: RgbaFrame): ScreenKey | null {
  const { width, height, data } = frame;
  const sums = { green: [0, 0, 0, 0], blue: [0, 0, 0, 0] };
  let samples = 0;
  const visit = (x: number, y: number) => {
    const at = (y * width + x) * 4;
    const r = data[at] as number, g = data[at + 1] as number, b = data[at + 2] as number;
    samples++;
    const sum = g - Math.max(r, b) > SCREEN_LEAD ? sums.green : b - Math.max(r, g) > SCREEN_LEAD ? sums.blue : null;
    if (!sum) return;
    sum[0] = (sum[0] as number) + r;
    sum[1] = (sum[1] as number) + g;
    sum[2] = (sum[2] as number) + b;
    sum[3] = (sum[3] as number) + 1;
  };
  const band = Math.max(2, Math.round(height * 0.06)), side = Math.max(2, Math.round(width * 0.06));
  for (let y = 0; y < band; y += 2) for (let x = 0; x < width; x += 4) visit(x, y);
  for (let y = band; y < Math.round(height * 0.6); y += 4) {
    for (let x = 0; x < side; x += 2) {
      visit(x, y);
      visit(width - 1 - x, y);
    }
  }
  for (const sum of [sums.green, sums.blue]) {
    const n = sum[3] as number;
    if (n >= samples * SCREEN_SHARE) return { r: (sum[0] as number) / n, g: (sum[1] as number) / n, b: (sum[2] as number) / n };
  }
  return null;
}

/** BT.709 colour difference (Cb, Cr), unscaled: what a key compares, whatever the light on the screen. */
function chroma(r: number, g: number, b: number): [number, number] {
  const y = 0.2126 * r + 0.7152 * g + 0.0722 * b;
  return [(b - y) / 1.8556, (r - y) / 1.5748];
}

/**
 * Chroma key: alpha 0 where a pixel's colour difference is the screen's, 255 from half the screen's
 * saturation away, smooth between. Pixels on the edge (alpha between) lose the screen's spill: its
 * dominant channel is held to the larger of the other two, in `frame` itself.
 */
export function chromaMatte(frame: RgbaFrame, key: ScreenKey, alpha: Uint8Array): void {
  const { width, height } = frame;
  const data = frame.data;
  const [kb, kr] = chroma(key.r, key.g, key.b);
  const saturation = Math.hypot(kb, kr);
  const lo = 0.22 * saturation, hi = 0.45 * saturation;
  const green = key.g >= key.b;
  for (let i = 0, n = width * height; i < n; i++) {
    const at = i * 4;
    const r = data[at] as number, g = data[at + 1] as number, b = data[at + 2] as number;
    const [cb, cr] = chroma(r, g, b);
    const t = Math.max(0, Math.min(1, (Math.hypot(cb - kb, cr - kr) - lo) / (hi - lo)));
    const a = Math.round(255 * t * t * (3 - 2 * t));
    alpha[i] = a;
    if (a === 0 || a === 255) continue;
    if (green) data[at + 1] = Math.min(g, Math.max(r, b));
    else data[at + 2] = Math.min(b, Math.max(r, g));
  }
}

/** MediaPipe selfie segmentation (converted to ONNX with the other models): a frame in, the person's 256x256 mask out. */
export class SegmentationMatte {
  readonly #model: LoadedModel;
  readonly #input = new Float32Array(SEGMENTATION_SIZE * SEGMENTATION_SIZE * 3);

  private constructor(model: LoadedModel) {
    this.#model = model;
  }

  static async create(): Promise<SegmentationMatte> {
    return new SegmentationMatte(await loadModel('selfie'));
  }

  /** The person's mask, 0..255, SEGMENTATION_SIZE square (the frame stretched to it, as the model was trained). */
  async mask(frame: RgbaFrame): Promise<Uint8Array> {
    const { width, height, data } = frame;
    const s = SEGMENTATION_SIZE, input = this.#input;
    // Bilinear samples at each model pixel's centre.
    for (let y = 0; y < s; y++) {
      const fy = Math.min(height - 1.001, Math.max(0, ((y + 0.5) * height) / s - 0.5));
      const y0 = Math.floor(fy), wy = fy - y0;
      for (let x = 0; x < s; x++) {
        const fx = Math.min(width - 1.001, Math.max(0, ((x + 0.5) * width) / s - 0.5));
        const x0 = Math.floor(fx), wx = fx - x0;
        const a = (y0 * width + x0) * 4, b = a + width * 4;
        for (let c = 0; c < 3; c++) {
          const top = (data[a + c] as number) * (1 - wx) + (data[a + 4 + c] as number) * wx;
          const bottom = (data[b + c] as number) * (1 - wx) + (data[b + 4 + c] as number) * wx;
          input[(y * s + x) * 3 + c] = (top * (1 - wy) + bottom * wy) / 255;
        }
      }
    }
    const name = this.#model.entry.input?.name ?? 'input_1';
    const out = await this.#model.session.run({ [name]: new ort.Tensor('float32', input, [1, s, s, 3]) });
    const probability = Object.values(out)[0]?.data as Float32Array;
    const mask = new Uint8Array(s * s);
    for (let i = 0; i < mask.length; i++) mask[i] = Math.round(255 * Math.max(0, Math.min(1, probability[i] as number)));
    return mask;
  }
}

/**
 * Steadies a loop's masks: each the weighted mean (1, 2, 1) of itself and its neighbours, wrapping round
 * (the loop plays round, so its first and last frames are neighbours too). The model sees each frame
 * alone and its edge flickers by a pixel or two otherwise.
 */
export function steadyMasks(masks: readonly Uint8Array[]): Uint8Array[] {
  const n = masks.length;
  if (n < 3) return masks.map((m) => Uint8Array.from(m));
  return masks.map((mask, f) => {
    const before = masks[(f + n - 1) % n] as Uint8Array, after = masks[(f + 1) % n] as Uint8Array;
    const out = new Uint8Array(mask.length);
    for (let i = 0; i < out.length; i++) out[i] = ((before[i] as number) + 2 * (mask[i] as number) + (after[i] as number) + 2) >> 2;
    return out;
  });
}

/**
 * A model mask at the frame's size: bilinear, then its soft middle (0.3..0.7 of the model's belief)
 * stretched to the full range, so the edge is a few pixels wide, not a blur the size of a model pixel.
 */
export function upscaleMask(mask: Uint8Array, width: number, height: number, alpha: Uint8Array): void {
  const s = SEGMENTATION_SIZE;
  const lo = 0.3 * 255, hi = 0.7 * 255;
  for (let y = 0; y < height; y++) {
    const fy = Math.min(s - 1.001, Math.max(0, ((y + 0.5) * s) / height - 0.5));
    const y0 = Math.floor(fy), wy = fy - y0;
    for (let x = 0; x < width; x++) {
      const fx = Math.min(s - 1.001, Math.max(0, ((x + 0.5) * s) / width - 0.5));
      const x0 = Math.floor(fx), wx = fx - x0;
      const a = y0 * s + x0;
      const top = (mask[a] as number) * (1 - wx) + (mask[a + 1] as number) * wx;
      const bottom = (mask[a + s] as number) * (1 - wx) + (mask[a + s + 1] as number) * wx;
      const t = Math.max(0, Math.min(1, (top * (1 - wy) + bottom * wy - lo) / (hi - lo)));
      alpha[y * width + x] = Math.round(255 * t * t * (3 - 2 * t));
    }
  }
}

import ort from 'onnxruntime-node';
import type { LoadedModel } from '../../models/onnxModels.js';
import type { FaceRoi, RgbaFrame } from './faceLandmarks.js';
import { assertFrame } from './regionModel.js';

export interface DetectedFace {
  /** Box in frame pixels. */
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
  readonly score: number;
  /** Six keypoints (right eye, left eye, nose, mouth, right ear, left ear), frame pixels. */
  readonly keypoints: readonly { readonly x: number; readonly y: number }[];
}

const SIZE = 256;

/** SSD anchor centres of MediaPipe's 256x256 face detector: strides 16 (2 per cell) and 32 (6 per cell). */
function anchors(): Float32Array {
  const out: number[] = [];
  for (const [stride, perCell] of [[16, 2], [32, 6]] as const) {
    const n = SIZE / stride;
    for (let y = 0; y < n; y++) for (let x = 0; x < n; x++) for (let k = 0; k < perCell; k++) out.push((x + 0.5) / n, (y + 0.5) / n);
  }
  return Float32Array.from(out);
}

/**
 * BlazeFace (the 256x256 MediaPipe face detector): finds faces in a whole frame, for when tracking has
 * lost the face. The frame is letterboxed into the model's square input in -1..1; boxes are decoded
 * against the anchors and overlapping ones merged by weighted non-maximum suppression.
 */
export class FaceDetector {
  readonly #model: LoadedModel;
  readonly #input = new Float32Array(SIZE * SIZE * 3);
  readonly #tensor: ort.Tensor;
  readonly #anchors = anchors();

  constructor(model: LoadedModel) {
    this.#model = model;
    this.#tensor = new ort.Tensor('float32', this.#input, [1, SIZE, SIZE, 3]);
  }

  async detect(frame: RgbaFrame, minScore = 0.6): Promise<DetectedFace[]> {
    assertFrame(frame);
    // Letterbox: the longer side fits 256, centred.
    const side = Math.max(frame.width, frame.height);
    const scale = side / SIZE;
    const ox = (side - frame.width) / 2, oy = (side - frame.height) / 2;
    const { data, width, height } = frame;
    // At most ~6x6 taps per input pixel: an 8K frame costs about what a 1080p one does.
    const step = Math.max(1, Math.floor(scale / 6));
    for (let y = 0; y < SIZE; y++) {
      for (let x = 0; x < SIZE; x++) {
        // Box filter over the source pixels under this input pixel (frames are usually much larger).
        const sx0 = Math.floor(x * scale - ox), sy0 = Math.floor(y * scale - oy);
        const sx1 = Math.max(sx0 + 1, Math.floor((x + 1) * scale - ox)), sy1 = Math.max(sy0 + 1, Math.floor((y + 1) * scale - oy));
        let r = 0, g = 0, b = 0, n = 0;
        for (let sy = Math.max(0, sy0); sy < Math.min(height, sy1); sy += step) {
          for (let sx = Math.max(0, sx0); sx < Math.min(width, sx1); sx += step) {
            const at = (sy * width + sx) * 4;
            r += data[at] as number;
            g += data[at + 1] as number;
            b += data[at + 2] as number;
            n++;
          }
        }
        const o = (y * SIZE + x) * 3;
        this.#input[o] = n ? r / n / 127.5 - 1 : -1;
        this.#input[o + 1] = n ? g / n / 127.5 - 1 : -1;
        this.#input[o + 2] = n ? b / n / 127.5 - 1 : -1;
      }
    }
    const out = await this.#model.session.run({ [this.#model.entry.input?.name ?? 'input']: this.#tensor });
    const boxes = [out.Identity_2?.data as Float32Array, out.Identity_3?.data as Float32Array];
    const logits = [out.Identity?.data as Float32Array, out.Identity_1?.data as Float32Array];
    if (boxes.some((b) => !b) || logits.some((l) => !l)) throw new Error('face detector gave unexpected outputs');
    const candidates: DetectedFace[] = [];
    let anchor = 0;
    for (let part = 0; part < 2; part++) {
      const box = boxes[part] as Float32Array, logit = logits[part] as Float32Array;
      for (let i = 0; i < logit.length; i++, anchor++) {
        const score = 1 / (1 + Math.exp(-Math.max(-100, Math.min(100, logit[i] as number))));
        if (score < minScore) continue;
        const ax = this.#anchors[anchor * 2] as number, ay = this.#anchors[anchor * 2 + 1] as number;
        const r = (k: number) => box[i * 16 + k] as number;
        const toFrame = (u: number, v: number) => ({ x: u * side - ox, y: v * side - oy });
        const centre = toFrame(ax + r(0) / SIZE, ay + r(1) / SIZE);
        const w = (r(2) / SIZE) * side, h = (r(3) / SIZE) * side;
        const keypoints = Array.from({ length: 6 }, (_, k) => toFrame(ax + r(4 + k * 2) / SIZE, ay + r(5 + k * 2) / SIZE));
        candidates.push({ x: centre.x - w / 2, y: centre.y - h / 2, width: w, height: h, score, keypoints });
      }
    }
    return weightedNms(candidates);
  }
}

function iou(a: DetectedFace, b: DetectedFace): number {
  const x0 = Math.max(a.x, b.x), y0 = Math.max(a.y, b.y);
  const x1 = Math.min(a.x + a.width, b.x + b.width), y1 = Math.min(a.y + a.height, b.y + b.height);
  const inter = Math.max(0, x1 - x0) * Math.max(0, y1 - y0);
  return inter / (a.width * a.height + b.width * b.height - inter);
}

/** Overlapping detections of one face are averaged by score (steadier than keeping only the best). */
function weightedNms(faces: DetectedFace[], threshold = 0.3): DetectedFace[] {
  const left = [...faces].sort((a, b) => b.score - a.score);
  const out: DetectedFace[] = [];
  while (left.length > 0) {
    const best = left[0] as DetectedFace;
    const group = left.filter((f) => iou(best, f) > threshold);
    for (const f of group) left.splice(left.indexOf(f), 1);
    const total = group.reduce((s, f) => s + f.score, 0);
    const avg = (get: (f: DetectedFace) => number) => group.reduce((s, f) => s + get(f) * f.score, 0) / total;
    out.push({
      x: avg((f) => f.x), y: avg((f) => f.y), width: avg((f) => f.width), height: avg((f) => f.height), score: best.score,
      keypoints: best.keypoints.map((_, k) => ({ x: avg((f) => (f.keypoints[k] as { x: number }).x), y: avg((f) => (f.keypoints[k] as { y: number }).y) })),
    });
  }
  return out;
}

/** A face mesh region from a detection: centred on the box, roll from the eye keypoints. */
export function roiFromDetection(face: DetectedFace, scale = 1.6): FaceRoi {
  const [re, le] = face.keypoints as [{ x: number; y: number }, { x: number; y: number }];
  return { cx: face.x + face.width / 2, cy: face.y + face.height / 2, size: Math.max(face.width, face.height) * scale, angle: Math.atan2(le.y - re.y, le.x - re.x) };
}

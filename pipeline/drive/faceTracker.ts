import { loadModel, type ExecutionProvider } from '../../models/onnxModels.js';
import { FaceDetector, roiFromDetection } from './faceDetector.js';
import { FaceLandmarker, roiFromLandmarks, type FaceRoi, type RgbaFrame } from './faceLandmarks.js';
import { DEFAULT_NEUTRAL, FaceRigSmoother, faceToRig, measureFace, type FaceMeasures, type FaceRig } from './retarget.js';

export interface FaceResult {
  readonly found: boolean;
  readonly rig: FaceRig | null;
  readonly score: number;
  /** Inference time of this frame (detector and/or mesh), ms. */
  readonly ms: number;
}

/**
 * Face tracking on a stream of frames: the detector runs only while no face is tracked; otherwise the
 * face mesh runs on the region that follows the previous landmarks. Landmarks become rig values
 * against the calibrated neutral face, One-Euro smoothed.
 */
export class FaceTracker {
  readonly #detector: FaceDetector;
  readonly #landmarker: FaceLandmarker;
  readonly #smoother = new FaceRigSmoother();
  #roi: FaceRoi | null = null;
  #neutral: FaceMeasures = DEFAULT_NEUTRAL;
  #last: FaceMeasures | null = null;

  private constructor(detector: FaceDetector, landmarker: FaceLandmarker) {
    this.#detector = detector;
    this.#landmarker = landmarker;
  }

  static async create(provider: ExecutionProvider = 'cpu', log?: (message: string) => void): Promise<FaceTracker> {
    const [detector, mesh] = await Promise.all([loadModel('blazeface', { provider, log }), loadModel('facemesh', { provider, log })]);
    return new FaceTracker(new FaceDetector(detector), new FaceLandmarker(mesh));
  }

  /** Makes the current face the neutral one (the operator's "calibrate" button). */
  calibrate(): boolean {
    if (!this.#last) return false;
    this.#neutral = this.#last;
    return true;
  }

  async track(frame: RgbaFrame, timeS: number): Promise<FaceResult> {
    const t0 = performance.now();
    if (!this.#roi) {
      const faces = await this.#detector.detect(frame);
      const best = faces.sort((a, b) => b.width * b.height - a.width * a.height)[0];
      if (!best) return { found: false, rig: null, score: 0, ms: performance.now() - t0 };
      this.#roi = roiFromDetection(best);
    }
    const mesh = await this.#landmarker.detect(frame, this.#roi);
    if (mesh.score < 0.5) {
      this.#roi = null;
      this.#smoother.reset();
      return { found: false, rig: null, score: mesh.score, ms: performance.now() - t0 };
    }
    this.#roi = roiFromLandmarks(mesh.points);
    const measures = measureFace(mesh.points);
    this.#last = measures;
    const rig = this.#smoother.smooth(faceToRig(measures, this.#neutral), timeS);
    return { found: true, rig, score: mesh.score, ms: performance.now() - t0 };
  }
}

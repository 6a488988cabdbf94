import { loadModel, type ExecutionProvider } from '../../models/onnxModels.js';
import { FaceDetector, roiFromDetection } from './faceDetector.js';
import { FaceLandmarker, roiFromLandmarks, type FaceRoi, type RgbaFrame } from './faceLandmarks.js';
import { bodyRoiFromFace, PoseLandmarker, shoulderTiltDeg } from './poseLandmarks.js';
import { DEFAULT_NEUTRAL, FaceRigSmoother, faceToRig, measureFace, type DriveRig, type FaceMeasures } from './retarget.js';

export interface FaceResult {
  readonly found: boolean;
  readonly rig: DriveRig | null;
  readonly score: number;
  /** Inference time of this frame (detector, mesh and pose when it ran), ms. */
  readonly ms: number;
  /** The body: whether the shoulders were seen the last time pose ran, and that run's time. */
  readonly pose: { readonly found: boolean; readonly ms: number; readonly ran: boolean };
}

/** Pose runs on every n-th tracked frame: the body moves slower than the face and costs 3x more. */
const POSE_EVERY = 2;

/**
 * Face tracking on a stream of frames: the detector runs only while no face is tracked; otherwise the
 * face mesh runs on the region that follows the previous landmarks. Landmarks become rig values
 * against the calibrated neutral face, One-Euro smoothed.
 */
export class FaceTracker {
  readonly #detector: FaceDetector;
  readonly #landmarker: FaceLandmarker;
  readonly #poser: PoseLandmarker;
  readonly #smoother = new FaceRigSmoother();
  #roi: FaceRoi | null = null;
  #neutral: FaceMeasures = DEFAULT_NEUTRAL;
  #last: FaceMeasures | null = null;
  #tilt: number | null = null;
  #neutralTilt = 0;
  #frames = 0;

  private constructor(detector: FaceDetector, landmarker: FaceLandmarker, poser: PoseLandmarker) {
    this.#detector = detector;
    this.#landmarker = landmarker;
    this.#poser = poser;
  }

  static async create(provider: ExecutionProvider = 'cpu', log?: (message: string) => void): Promise<FaceTracker> {
    const [detector, mesh, pose] = await Promise.all([loadModel('blazeface', { provider, log }), loadModel('facemesh', { provider, log }), loadModel('blazepose-lite', { provider, log })]);
    return new FaceTracker(new FaceDetector(detector), new FaceLandmarker(mesh), new PoseLandmarker(pose));
  }

  /** Makes the current face (and shoulder line) the neutral one (the operator's "calibrate" button). */
  calibrate(): boolean {
    if (!this.#last) return false;
    this.#neutral = this.#last;
    if (this.#tilt !== null) this.#neutralTilt = this.#tilt;
    return true;
  }

  async track(frame: RgbaFrame, timeS: number): Promise<FaceResult> {
    const t0 = performance.now();
    if (!this.#roi) {
      const faces = await this.#detector.detect(frame);
      const best = faces.sort((a, b) => b.width * b.height - a.width * a.height)[0];
      if (!best) return { found: false, rig: null, score: 0, ms: performance.now() - t0, pose: { found: false, ms: 0, ran: false } };
      this.#roi = roiFromDetection(best);
    }
    const mesh = await this.#landmarker.detect(frame, this.#roi);
    if (mesh.score < 0.5) {
      this.#roi = null;
      this.#smoother.reset();
      this.#tilt = null;
      return { found: false, rig: null, score: mesh.score, ms: performance.now() - t0, pose: { found: false, ms: 0, ran: false } };
    }
    this.#roi = roiFromLandmarks(mesh.points);
    const measures = measureFace(mesh.points);
    this.#last = measures;
    const rig: DriveRig = faceToRig(measures, this.#neutral);
    let poseMs = 0;
    const ran = this.#frames++ % POSE_EVERY === 0;
    if (ran) {
      const t1 = performance.now();
      const pose = await this.#poser.detect(frame, bodyRoiFromFace(this.#roi));
      this.#tilt = pose.score > 0.5 ? shoulderTiltDeg(pose) : null;
      poseMs = performance.now() - t1;
    }
    // Mirrored like the face: the shoulders' tilt leans the avatar's body.
    if (this.#tilt !== null) rig.bodyLeanDeg = Math.max(-12, Math.min(12, -(this.#tilt - this.#neutralTilt)));
    const smoothed = this.#smoother.smooth(rig, timeS);
    return { found: true, rig: smoothed, score: mesh.score, ms: performance.now() - t0, pose: { found: this.#tilt !== null, ms: poseMs, ran } };
  }
}

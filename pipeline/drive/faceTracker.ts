import { loadModel, type ExecutionProvider } from '../../models/onnxModels.js';
import { FaceDetector, roiFromDetection } from './faceDetector.js';
import { FaceLandmarker, roiFromLandmarks, type FaceRoi, type RgbaFrame } from './faceLandmarks.js';
import { IrisLandmarker } from './irisLandmarks.js';
import { armAngles, bodyRoiFromFace, PoseLandmarker, shoulderTiltDeg, type ArmAngles } from './poseLandmarks.js';
import { DEFAULT_NEUTRAL, FaceRigSmoother, faceToRig, meanGaze, measureEyeGaze, measureFace, type DriveRig, type FaceMeasures, type GazeMeasure } from './retarget.js';

/** Inference time of one frame per stage, ms; null where the stage did not run on this frame. */
export interface StageTimes {
  /** Detector (when the face was lost) and face mesh. */
  readonly face: number;
  /** One eye's iris (the eyes take turns). */
  readonly iris: number | null;
  readonly pose: number | null;
}

/** Where the models run and which body model (the channel's `drive` config). */
export interface TrackingOptions {
  readonly provider: ExecutionProvider;
  readonly poseModel: 'lite' | 'full';
}

export interface FaceResult {
  readonly found: boolean;
  readonly rig: DriveRig | null;
  readonly score: number;
  readonly ms: StageTimes;
  /** Whether the shoulders were seen the last time pose ran. */
  readonly poseFound: boolean;
}

/**
 * The face mesh runs on every frame (lids and lips are quick); the body and each iris take turns on the
 * frames in between (shoulders and gaze move slower), so a frame pays for the mesh and one more model.
 */
const TURNS = ['pose', 'R', 'L'] as const;

/**
 * Face tracking on a stream of frames: the detector runs only while no face is tracked; otherwise the
 * face mesh runs on the region that follows the previous landmarks. Landmarks become rig values
 * against the calibrated neutral face, One-Euro smoothed.
 */
export class FaceTracker {
  readonly #detector: FaceDetector;
  readonly #landmarker: FaceLandmarker;
  readonly #iris: IrisLandmarker;
  readonly #poser: PoseLandmarker;
  readonly #smoother = new FaceRigSmoother();
  #roi: FaceRoi | null = null;
  #neutral: FaceMeasures = DEFAULT_NEUTRAL;
  #last: FaceMeasures | null = null;
  /** The latest gaze measure of each eye (relative to its corners, so it holds across frames). */
  #eyes: { R: GazeMeasure | null; L: GazeMeasure | null } = { R: null, L: null };
  #tilt: number | null = null;
  #arms: { left: ArmAngles | null; right: ArmAngles | null } = { left: null, right: null };
  #neutralTilt = 0;
  #frames = 0;

  private constructor(detector: FaceDetector, landmarker: FaceLandmarker, iris: IrisLandmarker, poser: PoseLandmarker) {
    this.#detector = detector;
    this.#landmarker = landmarker;
    this.#iris = iris;
    this.#poser = poser;
  }

  static async create(options: TrackingOptions = { provider: 'cpu', poseModel: 'lite' }, log?: (message: string) => void): Promise<FaceTracker> {
    const load = (id: string) => loadModel(id, { provider: options.provider, log });
    const [detector, mesh, iris, pose] = await Promise.all([load('blazeface'), load('facemesh'), load('iris'), load(`blazepose-${options.poseModel}`)]);
    return new FaceTracker(new FaceDetector(detector), new FaceLandmarker(mesh), new IrisLandmarker(iris), new PoseLandmarker(pose));
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
    const lost = (score: number): FaceResult => ({ found: false, rig: null, score, ms: { face: performance.now() - t0, iris: null, pose: null }, poseFound: false });
    if (!this.#roi) {
      const faces = await this.#detector.detect(frame);
      const best = faces.sort((a, b) => b.width * b.height - a.width * a.height)[0];
      if (!best) return lost(0);
      this.#roi = roiFromDetection(best);
    }
    const mesh = await this.#landmarker.detect(frame, this.#roi);
    if (mesh.score < 0.5) {
      this.#roi = null;
      this.#smoother.reset();
      this.#tilt = null;
      this.#arms = { left: null, right: null };
      this.#eyes = { R: null, L: null };
      return lost(mesh.score);
    }
    this.#roi = roiFromLandmarks(mesh.points);
    const faceMs = performance.now() - t0;
    let irisMs: number | null = null, poseMs: number | null = null;
    const t1 = performance.now();
    const turn = TURNS[this.#frames++ % TURNS.length] ?? 'pose';
    if (turn !== 'pose') {
      this.#eyes[turn] = measureEyeGaze(mesh.points, turn, await this.#iris.detectEye(frame, mesh.points, turn));
      irisMs = performance.now() - t1;
    } else {
      const pose = await this.#poser.detect(frame, bodyRoiFromFace(this.#roi));
      this.#tilt = pose.score > 0.5 ? shoulderTiltDeg(pose) : null;
      this.#arms = pose.score > 0.5 ? armAngles(pose) : { left: null, right: null };
      poseMs = performance.now() - t1;
    }
    const { R, L } = this.#eyes;
    const measures = measureFace(mesh.points, R && L ? meanGaze(R, L) : (R ?? L));
    this.#last = measures;
    const rig: DriveRig = faceToRig(measures, this.#neutral);
    // Mirrored like the face: the shoulders' tilt leans the avatar's body.
    if (this.#tilt !== null) rig.bodyLeanDeg = Math.max(-12, Math.min(12, -(this.#tilt - this.#neutralTilt)));
    // Arms: outward angles read the same in a mirror; the person's right arm is the rig's R side.
    const { left, right } = this.#arms;
    if (right) Object.assign(rig, { armUpperRDeg: right.upperDeg }, right.forearmDeg === null ? {} : { forearmRDeg: right.forearmDeg });
    if (left) Object.assign(rig, { armUpperLDeg: left.upperDeg }, left.forearmDeg === null ? {} : { forearmLDeg: left.forearmDeg });
    const smoothed = this.#smoother.smooth(rig, timeS);
    return { found: true, rig: smoothed, score: mesh.score, ms: { face: faceMs, iris: irisMs, pose: poseMs }, poseFound: this.#tilt !== null };
  }
}

import type { RigPose } from '../avatar/rig.js';
import { EYE_CORNERS, type EyeSide, type Irises, type Point2 } from './irisLandmarks.js';
import { OneEuroFilter } from './oneEuro.js';

/**
 * Face landmarks (MediaPipe's 468-point mesh, frame pixels) → the avatar rig: head roll, yaw and pitch
 * from the eyes, nose and mouth; eye openness, brows, mouth open/smile/round as AU-like ratios of
 * distances that do not depend on the face's size in the picture, relative to the person's calibrated
 * neutral face. Every parameter is One-Euro smoothed.
 */

/** Mesh indices used (MediaPipe face mesh topology). */
const I = {
  rightEyeOuter: 33, rightEyeInner: 133, rightUpperLid: 159, rightLowerLid: 145,
  leftEyeOuter: 263, leftEyeInner: 362, leftUpperLid: 386, leftLowerLid: 374,
  noseTip: 1, upperLipInner: 13, lowerLipInner: 14, mouthRight: 61, mouthLeft: 291,
  rightBrow: 105, leftBrow: 334,
} as const;

/** Ratios measured on a face; the neutral ones are the calibration. */
export interface FaceMeasures {
  readonly rollDeg: number;
  /** Nose offset from the eye midpoint across the face, in eye distances. */
  readonly noseAcross: number;
  /** Nose height between the eye line (0) and the mouth (1). */
  readonly noseDown: number;
  readonly eyeOpenR: number;
  readonly eyeOpenL: number;
  readonly mouthOpen: number;
  /** Mouth corners above the lip centre, in mouth widths. */
  readonly smile: number;
  /** Mouth width in eye distances. */
  readonly mouthWidth: number;
  /** Brow height above the upper lids, in eye distances. */
  readonly brow: number;
  /** Where the irises sit in the eyes, when the iris model has run. */
  readonly gaze: GazeMeasure | null;
}

/** Iris centre from the middle of the eye corners, in eye widths, averaged over both eyes (face-aligned). */
export interface GazeMeasure {
  readonly across: number;
  readonly down: number;
}

/** A typical neutral face (used until the operator calibrates). */
export const DEFAULT_NEUTRAL: FaceMeasures = { rollDeg: 0, noseAcross: 0, noseDown: 0.55, eyeOpenR: 0.3, eyeOpenL: 0.3, mouthOpen: 0.02, smile: 0, mouthWidth: 1.0, brow: 0.35, gaze: { across: 0, down: 0 } };

export function measureFace(points: Float32Array, gaze: GazeMeasure | null = null): FaceMeasures {
  const p = (i: number) => ({ x: points[i * 3] as number, y: points[i * 3 + 1] as number });
  const re = p(I.rightEyeOuter), le = p(I.leftEyeOuter);
  const roll = Math.atan2(le.y - re.y, le.x - re.x);
  const cos = Math.cos(-roll), sin = Math.sin(-roll);
  // Face-aligned coordinates: the eye line horizontal.
  const a = (i: number) => {
    const q = p(i);
    return { x: q.x * cos - q.y * sin, y: q.x * sin + q.y * cos };
  };
  const ar = a(I.rightEyeOuter), al = a(I.leftEyeOuter);
  const iod = Math.max(1e-6, Math.hypot(al.x - ar.x, al.y - ar.y));
  const mid = { x: (ar.x + al.x) / 2, y: (ar.y + al.y) / 2 };
  const nose = a(I.noseTip);
  const up = a(I.upperLipInner), low = a(I.lowerLipInner);
  const mr = a(I.mouthRight), ml = a(I.mouthLeft);
  const mouthW = Math.max(1e-6, Math.hypot(ml.x - mr.x, ml.y - mr.y));
  const lipsMid = { x: (up.x + low.x) / 2, y: (up.y + low.y) / 2 };
  const eyeOpen = (upper: number, lower: number, outer: number, inner: number) => {
    const u = a(upper), l = a(lower), o = a(outer), n = a(inner);
    return Math.hypot(u.x - l.x, u.y - l.y) / Math.max(1e-6, Math.hypot(o.x - n.x, o.y - n.y));
  };
  const browAbove = (brow: number, lid: number) => (a(lid).y - a(brow).y) / iod;
  return {
    rollDeg: (roll * 180) / Math.PI,
    noseAcross: (nose.x - mid.x) / iod,
    noseDown: (nose.y - mid.y) / Math.max(1e-6, lipsMid.y - mid.y),
    eyeOpenR: eyeOpen(I.rightUpperLid, I.rightLowerLid, I.rightEyeOuter, I.rightEyeInner),
    eyeOpenL: eyeOpen(I.leftUpperLid, I.leftLowerLid, I.leftEyeOuter, I.leftEyeInner),
    mouthOpen: Math.hypot(low.x - up.x, low.y - up.y) / mouthW,
    smile: (lipsMid.y - (mr.y + ml.y) / 2) / mouthW,
    mouthWidth: mouthW / iod,
    brow: (browAbove(I.rightBrow, I.rightUpperLid) + browAbove(I.leftBrow, I.leftUpperLid)) / 2,
    gaze,
  };
}

/**
 * One iris's position → gaze ratios, from the middle of its eye's corners in eye widths: independent of
 * the face's size, position and roll in the picture.
 */
export function measureEyeGaze(points: Float32Array, side: EyeSide, iris: Point2): GazeMeasure {
  const p = (i: number) => ({ x: points[i * 3] as number, y: points[i * 3 + 1] as number });
  const o = p(EYE_CORNERS[side].outer), n = p(EYE_CORNERS[side].inner);
  const width = Math.max(1e-6, Math.hypot(n.x - o.x, n.y - o.y));
  // Unit vectors along the eye line (picture left → right) and down across it.
  const ux = (side === 'R' ? n.x - o.x : o.x - n.x) / width, uy = (side === 'R' ? n.y - o.y : o.y - n.y) / width;
  const dx = iris.x - (o.x + n.x) / 2, dy = iris.y - (o.y + n.y) / 2;
  return { across: (dx * ux + dy * uy) / width, down: (-dx * uy + dy * ux) / width };
}

/** Both eyes' gaze, averaged (the eyes look the same way; two measures halve the noise). */
export function measureGaze(points: Float32Array, irises: Irises): GazeMeasure {
  return meanGaze(measureEyeGaze(points, 'R', irises.R), measureEyeGaze(points, 'L', irises.L));
}

export function meanGaze(a: GazeMeasure, b: GazeMeasure): GazeMeasure {
  return { across: (a.across + b.across) / 2, down: (a.down + b.down) / 2 };
}

const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));

/** The rig parameters a face drives (the rest of the pose stays with the idle animator). */
export type FaceRig = Pick<RigPose, 'headRollDeg' | 'headYawDeg' | 'headPitchDeg' | 'eyeOpenL' | 'eyeOpenR' | 'browRaise' | 'mouthOpen' | 'mouthForm' | 'mouthRound'> & Partial<Pick<RigPose, 'gazeX' | 'gazeY'>>;
/** What tracking drives: the face, the body lean when the shoulders are seen, and each arm that is seen. */
export type DriveRig = FaceRig & Partial<Pick<RigPose, 'bodyLeanDeg' | 'armUpperLDeg' | 'armUpperRDeg' | 'forearmLDeg' | 'forearmRDeg'>>;

/** Measures → rig values against a neutral face. The picture is mirrored: the avatar moves like a mirror image. */
export function faceToRig(m: FaceMeasures, neutral: FaceMeasures = DEFAULT_NEUTRAL): FaceRig {
  const rig: FaceRig = {
    headRollDeg: clamp(-(m.rollDeg - neutral.rollDeg), -20, 20),
    // A nose a quarter of the eye distance across is a turn of ~30°.
    headYawDeg: clamp(-(m.noseAcross - neutral.noseAcross) * 120, -30, 30),
    headPitchDeg: clamp((m.noseDown - neutral.noseDown) * 80, -20, 20),
    // Eyes: the neutral opening is "open" (1); under a third of it is shut. The rig's R eye is on the
    // picture's right, where a mirror shows the person's right eye.
    eyeOpenR: clamp((m.eyeOpenR / neutral.eyeOpenR - 0.3) / 0.7, 0, 1),
    eyeOpenL: clamp((m.eyeOpenL / neutral.eyeOpenL - 0.3) / 0.7, 0, 1),
    browRaise: clamp((m.brow - neutral.brow) * 8, -1, 1),
    mouthOpen: clamp((m.mouthOpen - neutral.mouthOpen) * 2.2, 0, 1),
    mouthForm: clamp((m.smile - neutral.smile) * 10, -1, 1),
    mouthRound: clamp((neutral.mouthWidth - m.mouthWidth) / (neutral.mouthWidth * 0.25), 0, 1),
  };
  // Gaze: an iris 0.15 eye widths off centre looks fully aside, 0.08 fully up or down. A shut eye's
  // iris is a guess, so gaze is left to the idle motion while either eye is nearly closed.
  const neutralGaze = neutral.gaze ?? { across: 0, down: 0 };
  if (m.gaze && Math.min(rig.eyeOpenL, rig.eyeOpenR) > 0.35) {
    rig.gazeX = clamp(-(m.gaze.across - neutralGaze.across) / 0.15, -1, 1);
    rig.gazeY = clamp((m.gaze.down - neutralGaze.down) / 0.08, -1, 1);
  }
  return rig;
}

/** Per-parameter One-Euro smoothing of rig values over time. */
export class FaceRigSmoother {
  readonly #filters = new Map<string, OneEuroFilter>();

  smooth<T extends Partial<Record<keyof RigPose, number>>>(rig: T, timeS: number): T {
    const out = { ...rig };
    for (const key of Object.keys(rig) as (keyof T & string)[]) {
      let f = this.#filters.get(key);
      if (!f) {
        // Eyes and mouth must stay quick (blinks last ~100 ms); head and body may be smoother.
        f = /^(head|body|arm|forearm)/.test(key) ? new OneEuroFilter(1.0, 0.05) : new OneEuroFilter(3.0, 0.5);
        this.#filters.set(key, f);
      }
      out[key] = f.filter(rig[key] as number, timeS) as T[keyof T & string];
    }
    return out;
  }

  reset(): void {
    for (const f of this.#filters.values()) f.reset();
  }
}

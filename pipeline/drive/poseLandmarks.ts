import type { LoadedModel } from '../../models/onnxModels.js';
import type { FaceRoi, RgbaFrame } from './faceLandmarks.js';
import { RegionModel } from './regionModel.js';

export const POSE_INPUT = 256;
/** BlazePose gives 33 body points (+6 auxiliary); these are the ones an upper-body rig uses. */
export const POSE = { nose: 0, leftShoulder: 11, rightShoulder: 12, leftElbow: 13, rightElbow: 14, leftWrist: 15, rightWrist: 16, leftHip: 23, rightHip: 24 } as const;

export interface PosePoint {
  readonly x: number;
  readonly y: number;
  /** Relative depth, same scale as x. */
  readonly z: number;
  /** 0..1: how likely the point is visible (not hidden or out of the picture). */
  readonly visibility: number;
}

export interface PoseLandmarks {
  readonly points: readonly PosePoint[];
  readonly score: number;
}

const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));

/** BlazePose (lite) on a square region of a frame; points are returned in frame pixels. */
export class PoseLandmarker {
  readonly #region: RegionModel;

  constructor(model: LoadedModel) {
    this.#region = new RegionModel(model, POSE_INPUT);
  }

  async detect(frame: RgbaFrame, roi: FaceRoi): Promise<PoseLandmarks> {
    const out = await this.#region.run(frame, roi);
    const raw = out.ld_3d?.data as Float32Array | undefined;
    const flag = out.output_poseflag?.data as Float32Array | undefined;
    if (!raw || !flag) throw new Error('pose model gave no ld_3d/output_poseflag');
    const k = roi.size / POSE_INPUT;
    const points: PosePoint[] = [];
    for (let i = 0; i < 33; i++) {
      const p = this.#region.toFrame(roi, raw[i * 5] as number, raw[i * 5 + 1] as number);
      points.push({ x: p.x, y: p.y, z: (raw[i * 5 + 2] as number) * k, visibility: sigmoid(raw[i * 5 + 3] as number) });
    }
    return { points, score: flag[0] as number };
  }
}

/** Where the upper body is, from the face region: a seated host's shoulders sit about one face below. */
export function bodyRoiFromFace(face: FaceRoi): FaceRoi {
  const down = face.size * 0.9;
  return { cx: face.cx - Math.sin(face.angle) * down, cy: face.cy + Math.cos(face.angle) * down, size: face.size * 3.2, angle: face.angle };
}

/** The shoulder line's angle in degrees (0 when level), or null when either shoulder is not visible. */
export function shoulderTiltDeg(pose: PoseLandmarks, minVisibility = 0.5): number | null {
  const l = pose.points[POSE.leftShoulder], r = pose.points[POSE.rightShoulder];
  if (!l || !r || l.visibility < minVisibility || r.visibility < minVisibility) return null;
  return (Math.atan2(l.y - r.y, l.x - r.x) * 180) / Math.PI;
}

/** One arm's angles in the picture plane, as a 2D rig bends it. */
export interface ArmAngles {
  /** Upper arm from hanging straight down: positive raises it away from the body (90 level, 180 overhead), negative crosses in front. */
  readonly upperDeg: number;
  /** Forearm relative to the upper arm, same sense (0 straight; bending the hand up towards the shoulder is positive). Null when the wrist is not seen. */
  readonly forearmDeg: number | null;
}

/**
 * Two-bone arm angles from shoulder, elbow and wrist points. "Outward" is away from the other shoulder,
 * so the angles do not change when the picture is mirrored. A side is null when its shoulder or elbow
 * is not visible (hidden or out of the picture): the rig then keeps that arm at rest.
 */
export function armAngles(pose: PoseLandmarks, minVisibility = 0.5): { left: ArmAngles | null; right: ArmAngles | null } {
  const seen = (i: number) => {
    const p = pose.points[i];
    return p && p.visibility >= minVisibility ? p : null;
  };
  const ls = seen(POSE.leftShoulder), rs = seen(POSE.rightShoulder);
  if (!ls || !rs) return { left: null, right: null };
  const arm = (shoulder: PosePoint, other: PosePoint, elbowAt: number, wristAt: number): ArmAngles | null => {
    const elbow = seen(elbowAt);
    if (!elbow) return null;
    const out = Math.sign(shoulder.x - other.x) || 1;
    // Angle of a bone measured from "down", growing outward.
    const boneDeg = (from: PosePoint, to: PosePoint) => (Math.atan2((to.x - from.x) * out, to.y - from.y) * 180) / Math.PI;
    const upperDeg = boneDeg(shoulder, elbow);
    const wrist = seen(wristAt);
    let forearmDeg: number | null = null;
    if (wrist) {
      forearmDeg = boneDeg(elbow, wrist) - upperDeg;
      forearmDeg = ((((forearmDeg + 180) % 360) + 360) % 360) - 180;
    }
    return { upperDeg, forearmDeg };
  };
  return { left: arm(ls, rs, POSE.leftElbow, POSE.leftWrist), right: arm(rs, ls, POSE.rightElbow, POSE.rightWrist) };
}

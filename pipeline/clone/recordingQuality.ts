import { median, MIN_LOOP_S, stillClosedStretches } from './baseLoop.js';
import type { FrameScan } from './recordingScan.js';

/** One reason a recording cannot make a clone (or may make a poorer one), in words for the operator. */
export interface QualityNote {
  readonly code: 'too_short' | 'no_face' | 'face_lost' | 'several_faces' | 'face_too_small' | 'turned_away' | 'too_dark' | 'too_blurred' | 'no_still_closed' | 'too_few_open' | 'small_face' | 'short_recording' | 'short_loop' | 'soft_picture';
  readonly message: string;
}

/** Frames left out of the clone, in runs, and why. */
export interface RejectedFrames {
  readonly from: number;
  readonly to: number;
  readonly reason: 'no face' | 'several faces' | 'turned away' | 'too dark';
}

export interface QualityReport {
  readonly frames: number;
  readonly durationS: number;
  readonly fps: number;
  readonly width: number;
  readonly height: number;
  /** Share of frames with the face tracked. */
  readonly trackedShare: number;
  readonly medianEyeDistancePx: number;
  readonly medianFaceWidthPx: number;
  /** 95th percentile of |yaw| over tracked frames. */
  readonly yawP95Deg: number;
  readonly medianBrightness: number;
  readonly medianSharpness: number;
  readonly longestStillClosedS: number;
  readonly openMouthFrames: number;
  readonly usableShare: number;
  readonly refusals: QualityNote[];
  readonly warnings: QualityNote[];
  readonly rejectedFrames: RejectedFrames[];
}

/**
 * The limits, set by measurement on the webcam clips (400x300, eye distance ~60 px, face ~90 px cheek to
 * cheek): the mesh still tracks at an eye distance of 21 px, but a mouth from a face that small is ~20 px
 * wide, a smear once it fills a 720x1280 frame. 40 px refuses; under 100 px (a face under ~300 px tall)
 * builds with a warning. A gaussian blur of sigma 2.5 takes the clip's sharpness from 44 to 10.
 */
export const QUALITY_LIMITS = {
  minDurationS: 10,
  recommendedDurationS: 60,
  minEyeDistancePx: 40,
  goodEyeDistancePx: 100,
  maxYawDeg: 25,
  minBrightness: 45,
  minSharpness: 12,
  goodSharpness: 25,
  /** A mouth this open (inner gap / eye distance) counts as open. */
  openOpening: 0.08,
  /** At least this many seconds of open-mouth frames. */
  minOpenS: 1,
  minTrackedShare: 0.6,
  maxSeveralFacesShare: 0.2,
} as const;

function percentile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))] ?? 0;
}

/** Which frames may be used (a tracked, frontal enough, lit face and no second one) and why the others may not. */
export function usableFrames(frames: readonly FrameScan[]): { usable: boolean[]; rejected: RejectedFrames[] } {
  let severalUntil = -1;
  const reasons = frames.map((f, i): RejectedFrames['reason'] | null => {
    // A second face seen by the detector taints the frames until it looks again.
    if (f.faces !== null) severalUntil = f.faces > 1 ? Infinity : -1;
    if (severalUntil > i) return 'several faces';
    if (!f.found || !f.shape) return 'no face';
    if (Math.abs(f.shape.yawDeg) > QUALITY_LIMITS.maxYawDeg) return 'turned away';
    if (f.brightness < QUALITY_LIMITS.minBrightness) return 'too dark';
    return null;
  });
  const rejected: RejectedFrames[] = [];
  reasons.forEach((reason, i) => {
    if (!reason) return;
    const last = rejected.at(-1);
    if (last && last.reason === reason && last.to === i - 1) rejected[rejected.length - 1] = { ...last, to: i };
    else rejected.push({ from: i, to: i, reason });
  });
  return { usable: reasons.map((r) => r === null), rejected };
}

/** Judges a scanned recording: what refuses it, what only warns, and the figures behind both. */
export function judgeRecording(frames: readonly FrameScan[], info: { width: number; height: number; fps: number }): QualityReport {
  const L = QUALITY_LIMITS;
  const n = frames.length;
  const durationS = n / info.fps;
  const tracked = frames.filter((f) => f.found && f.shape);
  const shapes = tracked.map((f) => f.shape).filter((s) => s !== null);
  const { usable, rejected } = usableFrames(frames);
  const detections = frames.filter((f) => f.faces !== null);
  const severalShare = detections.length ? detections.filter((f) => (f.faces ?? 0) > 1).length / detections.length : 0;
  const eye = median(shapes.map((s) => s.eyeDistancePx));
  const yawP95 = percentile(shapes.map((s) => Math.abs(s.yawDeg)), 0.95);
  const brightness = median(tracked.map((f) => f.brightness));
  const sharpness = median(tracked.map((f) => f.sharpness));
  const stretch = stillClosedStretches(frames, usable)[0];
  const longestStillClosedS = stretch ? (stretch[1] - stretch[0] + 1) / info.fps : 0;
  const openMouthFrames = frames.filter((f, i) => usable[i] && f.shape && f.shape.opening >= L.openOpening).length;
  const usableShare = n ? usable.filter(Boolean).length / n : 0;

  const refusals: QualityNote[] = [];
  const warnings: QualityNote[] = [];
  const secs = (s: number) => `${s.toFixed(1)} s`;
  if (durationS < L.minDurationS) refusals.push({ code: 'too_short', message: `the recording is ${secs(durationS)} long: at least ${L.minDurationS} s are needed (best 1-3 minutes: 10 s still with the mouth closed, then reading aloud)` });
  else if (durationS < L.recommendedDurationS) warnings.push({ code: 'short_recording', message: `the recording is ${secs(durationS)} long: a minute or more gives the mouth more shapes to choose from` });
  if (tracked.length / Math.max(1, n) < 0.05) refusals.push({ code: 'no_face', message: 'no face was found in the recording' });
  else {
    if (severalShare > L.maxSeveralFacesShare) refusals.push({ code: 'several_faces', message: `more than one face is in the picture (${Math.round(severalShare * 100)}% of the frames checked): film the host alone` });
    if (tracked.length / n < L.minTrackedShare) refusals.push({ code: 'face_lost', message: `the face was found in only ${Math.round((tracked.length / n) * 100)}% of the frames: the host must stay in the picture, facing the camera` });
    if (eye < L.minEyeDistancePx) refusals.push({ code: 'face_too_small', message: `the face is too small: ${Math.round(eye)} px between the outer eye corners, at least ${L.minEyeDistancePx} are needed (film closer, or at 1080p)` });
    else if (eye < L.goodEyeDistancePx) warnings.push({ code: 'small_face', message: `the face is small (${Math.round(eye)} px between the outer eye corners): the mouth will look soft when it fills the frame; ${L.goodEyeDistancePx} px or more (a face ~300 px tall) looks sharp` });
    const turned = shapes.filter((s) => Math.abs(s.yawDeg) > L.maxYawDeg).length / Math.max(1, shapes.length);
    if (turned > 0.5) refusals.push({ code: 'turned_away', message: `the face is turned more than ${L.maxYawDeg}° from the camera in ${Math.round(turned * 100)}% of the frames: the host must face the camera` });
    if (brightness < L.minBrightness) refusals.push({ code: 'too_dark', message: `the face is too dark (mean brightness ${Math.round(brightness)} of 255, at least ${L.minBrightness}): light the host's face evenly` });
    else if (sharpness < L.minSharpness) refusals.push({ code: 'too_blurred', message: `the face is blurred (sharpness ${Math.round(sharpness)}, at least ${L.minSharpness}): focus on the face and keep the camera still` });
    else if (sharpness < L.goodSharpness) warnings.push({ code: 'soft_picture', message: `the picture is soft (sharpness ${Math.round(sharpness)}; ${L.goodSharpness} or more is sharp)` });
    if (refusals.length === 0 || refusals.every((r) => r.code === 'too_short')) {
      if (longestStillClosedS < MIN_LOOP_S) refusals.push({ code: 'no_still_closed', message: `no still stretch with the mouth closed: the longest is ${secs(longestStillClosedS)}, at least ${MIN_LOOP_S} s are needed (start the recording with 10 s still, mouth closed, looking at the camera)` });
      else if (longestStillClosedS < 5) warnings.push({ code: 'short_loop', message: `the longest still stretch with the mouth closed is ${secs(longestStillClosedS)}: the idle loop will repeat visibly; 10 s still at the start is best` });
      if (openMouthFrames < L.minOpenS * info.fps) refusals.push({ code: 'too_few_open', message: `the mouth is open in only ${openMouthFrames} frames: the host must read aloud for most of the recording` });
    }
  }
  return {
    frames: n, durationS, fps: info.fps, width: info.width, height: info.height,
    trackedShare: tracked.length / Math.max(1, n), medianEyeDistancePx: eye, medianFaceWidthPx: median(shapes.map((s) => s.faceWidthPx)),
    yawP95Deg: yawP95, medianBrightness: brightness, medianSharpness: sharpness, longestStillClosedS, openMouthFrames, usableShare,
    refusals, warnings, rejectedFrames: rejected,
  };
}

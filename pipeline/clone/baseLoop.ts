import type { FrameScan } from './recordingScan.js';
import { thumbDifference } from './recordingScan.js';

/** A mouth this open (inner lip gap / eye distance) or less is closed. */
export const CLOSED_OPENING = 0.05;
/** Faster than this (the face's centre, eye distances a frame) is a move, not stillness. */
const STILL_SPEED = 0.03;
/** Within one loop the face may wander this far (eye distances) and change size this much. */
const LOOP_DRIFT = 0.12;
const LOOP_SCALE = 1.06;
/** Short glitches (a frame the mesh misjudged) do not break a still stretch. */
const GAP_FRAMES = 3;
export const MIN_LOOP_S = 1.6;
const MAX_LOOP_S = 12;
/** How far the loop's ends may move to find frames that match. */
const WRAP_SEARCH_S = 0.6;
export const CROSSFADE_FRAMES = 6;

/** The base loop: frames `from`..`to` of the recording played round and round, the last `crossfade` blended into the frames before `from`. */
export interface BaseLoop {
  readonly from: number;
  readonly to: number;
  /** The last this-many frames are cross-faded towards the frames just before `from` (0: the wrap matches as it is). */
  readonly crossfade: number;
  /** Thumbnail difference from the last frame to the first (0..255), and the median between neighbours in the loop. */
  readonly wrapDifference: number;
  readonly neighbourDifference: number;
}

/** Whether a frame may be part of a base loop: a face, mouth closed, turned less than the limit. */
function closedUsable(scan: FrameScan, usable: boolean): boolean {
  return usable && scan.shape !== null && scan.shape.opening < CLOSED_OPENING;
}

/** The still, closed-mouth stretches of a recording, longest first: [from, to] frame indices. */
export function stillClosedStretches(frames: readonly FrameScan[], usable: readonly boolean[]): [number, number][] {
  const ok = frames.map((f, i) => {
    const prev = frames[i - 1]?.shape;
    const shape = f.shape;
    const speed = prev && shape ? Math.hypot(shape.cx - prev.cx, shape.cy - prev.cy) / shape.eyeDistancePx : 0;
    return closedUsable(f, usable[i] ?? false) && speed < STILL_SPEED;
  });
  const runs: [number, number][] = [];
  let start = -1, lastOk = -Infinity;
  ok.forEach((good, i) => {
    if (!good) return;
    if (start >= 0 && i - lastOk <= GAP_FRAMES) lastOk = i;
    else {
      if (start >= 0) runs.push([start, lastOk]);
      start = i;
      lastOk = i;
    }
  });
  if (start >= 0) runs.push([start, lastOk]);
  // Within each run, the longest window whose face stays put.
  const windows = runs.map(([a, b]) => steadyWindow(frames, a, b));
  return windows.sort((x, y) => y[1] - y[0] - (x[1] - x[0]));
}

/** The longest window of [a, b] in which the face's centre and size stay within the loop limits (two pointers). */
function steadyWindow(frames: readonly FrameScan[], a: number, b: number): [number, number] {
  let best: [number, number] = [a, a];
  let left = a;
  for (let right = a; right <= b; right++) {
    while (left < right && !steady(frames, left, right)) left++;
    if (right - left > best[1] - best[0]) best = [left, right];
  }
  return best;
}

function steady(frames: readonly FrameScan[], a: number, b: number): boolean {
  let minX = Infinity, maxX = -Infinity, minY = Infinity, maxY = -Infinity, minS = Infinity, maxS = -Infinity;
  for (let i = a; i <= b; i++) {
    const s = frames[i]?.shape;
    if (!s) continue;
    minX = Math.min(minX, s.cx); maxX = Math.max(maxX, s.cx); minY = Math.min(minY, s.cy); maxY = Math.max(maxY, s.cy);
    minS = Math.min(minS, s.eyeDistancePx); maxS = Math.max(maxS, s.eyeDistancePx);
  }
  return Math.max(maxX - minX, maxY - minY) <= LOOP_DRIFT * minS && maxS <= minS * LOOP_SCALE;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

/**
 * Picks the base loop from the longest still closed-mouth stretch: its ends are moved (within a fraction of
 * a second) to the pair of frames that look most alike, so the wrap shows no jump; when even the best pair
 * differs more than neighbouring frames do, the loop's last frames are cross-faded into the frames before
 * its start. Null when no stretch is long enough.
 */
export function pickBaseLoop(frames: readonly FrameScan[], usable: readonly boolean[], thumbs: readonly Uint8Array[], fps: number): BaseLoop | null {
  const stretch = stillClosedStretches(frames, usable)[0];
  if (!stretch) return null;
  const [a, b] = stretch;
  const minLength = Math.round(MIN_LOOP_S * fps);
  if (b - a + 1 < minLength) return null;
  // Leave room before the start for a cross-fade's source frames.
  const first = Math.min(b - minLength + 1, a + CROSSFADE_FRAMES);
  const lastEnd = Math.min(b, first + Math.round(MAX_LOOP_S * fps) - 1);
  const search = Math.round(WRAP_SEARCH_S * fps);
  const thumb = (i: number) => thumbs[i] as Uint8Array;
  let best = { from: first, to: lastEnd, cost: Infinity };
  for (let from = first; from <= Math.min(first + search, b); from++) {
    for (let to = lastEnd; to >= Math.max(from + minLength - 1, lastEnd - search); to--) {
      const cost = thumbDifference(thumb(to), thumb(from));
      if (cost < best.cost) best = { from, to, cost };
    }
  }
  if (!Number.isFinite(best.cost)) return null;
  const neighbours: number[] = [];
  for (let i = best.from + 1; i <= best.to; i++) neighbours.push(thumbDifference(thumb(i - 1), thumb(i)));
  const neighbourDifference = median(neighbours);
  const crossfade = best.cost > neighbourDifference * 1.5 && best.from - CROSSFADE_FRAMES >= 0 ? CROSSFADE_FRAMES : 0;
  return { from: best.from, to: best.to, crossfade, wrapDifference: best.cost, neighbourDifference };
}

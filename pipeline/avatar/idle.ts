import type { RigPose } from './rig.js';

/** Small fast seeded PRNG (mulberry32): idle motion is reproducible per seed, different per channel. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Smooth 1-D value noise in [-1, 1]: random values on integer knots, quintic easing between them. */
export class SmoothNoise {
  readonly #knots: Float64Array;
  constructor(random: () => number, knots = 512) {
    this.#knots = new Float64Array(knots);
    for (let i = 0; i < knots; i++) this.#knots[i] = random() * 2 - 1;
  }
  at(t: number): number {
    const n = this.#knots.length;
    const i = Math.floor(t);
    const f = t - i;
    const a = this.#knots[((i % n) + n) % n] as number;
    const b = this.#knots[(((i + 1) % n) + n) % n] as number;
    const e = f * f * f * (f * (f * 6 - 15) + 10);
    return a + (b - a) * e;
  }
}

/** Blink closure (0 open, 1 shut) at `ms` after a blink starts: fast close, short hold, slower open. */
export function blinkClosure(ms: number): number {
  const closeMs = 70, holdMs = 40, openMs = 150;
  if (ms < 0) return 0;
  if (ms < closeMs) return (ms / closeMs) ** 2;
  if (ms < closeMs + holdMs) return 1;
  if (ms < closeMs + holdMs + openMs) {
    const u = (ms - closeMs - holdMs) / openMs;
    return 1 - u * (2 - u);
  }
  return 0;
}

/**
 * Idle motion for an undriven avatar, as a function of media time: blinks at irregular intervals
 * (sometimes doubled), breathing whose period wanders, small head drift from layered noise, gaze
 * saccades, and the odd brow lift. Nothing repeats on a period the eye can catch.
 */
export class IdleAnimator {
  readonly #random: () => number;
  readonly #noise: SmoothNoise[];
  #nextBlinkS: number;
  #blinkStartsS: number[] = [];
  #nextSaccadeS: number;
  #gaze = { fromX: 0, fromY: 0, toX: 0, toY: 0, atS: 0 };
  #nextBrowS: number;
  #browAtS = -10;
  #lastS = 0;

  constructor(seed: number) {
    this.#random = seededRandom(seed);
    this.#noise = Array.from({ length: 8 }, () => new SmoothNoise(this.#random));
    this.#nextBlinkS = 0.8 + this.#random() * 2;
    this.#nextSaccadeS = 1 + this.#random() * 2;
    this.#nextBrowS = 6 + this.#random() * 8;
  }

  /** Interval to the next blink: mostly 2-5 s, with a long tail (people blink ~15 times a minute). */
  #blinkInterval(): number {
    const u = this.#random();
    return 1.1 + -Math.log(1 - u * 0.97) * 2.6;
  }

  #schedule(tS: number): void {
    if (tS < this.#lastS) {
      // Time went backwards (a new timeline): restart the event schedule from here.
      this.#blinkStartsS = [];
      this.#nextBlinkS = tS + 0.5;
      this.#nextSaccadeS = tS + 1;
      this.#nextBrowS = tS + 6;
    }
    this.#lastS = tS;
    while (this.#nextBlinkS <= tS) {
      this.#blinkStartsS.push(this.#nextBlinkS);
      if (this.#random() < 0.14) this.#blinkStartsS.push(this.#nextBlinkS + 0.32 + this.#random() * 0.1);
      this.#nextBlinkS += this.#blinkInterval();
    }
    while (this.#blinkStartsS.length > 0 && (this.#blinkStartsS[0] as number) < tS - 1) this.#blinkStartsS.shift();
    while (this.#nextSaccadeS <= tS) {
      const g = this.#gaze;
      const [x, y] = this.#currentGaze(this.#nextSaccadeS);
      g.fromX = x;
      g.fromY = y;
      // Mostly back towards the camera, sometimes a glance aside.
      const away = this.#random() < 0.35;
      g.toX = away ? (this.#random() * 2 - 1) * 0.7 : (this.#random() * 2 - 1) * 0.15;
      g.toY = away ? (this.#random() * 2 - 1) * 0.35 : (this.#random() * 2 - 1) * 0.1;
      g.atS = this.#nextSaccadeS;
      this.#nextSaccadeS += 0.8 + this.#random() * 3.2;
    }
    while (this.#nextBrowS <= tS) {
      this.#browAtS = this.#nextBrowS;
      this.#nextBrowS += 7 + this.#random() * 12;
    }
  }

  #currentGaze(tS: number): [number, number] {
    const g = this.#gaze;
    const u = Math.min(1, Math.max(0, (tS - g.atS) / 0.05)); // saccades take ~50 ms
    return [g.fromX + (g.toX - g.fromX) * u, g.fromY + (g.toY - g.fromY) * u];
  }

  /** Writes the idle pose at media time `tS` into `pose` (all parameters). */
  poseAt(tS: number, pose: RigPose): RigPose {
    this.#schedule(tS);
    const n = this.#noise as [SmoothNoise, SmoothNoise, SmoothNoise, SmoothNoise, SmoothNoise, SmoothNoise, SmoothNoise, SmoothNoise];

    let closure = 0;
    for (const start of this.#blinkStartsS) closure = Math.max(closure, blinkClosure((tS - start) * 1000));
    // The eyes of a real blink are not perfectly in step.
    let closureR = 0;
    for (const start of this.#blinkStartsS) closureR = Math.max(closureR, blinkClosure((tS - start) * 1000 - 8));
    const lid = 0.92 + 0.05 * n[6].at(tS * 0.2);
    pose.eyeOpenL = lid * (1 - closure);
    pose.eyeOpenR = lid * (1 - closureR);

    // Breathing: ~15 breaths a minute, the period wandering by phase noise.
    const phase = tS / 4.1 + 0.35 * n[0].at(tS * 0.07);
    pose.breath = 0.5 - 0.5 * Math.cos(2 * Math.PI * phase);

    pose.headYawDeg = 4.5 * n[1].at(tS * 0.13) + 1.2 * n[2].at(tS * 0.55);
    pose.headPitchDeg = 2.4 * n[3].at(tS * 0.11) + 0.6 * n[2].at(tS * 0.7 + 40) - 0.7 * pose.breath;
    pose.headRollDeg = 2.6 * n[4].at(tS * 0.09) + 0.5 * n[5].at(tS * 0.6);
    pose.bodyLeanDeg = 1.4 * n[5].at(tS * 0.05 + 17);

    const [gx, gy] = this.#currentGaze(tS);
    // Eyes counter-rotate a little against head turns, keeping the look on the viewer.
    pose.gazeX = gx - pose.headYawDeg / 60;
    pose.gazeY = gy - pose.headPitchDeg / 60;

    const browAge = tS - this.#browAtS;
    const browLift = browAge >= 0 && browAge < 0.9 ? Math.sin((browAge / 0.9) * Math.PI) : 0;
    pose.browRaise = 0.1 * n[7].at(tS * 0.3) + 0.55 * browLift;

    pose.mouthOpen = 0;
    pose.mouthForm = 0.35 + 0.12 * n[6].at(tS * 0.05 + 90);
    pose.mouthRound = 0;
    return pose;
  }
}

import type { MouthAhead } from '../avatar/avatarPort.js';
import type { RigPose } from '../avatar/rig.js';
import type { MouthEntry } from './cloneManifest.js';

/** A mouth shape wanted in a frame, in the library's own measures. */
export interface MouthTarget {
  readonly opening: number;
  readonly width: number;
}

type RigMouth = Pick<RigPose, 'mouthOpen' | 'mouthForm' | 'mouthRound'>;

/** Silence this long ends the mouth overlay: the base loop's own closed mouth shows again. */
const RELEASE_S = 0.2;
/**
 * Cost of cutting to a mouth that is not the next recorded frame (Video Rewrite's continuity), in squared
 * spreads of opening. Measured on the webcam clip over 8 s of syllables: 0.6 cut on 56% of frames whatever
 * was known ahead; 2 cuts on 19% with 4 frames known ahead (47% frame by frame) for a mean opening error of
 * 5.4% of the widest (6.3% frame by frame); 5 cuts 16% but misses the opening by 6-9%.
 */
const JUMP_COST = 2;
const WIDTH_WEIGHT = 0.5;
/** Candidates kept per frame in the sequence search (the best fits, and the recorded successors of the last frame's). */
const CANDIDATES = 12;

function percentile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))] ?? 0;
}

/**
 * Picks a library mouth for each frame from the rig's mouth (the values that move a drawn avatar: eSpeak
 * or HTTP-voice visemes, the microphone's audio mouth, the camera's measures). The wanted opening and width
 * become the library's own measures; a mouth is chosen by fit plus continuity: playing on to the frame
 * recorded next costs nothing (it moves the way a real mouth moved), cutting elsewhere costs. When the
 * next frames' mouths are known (scripted speech), the whole short sequence is chosen at once (Video
 * Rewrite's sequence choice, a small Viterbi) and its first mouth shown. Null in silence (after a short
 * release): the base loop's own closed mouth shows.
 */
export class MouthChooser {
  readonly #opening: Float64Array;
  readonly #width: Float64Array;
  readonly #frame: Int32Array;
  readonly #openMax: number;
  readonly #neutralWidth: number;
  readonly #openSpread: number;
  readonly #widthSpread: number;
  #last = -1;
  #silentS = Infinity;
  #jumps = 0;
  #chosen = 0;
  #openingError = 0;

  constructor(entries: readonly MouthEntry[]) {
    if (entries.length === 0) throw new RangeError('a mouth library needs at least one mouth');
    this.#opening = Float64Array.from(entries, (e) => e.opening);
    this.#width = Float64Array.from(entries, (e) => e.width);
    this.#frame = Int32Array.from(entries, (e) => e.frame);
    this.#openMax = Math.max(1e-3, percentile(entries.map((e) => e.opening), 0.97));
    const closed = entries.filter((e) => e.opening < 0.05).map((e) => e.width);
    this.#neutralWidth = percentile(closed.length ? closed : entries.map((e) => e.width), 0.5);
    this.#openSpread = Math.max(1e-3, this.#openMax / 8);
    this.#widthSpread = Math.max(1e-3, percentile(entries.map((e) => e.width), 0.9) - percentile(entries.map((e) => e.width), 0.1)) / 3;
  }

  /** The library's measures for a rig mouth: open 0..1 scales to the library's widest opening; a smile widens, rounding narrows. */
  targetOf(mouth: RigMouth): MouthTarget {
    return {
      opening: Math.max(0, Math.min(1, mouth.mouthOpen)) * this.#openMax,
      width: this.#neutralWidth * (1 + 0.12 * mouth.mouthForm - 0.18 * mouth.mouthRound),
    };
  }

  /** The mouth for this frame (an index into the library), or null to show the base loop's own. */
  choose(pose: RigMouth, frameS: number, ahead: readonly MouthAhead[] = []): number | null {
    const target = this.targetOf(pose);
    this.#silentS = target.opening < this.#openSpread * 0.25 ? this.#silentS + frameS : 0;
    if (this.#silentS >= RELEASE_S) {
      this.#last = -1;
      return null;
    }
    const targets = [target, ...ahead.map((m) => this.targetOf({ mouthOpen: m.open, mouthForm: m.form, mouthRound: m.round }))];
    const best = this.#sequence(targets);
    const next = this.#successor(this.#last);
    if (this.#last >= 0 && best !== next) this.#jumps++;
    this.#chosen++;
    this.#openingError += Math.abs((this.#opening[best] as number) - target.opening) / this.#openMax;
    this.#last = best;
    return best;
  }

  /** Share of chosen mouths that cut to another place in the recording (the rest play on as recorded). */
  get jumpRate(): number {
    return this.#chosen ? this.#jumps / this.#chosen : 0;
  }

  /** Mean distance of the chosen mouths' opening from the wanted one, as a share of the widest opening. */
  get openingError(): number {
    return this.#chosen ? this.#openingError / this.#chosen : 0;
  }

  /** The mouth recorded right after `k`, or -1. */
  #successor(k: number): number {
    return k >= 0 && k + 1 < this.#opening.length && this.#frame[k + 1] === (this.#frame[k] as number) + 1 ? k + 1 : -1;
  }

  #fit(k: number, target: MouthTarget): number {
    const dOpen = ((this.#opening[k] as number) - target.opening) / this.#openSpread;
    const dWidth = ((this.#width[k] as number) - target.width) / this.#widthSpread;
    return dOpen * dOpen + WIDTH_WEIGHT * dWidth * dWidth;
  }

  /** The best-fitting few mouths for `target`. */
  #bestFits(target: MouthTarget): number[] {
    const picked: number[] = [], costs: number[] = [];
    for (let k = 0; k < this.#opening.length; k++) {
      const cost = this.#fit(k, target);
      if (picked.length === CANDIDATES && cost >= (costs[CANDIDATES - 1] as number)) continue;
      let at = picked.length === CANDIDATES ? CANDIDATES - 1 : picked.length;
      while (at > 0 && (costs[at - 1] as number) > cost) {
        picked[at] = picked[at - 1] as number;
        costs[at] = costs[at - 1] as number;
        at--;
      }
      picked[at] = k;
      costs[at] = cost;
    }
    return picked;
  }

  /**
   * The first mouth of the cheapest sequence over `targets` (this frame, then the known next ones):
   * fit per frame, plus a cut's cost wherever a mouth is not the recorded successor of the one before
   * (the mouth shown last included).
   */
  #sequence(targets: readonly MouthTarget[]): number {
    let states: number[] = [];
    let costs: number[] = [];
    let firsts: number[] = [];
    targets.forEach((target, j) => {
      const previous = j === 0 ? [this.#last] : states;
      const candidates = new Set(this.#bestFits(target));
      for (const k of previous) {
        const successor = this.#successor(k);
        if (successor >= 0) candidates.add(successor);
      }
      const nextStates: number[] = [], nextCosts: number[] = [], nextFirsts: number[] = [];
      for (const k of candidates) {
        const fit = this.#fit(k, target);
        let best = Infinity, first = k;
        previous.forEach((p, i) => {
          const cost = (j === 0 ? 0 : (costs[i] as number)) + (p < 0 || this.#successor(p) === k ? 0 : JUMP_COST);
          if (cost < best) {
            best = cost;
            first = j === 0 ? k : (firsts[i] as number);
          }
        });
        nextStates.push(k);
        nextCosts.push(best + fit);
        nextFirsts.push(first);
      }
      states = nextStates;
      costs = nextCosts;
      firsts = nextFirsts;
    });
    let bestAt = 0;
    costs.forEach((c, i) => {
      if (c < (costs[bestAt] as number)) bestAt = i;
    });
    return firsts[bestAt] as number;
  }
}

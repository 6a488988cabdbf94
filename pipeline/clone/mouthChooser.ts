import type { MouthAhead } from '../avatar/avatarPort.js';
import type { RigPose } from '../avatar/rig.js';
import type { MouthEntry } from './cloneManifest.js';

/** A mouth shape wanted in a frame, in the library's own measures. */
export interface MouthTarget {
  readonly opening: number;
  readonly width: number;
}

type RigMouth = Pick<RigPose, 'mouthOpen' | 'mouthForm' | 'mouthRound'>;
type MutableTarget = { -readonly [K in keyof MouthTarget]: MouthTarget[K] };

/** Frames of look-ahead the chooser uses at most (the speaker says 4). */
const MAX_AHEAD = 8;

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
  // Buffers of the sequence search, made once.
  readonly #targets: MutableTarget[] = Array.from({ length: 1 + MAX_AHEAD }, () => ({ opening: 0, width: 0 }));
  readonly #rigMouth = { mouthOpen: 0, mouthForm: 0, mouthRound: 0 };
  readonly #fits = new Int32Array(CANDIDATES);
  readonly #fitCosts = new Float64Array(CANDIDATES);
  /** A step holds at most the best fits plus a successor of each state before: it grows by CANDIDATES a step. */
  readonly #layers: Layer[] = [makeLayer(CANDIDATES * (2 + MAX_AHEAD)), makeLayer(CANDIDATES * (2 + MAX_AHEAD))];

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
  targetOf(mouth: RigMouth, out: MutableTarget = { opening: 0, width: 0 }): MouthTarget {
    out.opening = Math.max(0, Math.min(1, mouth.mouthOpen)) * this.#openMax;
    out.width = this.#neutralWidth * (1 + 0.12 * mouth.mouthForm - 0.18 * mouth.mouthRound);
    return out;
  }

  /** The mouth for this frame (an index into the library), or null to show the base loop's own. */
  choose(pose: RigMouth, frameS: number, ahead: readonly MouthAhead[] = []): number | null {
    const target = this.targetOf(pose, this.#targets[0] as MutableTarget);
    this.#silentS = target.opening < this.#openSpread * 0.25 ? this.#silentS + frameS : 0;
    if (this.#silentS >= RELEASE_S) {
      this.#last = -1;
      return null;
    }
    const steps = 1 + Math.min(ahead.length, this.#targets.length - 1);
    for (let j = 1; j < steps; j++) {
      const m = ahead[j - 1] as MouthAhead;
      this.#rigMouth.mouthOpen = m.open;
      this.#rigMouth.mouthForm = m.form;
      this.#rigMouth.mouthRound = m.round;
      this.targetOf(this.#rigMouth, this.#targets[j] as MutableTarget);
    }
    const best = this.#sequence(steps);
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

  /** The best-fitting few mouths for `target`, into `#fits` (best first); returns how many. */
  #bestFits(target: MouthTarget): number {
    const picked = this.#fits, costs = this.#fitCosts;
    let n = 0;
    for (let k = 0; k < this.#opening.length; k++) {
      const cost = this.#fit(k, target);
      if (n === CANDIDATES && cost >= (costs[CANDIDATES - 1] as number)) continue;
      let at = n === CANDIDATES ? CANDIDATES - 1 : n++;
      while (at > 0 && (costs[at - 1] as number) > cost) {
        picked[at] = picked[at - 1] as number;
        costs[at] = costs[at - 1] as number;
        at--;
      }
      picked[at] = k;
      costs[at] = cost;
    }
    return n;
  }

  /**
   * The first mouth of the cheapest sequence over the first `steps` targets (this frame, then the known
   * next ones): fit per frame, plus a cut's cost wherever a mouth is not the recorded successor of the one
   * before (the mouth shown last included). Works in buffers made once: nothing is allocated per frame.
   */
  #sequence(steps: number): number {
    let from = this.#layers[0] as Layer, to = this.#layers[1] as Layer;
    // Before the first frame: the mouth shown last, at no cost.
    from.states[0] = this.#last;
    from.costs[0] = 0;
    from.firsts[0] = -1;
    from.size = 1;
    for (let j = 0; j < steps; j++) {
      const target = this.#targets[j] as MutableTarget;
      // Candidates: the best fits, and the recorded successor of each state before (no duplicates).
      to.size = 0;
      const fits = this.#bestFits(target);
      for (let i = 0; i < fits; i++) addState(to, this.#fits[i] as number);
      for (let i = 0; i < from.size; i++) {
        const successor = this.#successor(from.states[i] as number);
        if (successor >= 0) addState(to, successor);
      }
      for (let c = 0; c < to.size; c++) {
        const k = to.states[c] as number;
        let best = Infinity, first = k;
        for (let i = 0; i < from.size; i++) {
          const p = from.states[i] as number;
          const cost = (from.costs[i] as number) + (p < 0 || this.#successor(p) === k ? 0 : JUMP_COST);
          if (cost < best) {
            best = cost;
            first = j === 0 ? k : (from.firsts[i] as number);
          }
        }
        to.costs[c] = best + this.#fit(k, target);
        to.firsts[c] = first;
      }
      const done = to;
      to = from;
      from = done;
    }
    let bestAt = 0;
    for (let i = 1; i < from.size; i++) if ((from.costs[i] as number) < (from.costs[bestAt] as number)) bestAt = i;
    return from.firsts[bestAt] as number;
  }
}

/** One step of the sequence search: its candidate mouths, the cheapest cost to reach each, and the first mouth of that path. */
interface Layer {
  readonly states: Int32Array;
  readonly costs: Float64Array;
  readonly firsts: Int32Array;
  size: number;
}

const makeLayer = (capacity: number): Layer => ({ states: new Int32Array(capacity), costs: new Float64Array(capacity), firsts: new Int32Array(capacity), size: 0 });

function addState(layer: Layer, k: number): void {
  for (let i = 0; i < layer.size; i++) if (layer.states[i] === k) return;
  layer.states[layer.size++] = k;
}

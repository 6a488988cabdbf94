import type { RigPose } from '../avatar/rig.js';
import type { MouthEntry } from './cloneManifest.js';

/** A mouth shape wanted this frame, in the library's own measures. */
export interface MouthTarget {
  readonly opening: number;
  readonly width: number;
}

/** Silence this long ends the mouth overlay: the base loop's own closed mouth shows again. */
const RELEASE_S = 0.2;
/** Cost of cutting to a mouth that is not the next recorded frame (Video Rewrite's continuity): in squared spreads. */
const JUMP_COST = 0.6;
const WIDTH_WEIGHT = 0.5;

function percentile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))] ?? 0;
}

/**
 * Picks a library mouth for each frame from the rig's mouth (the same values that move a drawn avatar:
 * eSpeak or HTTP-voice visemes, the microphone's audio mouth, the camera's measures). The wanted opening
 * and width become the library's own measures; a mouth is chosen by how well it fits plus continuity: the
 * frame recorded right after the last chosen one is preferred (it moves the way a real mouth moved), so
 * the mouth cuts to another place in the recording only when that fits clearly better. Returns null in
 * silence (after a short release): the base loop's own closed mouth shows.
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
  targetOf(pose: Pick<RigPose, 'mouthOpen' | 'mouthForm' | 'mouthRound'>): MouthTarget {
    return {
      opening: Math.max(0, Math.min(1, pose.mouthOpen)) * this.#openMax,
      width: this.#neutralWidth * (1 + 0.12 * pose.mouthForm - 0.18 * pose.mouthRound),
    };
  }

  /** The mouth for this frame (an index into the library), or null to show the base loop's own. */
  choose(pose: Pick<RigPose, 'mouthOpen' | 'mouthForm' | 'mouthRound'>, frameS: number): number | null {
    const target = this.targetOf(pose);
    this.#silentS = target.opening < this.#openSpread * 0.25 ? this.#silentS + frameS : 0;
    if (this.#silentS >= RELEASE_S) {
      this.#last = -1;
      return null;
    }
    const next = this.#last >= 0 && this.#last + 1 < this.#opening.length && this.#frame[this.#last + 1] === (this.#frame[this.#last] as number) + 1 ? this.#last + 1 : -1;
    let best = -1, bestCost = Infinity;
    for (let k = 0; k < this.#opening.length; k++) {
      const dOpen = ((this.#opening[k] as number) - target.opening) / this.#openSpread;
      const dWidth = ((this.#width[k] as number) - target.width) / this.#widthSpread;
      const cost = dOpen * dOpen + WIDTH_WEIGHT * dWidth * dWidth + (k === next ? 0 : JUMP_COST);
      if (cost < bestCost) {
        bestCost = cost;
        best = k;
      }
    }
    if (this.#last >= 0 && best !== next) this.#jumps++;
    this.#chosen++;
    this.#last = best;
    return best;
  }

  /** Share of chosen mouths that cut to another place in the recording (the rest play on as recorded). */
  get jumpRate(): number {
    return this.#chosen ? this.#jumps / this.#chosen : 0;
  }
}

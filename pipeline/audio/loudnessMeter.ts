/**
 * Integrated loudness (ITU-R BS.1770-4 / EBU R128) of interleaved 16-bit PCM, measured as it is written:
 * K-weighting (a high shelf, then a high-pass), mean square over 400 ms blocks every 100 ms, the absolute
 * gate at −70 LUFS and the relative gate 10 LU under the gated mean. A short video's sound is measured this
 * way while it renders, so finishing it takes one ffmpeg pass instead of two.
 */

/** One biquad section's coefficients, normalised (a0 = 1). */
interface Biquad {
  readonly b0: number;
  readonly b1: number;
  readonly b2: number;
  readonly a1: number;
  readonly a2: number;
}

/** The K-weighting's two sections at `rateHz` (the standard's analogue prototypes, bilinear transform). */
function kWeighting(rateHz: number): [Biquad, Biquad] {
  // Stage 1: the head's high shelf, +4 dB above ~1.7 kHz.
  const shelfHz = 1681.974450955533, shelfDb = 3.999843853973347, shelfQ = 0.7071752369554196;
  let k = Math.tan((Math.PI * shelfHz) / rateHz);
  const vh = 10 ** (shelfDb / 20), vb = vh ** 0.4996667741545416;
  let a0 = 1 + k / shelfQ + k * k;
  const shelf = { b0: (vh + (vb * k) / shelfQ + k * k) / a0, b1: (2 * (k * k - vh)) / a0, b2: (vh - (vb * k) / shelfQ + k * k) / a0, a1: (2 * (k * k - 1)) / a0, a2: (1 - k / shelfQ + k * k) / a0 };
  // Stage 2: the RLB high-pass at ~38 Hz.
  const passHz = 38.13547087602444, passQ = 0.5003270373238773;
  k = Math.tan((Math.PI * passHz) / rateHz);
  a0 = 1 + k / passQ + k * k;
  const highPass = { b0: 1, b1: -2, b2: 1, a1: (2 * (k * k - 1)) / a0, a2: (1 - k / passQ + k * k) / a0 };
  return [shelf, highPass];
}

const ABSOLUTE_GATE_LUFS = -70;
const RELATIVE_GATE_LU = -10;
/** Sub-blocks of 100 ms; a gating block is four of them (400 ms, 75 % overlap). */
const SUB_BLOCKS_PER_BLOCK = 4;

const loudnessOf = (meanSquare: number) => -0.691 + 10 * Math.log10(meanSquare);

export class LoudnessMeter {
  readonly #channels: number;
  readonly #stages: [Biquad, Biquad];
  /** Per channel and stage, the filter's two previous inputs and outputs (x1, x2, y1, y2). */
  readonly #state: Float64Array;
  readonly #subBlockFrames: number;
  #subBlockSum = 0;
  #subBlockFilled = 0;
  /** Each finished 100 ms sub-block's sum of squares (all channels summed: left and right weigh 1). */
  readonly #subBlocks: number[] = [];

  constructor(rateHz: number, channels: number) {
    this.#channels = channels;
    this.#stages = kWeighting(rateHz);
    this.#state = new Float64Array(channels * 2 * 4);
    this.#subBlockFrames = Math.round(rateHz / 10);
  }

  /** Adds interleaved signed 16-bit samples (whole frames: one sample a channel). */
  push(pcm: Int16Array): void {
    const channels = this.#channels, state = this.#state;
    const [s1, s2] = this.#stages;
    for (let i = 0; i + channels <= pcm.length; i += channels) {
      for (let c = 0; c < channels; c++) {
        const x = (pcm[i + c] as number) / 32768;
        const o = c * 8;
        // Direct form I, one section after the other.
        const y1 = s1.b0 * x + s1.b1 * (state[o] as number) + s1.b2 * (state[o + 1] as number) - s1.a1 * (state[o + 2] as number) - s1.a2 * (state[o + 3] as number);
        state[o + 1] = state[o] as number;
        state[o] = x;
        state[o + 3] = state[o + 2] as number;
        state[o + 2] = y1;
        const y2 = s2.b0 * y1 + s2.b1 * (state[o + 4] as number) + s2.b2 * (state[o + 5] as number) - s2.a1 * (state[o + 6] as number) - s2.a2 * (state[o + 7] as number);
        state[o + 5] = state[o + 4] as number;
        state[o + 4] = y1;
        state[o + 7] = state[o + 6] as number;
        state[o + 6] = y2;
        this.#subBlockSum += y2 * y2;
      }
      if (++this.#subBlockFilled === this.#subBlockFrames) {
        this.#subBlocks.push(this.#subBlockSum);
        this.#subBlockSum = 0;
        this.#subBlockFilled = 0;
      }
    }
  }

  /** The integrated loudness so far, in LUFS (−Infinity for silence or under 400 ms). */
  get integratedLufs(): number {
    const blocks: number[] = [];
    const frames = this.#subBlockFrames * SUB_BLOCKS_PER_BLOCK;
    for (let end = SUB_BLOCKS_PER_BLOCK; end <= this.#subBlocks.length; end++) {
      let sum = 0;
      for (let j = end - SUB_BLOCKS_PER_BLOCK; j < end; j++) sum += this.#subBlocks[j] as number;
      blocks.push(sum / frames);
    }
    const aboveAbsolute = blocks.filter((z) => loudnessOf(z) > ABSOLUTE_GATE_LUFS);
    if (aboveAbsolute.length === 0) return Number.NEGATIVE_INFINITY;
    const relativeGate = loudnessOf(aboveAbsolute.reduce((s, z) => s + z, 0) / aboveAbsolute.length) + RELATIVE_GATE_LU;
    const gated = aboveAbsolute.filter((z) => loudnessOf(z) > relativeGate);
    return loudnessOf(gated.reduce((s, z) => s + z, 0) / gated.length);
  }
}

/**
 * Phonemes → visemes → mouth parameters. Visemes follow the 15-class set used by Oculus/Meta lip sync
 * (what most avatar rigs and audio-to-viseme models speak); eSpeak NG's phoneme names for English and
 * Mandarin map onto them. A viseme track turns timed visemes into a smooth mouth: each target is
 * approached ahead of its sound (lips move before the voice) and blended with its neighbours
 * (coarticulation), so speech looks continuous and closures (p, b, m) still close.
 */

export const VISEMES = ['sil', 'PP', 'FF', 'TH', 'DD', 'kk', 'CH', 'SS', 'nn', 'RR', 'aa', 'E', 'I', 'O', 'U'] as const;
export type Viseme = (typeof VISEMES)[number];

export interface MouthTarget {
  /** 0 closed … 1 wide open. */
  readonly open: number;
  /** -1 frown … 1 smile/spread. */
  readonly form: number;
  /** 0 spread … 1 rounded. */
  readonly round: number;
}

export const VISEME_TARGETS: Record<Viseme, MouthTarget> = {
  sil: { open: 0, form: 0, round: 0 },
  PP: { open: 0, form: 0, round: 0.15 },
  FF: { open: 0.12, form: 0.1, round: 0 },
  TH: { open: 0.22, form: 0.1, round: 0 },
  DD: { open: 0.28, form: 0.1, round: 0 },
  kk: { open: 0.32, form: 0, round: 0 },
  CH: { open: 0.25, form: 0, round: 0.55 },
  SS: { open: 0.14, form: 0.45, round: 0 },
  nn: { open: 0.22, form: 0.1, round: 0 },
  RR: { open: 0.25, form: 0, round: 0.45 },
  aa: { open: 0.9, form: 0.1, round: 0 },
  E: { open: 0.55, form: 0.35, round: 0 },
  I: { open: 0.35, form: 0.6, round: 0 },
  O: { open: 0.65, form: 0, round: 0.75 },
  U: { open: 0.3, form: 0, round: 0.95 },
};

// eSpeak phoneme names (English and Mandarin voices) by their leading letters; longest prefix wins.
const PREFIXES: readonly (readonly [string, Viseme])[] = ([
  // Mandarin retroflex and alveolo-palatal initials (zh ch sh r, j q x): lips pushed forward.
  ['ts.', 'CH'], ['s.', 'CH'], ['z.', 'RR'], ['tS;', 'CH'], ['S;', 'CH'], ['tS', 'CH'], ['dZ', 'CH'], ['S', 'CH'], ['Z', 'CH'],
  ['ts', 'SS'], ['dz', 'SS'], ['s', 'SS'], ['z', 'SS'],
  ['p', 'PP'], ['b', 'PP'], ['m', 'PP'],
  ['f', 'FF'], ['v', 'FF'],
  ['T', 'TH'], ['D', 'TH'],
  ['t', 'DD'], ['d', 'DD'],
  ['k', 'kk'], ['g', 'kk'], ['N', 'kk'], ['X', 'kk'], ['x', 'kk'], ['h', 'kk'],
  ['n', 'nn'], ['l', 'nn'], ['L', 'nn'],
  ['r', 'RR'], ['R', 'RR'], ['w', 'U'], ['j', 'I'],
  // Vowels: the first vowel quality decides; diphthongs move on through coarticulation.
  ['i.', 'I'], ['iou', 'I'], ['iE', 'I'], ['ia', 'I'], ['i', 'I'], ['I', 'I'], ['y', 'U'],
  ['a', 'aa'], ['A', 'aa'], ['V', 'aa'], ['&', 'aa'],
  ['e', 'E'], ['E', 'E'], ['@', 'E'], ['3', 'E'],
  ['o', 'O'], ['O', 'O'], ['0', 'O'],
  ['u', 'U'], ['U', 'U'],
] as const).slice().sort((a, b) => b[0].length - a[0].length);

/** The viseme of one eSpeak phoneme name (pauses and unknown names are silence). */
export function visemeOf(phoneme: string): Viseme {
  const name = phoneme.replace(/^['",%=]+/, '');
  if (name === '' || name.startsWith('_') || name.startsWith('(')) return 'sil';
  for (const [prefix, viseme] of PREFIXES) if (name.startsWith(prefix)) return viseme;
  return 'sil';
}

export interface TimedViseme {
  /** Start, in samples of the track's timeline. */
  readonly sample: number;
  readonly viseme: Viseme;
}

export interface MouthState {
  open: number;
  form: number;
  round: number;
}

/**
 * Timed visemes for one stretch of speech, evaluated at any sample. The mouth starts toward each
 * target `leadS` before its sound and takes `blendS` to get there (less when the sound is shorter).
 */
export class VisemeTrack {
  readonly sampleRateHz: number;
  readonly #items: TimedViseme[] = [];
  readonly #lead: number;
  readonly #blend: number;

  constructor(sampleRateHz: number, leadS = 0.02, blendS = 0.07) {
    this.sampleRateHz = sampleRateHz;
    this.#lead = Math.round(leadS * sampleRateHz);
    this.#blend = Math.round(blendS * sampleRateHz);
  }

  get length(): number {
    return this.#items.length;
  }

  /** The sample of the last viseme so far (-1 before the first): the track is known up to there. */
  get lastSample(): number {
    return this.#items.at(-1)?.sample ?? -1;
  }

  /** Adds a viseme (a time before the last one counts as the last). Repeats of the same viseme merge. */
  add(sample: number, viseme: Viseme): void {
    const last = this.#items.at(-1);
    if (last && sample < last.sample) sample = last.sample;
    if (last?.viseme === viseme) return;
    if (last && last.sample === sample) this.#items.pop();
    this.#items.push({ sample, viseme });
  }

  /** The mouth at `sample` (silence before the first viseme and after the track ends in 'sil'). */
  at(sample: number, out: MouthState = { open: 0, form: 0, round: 0 }): MouthState {
    const items = this.#items;
    // The active item is the last one whose (lead-shifted) start has come.
    let lo = 0, hi = items.length - 1, index = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if ((items[mid] as TimedViseme).sample - this.#lead <= sample) {
        index = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    if (index < 0) return Object.assign(out, VISEME_TARGETS.sil);
    const item = items[index] as TimedViseme;
    const previous = index > 0 ? VISEME_TARGETS[(items[index - 1] as TimedViseme).viseme] : VISEME_TARGETS.sil;
    const target = VISEME_TARGETS[item.viseme];
    const next = items[index + 1];
    const span = next ? Math.max(1, next.sample - item.sample) : this.#blend;
    const blend = Math.max(1, Math.min(this.#blend, span));
    const u = Math.min(1, Math.max(0, (sample - (item.sample - this.#lead)) / blend));
    const e = u * u * (3 - 2 * u);
    out.open = previous.open + (target.open - previous.open) * e;
    out.form = previous.form + (target.form - previous.form) * e;
    out.round = previous.round + (target.round - previous.round) * e;
    return out;
  }
}

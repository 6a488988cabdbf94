/**
 * Line breaking for captions and the product card by Chinese rules (kinsoku, as in W3C clreq / UAX #14):
 * no line starts with closing punctuation (，。！”）…), no line ends with opening punctuation (“（《¥),
 * and numbers (¥199.9, 50%), Latin words (don't, Wi-Fi), "……" and "——" stay whole.
 *
 * The text is split into unbreakable segments — each CJK character one segment, a Latin word or number
 * one segment, whitespace a break opportunity — with closing marks glued to the segment before them and
 * opening marks to the segment after; segments then fill lines greedily by measured width.
 */

/** The width of a string, in the same unit as the maximum width (canvas pixels in the compositor). */
export type MeasureText = (text: string) => number;

/** May not start a line: closing brackets and quotes, stops, pauses, percent, slash, small kana, iteration marks. */
const CLOSING = new Set([
  ...'，。、！？；：”’）》」』】〉〕〗〙〛｝］｠｣､｡．％‰℃°·・…⋯',
  ...',.!?;:)]}%/',
  ...'ぁぃぅぇぉっゃゅょゎゕゖァィゥェォッャュョヮヵヶーヽヾゝゞ々〻',
]);
/** May not end a line: opening brackets and quotes, currency signs written before the amount. */
const OPENING = new Set([...'“‘（《「『【〈〔〖〘〚［｛｟｢', ...'([{', ...'¥￥$＄£€']);
/** Runs of these are one mark that must not be split ("……", "——"). */
const PAIRED = new Set([...'…⋯—']);
/** Inside a Latin word or number when between word characters: 199.9, don't, Wi-Fi, Node.js. */
const JOINERS = new Set([...".'’-‐"]);
const CJK = /\p{Script=Han}|\p{Script=Hiragana}|\p{Script=Katakana}|\p{Script=Hangul}|\p{Script=Bopomofo}/u;
const WORD = /^[\p{L}\p{N}\p{M}_]/u;
const DIGIT = /^\p{N}/u;
const SPACE = /^\s+$/u;

type Kind = 'space' | 'open' | 'close' | 'word' | 'unit';
interface Atom {
  kind: Kind;
  text: string;
}
/** An unbreakable piece of a line, and the whitespace before it (dropped when it starts a line). */
interface Segment {
  space: string;
  text: string;
}

const graphemeSegmenter = new Intl.Segmenter(undefined, { granularity: 'grapheme' });
const graphemes = (text: string): string[] => Array.from(graphemeSegmenter.segment(text), (g) => g.segment);
const isWordChar = (g: string | undefined): boolean => g !== undefined && WORD.test(g) && !CJK.test(g);

/** Splits text into atoms; with `byCharacter`, Latin words are split into characters too. */
function atomize(text: string, byCharacter: boolean): Atom[] {
  const gs = graphemes(text);
  const atoms: Atom[] = [];
  for (let i = 0; i < gs.length; i++) {
    const g = gs[i] as string;
    const last = atoms.at(-1);
    const next = gs[i + 1];
    const joins = last?.kind === 'word' && !byCharacter && (
      isWordChar(g) ||
      (JOINERS.has(g) && isWordChar(next)) ||
      (g === ',' && DIGIT.test(last.text.at(-1) ?? '') && DIGIT.test(next ?? ''))
    );
    if (last && (joins || (PAIRED.has(g) && last.text.at(-1) === g))) {
      last.text += g;
    } else if (SPACE.test(g)) {
      atoms.push({ kind: 'space', text: g });
    } else if (g === '"' || g === "'") {
      // An ASCII quote opens after a space, an opening mark or at the start, and closes otherwise.
      atoms.push({ kind: !last || last.kind === 'space' || last.kind === 'open' ? 'open' : 'close', text: g });
    } else if (CLOSING.has(g)) {
      atoms.push({ kind: 'close', text: g });
    } else if (OPENING.has(g)) {
      atoms.push({ kind: 'open', text: g });
    } else {
      atoms.push({ kind: isWordChar(g) ? 'word' : 'unit', text: g });
    }
  }
  return atoms;
}

/** Glues closing marks to the segment before them and opening marks to the one after. */
function segmentsOf(atoms: Atom[]): Segment[] {
  const segments: Segment[] = [];
  let space = '';
  let open = '';
  for (const atom of atoms) {
    const previous = segments.at(-1);
    if (atom.kind === 'open' || (open && atom.kind !== 'word' && atom.kind !== 'unit')) {
      open += atom.text;
    } else if (atom.kind === 'space') {
      space += atom.text;
    } else if (atom.kind === 'close' && previous) {
      previous.text += space + atom.text;
      space = '';
    } else {
      segments.push({ space, text: open + atom.text });
      space = open = '';
    }
  }
  if (open) segments.push({ space, text: open });
  return segments;
}

/**
 * Fills lines greedily. A closing mark that does not fit at the end of a line takes the character before
 * it onto the next line (push-down) rather than hanging past the edge: the caption box and the product card
 * are sized to the measured width, so a hanging mark would be drawn over their rounded edge.
 */
function fill(segments: Segment[], maxWidth: number, measure: MeasureText, byCharacter: boolean): string[] {
  const lines: string[] = [];
  let line = '';
  for (const segment of segments) {
    const candidate = line ? line + segment.space + segment.text : segment.text;
    if (measure(candidate) <= maxWidth) {
      line = candidate;
      continue;
    }
    if (line) lines.push(line);
    line = segment.text;
    // Wider than a whole line on its own (a long URL, a tiny width): break it by character, as CSS
    // overflow-wrap: break-word does, still keeping punctuation and "……" with their neighbours.
    if (!byCharacter && measure(line) > maxWidth) {
      const pieces = fill(segmentsOf(atomize(line, true)), maxWidth, measure, true);
      line = pieces.pop() ?? '';
      lines.push(...pieces);
    }
  }
  if (line) lines.push(line);
  return lines;
}

/** Cuts a line so that it ends in "…" within `maxWidth`, without an opening mark, a pause or a space before it. */
function withEllipsis(line: string, maxWidth: number, measure: MeasureText): string {
  const gs = graphemes(line);
  const dangling = (g: string) => SPACE.test(g) || OPENING.has(g) || PAIRED.has(g) || '，、；：,;:'.includes(g);
  const trim = () => {
    while (gs.length > 0 && dangling(gs.at(-1) as string)) gs.pop();
  };
  trim();
  while (gs.length > 0 && measure(`${gs.join('')}…`) > maxWidth) {
    gs.pop();
    trim();
  }
  return `${gs.join('')}…`;
}

/**
 * Breaks `text` into lines no wider than `maxWidth` (as `measure` says) by Chinese line-breaking rules.
 * With more than `maxLines` lines, keeps `maxLines` and ends the last with "…". Whitespace only breaks.
 */
export function breakLines(text: string, maxWidth: number, measure: MeasureText, maxLines = Infinity): string[] {
  if (maxLines < 1) return [];
  const lines = fill(segmentsOf(atomize(text, false)), maxWidth, measure, false);
  if (lines.length <= maxLines) return lines;
  const kept = lines.slice(0, maxLines);
  kept[maxLines - 1] = withEllipsis(kept[maxLines - 1] as string, maxWidth, measure);
  return kept;
}

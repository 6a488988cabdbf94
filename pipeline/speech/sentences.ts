/**
 * Text → sentences for speech. Sentences are synthesised one by one and ahead of playback, so the first
 * one can start playing while later ones are made, and an interrupt drops only what is queued.
 */

export type Language = 'zh' | 'en';

const CJK = /[\u3400-\u9FFF\uF900-\uFAFF]/;
/** Ends a sentence wherever it stands (CJK full stops and marks, line breaks). */
const HARD_END = /[。！？!?；;…\n]/;
/** Where a too-long sentence may be cut. */
const SOFT_BREAK = /[，、,：:]/;
/** Longest sentence handed to the synthesiser in one piece (characters). */
export const MAX_SENTENCE_CHARS = 120;
/** Longest text one request may carry. */
export const MAX_TEXT_CHARS = 5000;

/** Which language a piece of text is mostly in: any Han character makes it Chinese. */
export function detectLanguage(text: string): Language {
  return CJK.test(text) ? 'zh' : 'en';
}

/**
 * Splits text into sentences at Chinese and English punctuation. A full stop only ends a sentence
 * before a space or the end (so ¥199.9, 3.5 and e.g. URLs stay whole); closing quotes and brackets
 * stay with their sentence; over-long sentences are cut at commas, then at spaces, then hard.
 */
export function splitSentences(text: string): string[] {
  const out: string[] = [];
  let current = '';
  const chars = [...text.replace(/\r\n?/g, '\n')];
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i] as string;
    current += ch;
    const next = chars[i + 1];
    const ends = HARD_END.test(ch) || (ch === '.' && (next === undefined || /\s/.test(next)) && !isAbbreviation(current));
    if (!ends) continue;
    // Keep runs of marks and closing quotes together: "真的吗？！" and 'Wait..."'.
    while (chars[i + 1] !== undefined && /[。！？!?.…"'”’）)」』]/.test(chars[i + 1] as string)) current += chars[++i];
    push(out, current);
    current = '';
  }
  push(out, current);
  return out.flatMap((s) => cutLong(s));
}

const ABBREVIATIONS = /\b(?:Mr|Mrs|Ms|Dr|Prof|St|vs|etc|e\.g|i\.e|No)\.$/i;
function isAbbreviation(text: string): boolean {
  return ABBREVIATIONS.test(text.trimEnd());
}

function push(out: string[], sentence: string): void {
  const trimmed = sentence.replace(/\s+/g, ' ').trim();
  // A sentence of punctuation alone says nothing.
  if (trimmed && /[\p{L}\p{N}]/u.test(trimmed)) out.push(trimmed);
}

function cutLong(sentence: string): string[] {
  const chars = [...sentence];
  if (chars.length <= MAX_SENTENCE_CHARS) return [sentence];
  const window = chars.slice(0, MAX_SENTENCE_CHARS);
  let cut = -1;
  for (let i = window.length - 1; i > MAX_SENTENCE_CHARS / 3; i--) {
    if (SOFT_BREAK.test(window[i] as string)) {
      cut = i + 1;
      break;
    }
  }
  if (cut < 0) {
    for (let i = window.length - 1; i > MAX_SENTENCE_CHARS / 3; i--) {
      if (window[i] === ' ') {
        cut = i + 1;
        break;
      }
    }
  }
  if (cut < 0) cut = MAX_SENTENCE_CHARS;
  const head = chars.slice(0, cut).join('').trim();
  const rest = chars.slice(cut).join('').trim();
  return [head, ...(rest ? cutLong(rest) : [])];
}

const DIGITS_ZH = ['零', '一', '二', '三', '四', '五', '六', '七', '八', '九'];

/**
 * Rewrites what a synthesiser would misread: currency signs before amounts become words after them
 * (¥199.9 → 199.9元, $19.99 → 19.99 dollars), percentages in Chinese become 百分之, and characters no
 * voice can say (emoji, symbols) are dropped.
 */
export function normalizeForSpeech(text: string, language: Language): string {
  let t = text.normalize('NFKC');
  if (language === 'zh') {
    t = t.replace(/[¥￥]\s*(\d+(?:\.\d+)?)/g, '$1元');
    t = t.replace(/\$\s*(\d+(?:\.\d+)?)/g, '$1美元');
    t = t.replace(/(\d+(?:\.\d+)?)\s*%/g, '百分之$1');
    // Phone-number-like runs (7+ digits) are read digit by digit.
    t = t.replace(/\d{7,}/g, (run) => [...run].map((d) => DIGITS_ZH[Number(d)]).join(''));
  } else {
    t = t.replace(/[¥￥]\s*(\d+(?:\.\d+)?)/g, '$1 yuan');
    t = t.replace(/\$\s*(\d+(?:\.\d+)?)/g, '$1 dollars');
    t = t.replace(/€\s*(\d+(?:\.\d+)?)/g, '$1 euros');
  }
  // Letters, numbers, punctuation and spaces stay; emoji and other symbols go.
  t = t.replace(/[^\p{L}\p{M}\p{N}\p{P}\s+\-*/=<>]/gu, ' ');
  return t.replace(/\s+/g, ' ').trim();
}

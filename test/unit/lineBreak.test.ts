import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createCanvas } from '@napi-rs/canvas';
import { productCardSchema } from '../../config/schema.js';
import { CAPTION_FONT_FAMILY, ensureCaptionFont } from '../../pipeline/compose/fonts.js';
import { breakLines } from '../../pipeline/compose/lineBreak.js';
import { drawProductCard } from '../../pipeline/compose/productCard.js';
import { wrapCaption } from '../../pipeline/compose/scene.js';

/** A fixed-pitch stand-in for a CJK font: ASCII is half a unit wide, everything else one unit. */
const measure = (s: string) => [...s].reduce((w, c) => w + ((c.codePointAt(0) as number) < 0x80 ? 0.5 : 1), 0);

const NO_START = '，。、！？；：”’）》」』】〉〕…·％,.!?;:)]}%';
const NO_END = '“‘（《「『【〈〔¥$￥([{';
const CAPTION = '大家好，欢迎来到我们的直播间，今天的保温杯只要九十九元。';

/** The rules every result keeps, whatever the text and width. */
function assertRules(lines: string[], maxWidth: number, measureLine: (s: string) => number): void {
  lines.forEach((line, i) => {
    assert.ok(!NO_START.includes(line[0] as string), `line ${i} starts with a closing mark: ${JSON.stringify(lines)}`);
    assert.ok(!NO_END.includes(line.at(-1) as string), `line ${i} ends with an opening mark: ${JSON.stringify(lines)}`);
    assert.ok(measureLine(line) <= maxWidth, `line ${i} is wider than ${maxWidth}: ${JSON.stringify(lines)}`);
    const next = lines[i + 1];
    for (const pair of '…—') assert.ok(!(line.endsWith(pair) && next?.startsWith(pair)), `"${pair}${pair}" split: ${JSON.stringify(lines)}`);
  });
}

const cases: { name: string; text: string; width: number; maxLines?: number; lines: string[] }[] = [
  // The old wrapping gave "大家好，欢迎来到我们的直播间" / "，今天…": the comma takes "间" down with it.
  { name: 'the issue caption does not start a line with "，"', text: CAPTION, width: 14, lines: ['大家好，欢迎来到我们的直播', '间，今天的保温杯只要九十九', '元。'] },
  { name: '"。" stays at the end of a line', text: '一二三四五。六七', width: 5, lines: ['一二三四', '五。六七'] },
  { name: '"！" stays at the end of a line', text: '一二三四五！六七', width: 5, lines: ['一二三四', '五！六七'] },
  { name: 'a closing quote after a stop stays with it', text: '我们走吧。”好', width: 5.5, lines: ['我们走', '吧。”好'] },
  { name: '"）" stays at the end of a line', text: '价格（含税）很低', width: 5, lines: ['价格（含', '税）很低'] },
  { name: '"“" does not end a line', text: '一二三四“五六”', width: 5, lines: ['一二三四', '“五六”'] },
  { name: '"（" does not end a line', text: '一二三四（五六）', width: 5, lines: ['一二三四', '（五六）'] },
  { name: '"《" does not end a line', text: '书名是《红楼梦》', width: 4, lines: ['书名是', '《红楼', '梦》'] },
  { name: 'an ASCII "(" does not end a line', text: '价格(含税)很低', width: 3, lines: ['价格', '(含税)', '很低'] },
  { name: 'an ASCII ")" does not start a line', text: '价格(含税)很低', width: 4.5, lines: ['价格(含', '税)很低'] },
  { name: '"¥199.9" is kept whole', text: '现价¥199.9元', width: 5, lines: ['现价', '¥199.9元'] },
  { name: 'a full-width "￥" stays with its amount', text: '现价￥199.9元', width: 5, lines: ['现价', '￥199.9元'] },
  { name: '"99.9%" is kept whole', text: '折扣99.9%哦', width: 4, lines: ['折扣', '99.9%哦'] },
  { name: 'a full-width "％" stays with its number', text: '折扣99.9％哦', width: 4.5, lines: ['折扣', '99.9％哦'] },
  { name: 'an English sentence breaks only at spaces', text: 'The quick brown fox jumps over the lazy dog.', width: 10, lines: ['The quick brown fox', 'jumps over the lazy', 'dog.'] },
  { name: "don't and Wi-Fi stay whole, the comma stays with its word", text: "Please don't turn off the Wi-Fi, thanks!", width: 6.5, lines: ["Please don't", 'turn off the', 'Wi-Fi,', 'thanks!'] },
  { name: 'mixed Chinese, a product name and a price', text: '今天的iPhone 15 Pro只要¥5999', width: 6, lines: ['今天的iPhone', '15 Pro只要', '¥5999'] },
  { name: '"……" stays whole and with the character before it', text: '他沉默了……然后说——好吧', width: 5, lines: ['他沉默', '了……然后', '说——好吧'] },
  { name: '"——" is never split', text: '一二三——四', width: 4, lines: ['一二三', '——四'] },
  { name: 'too many lines end the last kept one in "…"', text: CAPTION, width: 6, maxLines: 2, lines: ['大家好，欢迎', '来到我们的…'] },
  { name: 'the "…" fits within the width', text: 'Supercalifragilistic day', width: 6, maxLines: 1, lines: ['Supercalif…'] },
  { name: 'no opening mark is left before the "…"', text: '一二（三四五六七八', width: 4, maxLines: 1, lines: ['一二…'] },
  { name: 'an over-long word is broken by character', text: 'Supercalifragilisticexpialidocious', width: 5, lines: ['Supercalif', 'ragilistic', 'expialidoc', 'ious'] },
  { name: 'an over-long number after Chinese is broken too, its "。" kept', text: '号码12345678901234。', width: 4, lines: ['号码', '12345678', '901234。'] },
];

for (const c of cases) {
  test(`line breaking: ${c.name}`, () => {
    const lines = breakLines(c.text, c.width, measure, c.maxLines);
    assert.deepEqual(lines, c.lines);
    assertRules(lines, c.width, measure);
    if (c.maxLines === undefined) assert.equal(lines.join('').replace(/\s/g, ''), c.text.replace(/\s/g, ''), 'nothing lost or added');
  });
}

test('line breaking: empty text, and no lines allowed, give no lines', () => {
  assert.deepEqual(breakLines('', 10, measure), []);
  assert.deepEqual(breakLines('   ', 10, measure), []);
  assert.deepEqual(breakLines(CAPTION, 10, measure, 0), []);
});

test('the issue caption, wrapped with the real caption font, keeps the rules at any width', () => {
  assert.ok(ensureCaptionFont(), 'a CJK font is installed');
  const ctx = createCanvas(1, 1).getContext('2d');
  ctx.font = `40px ${CAPTION_FONT_FAMILY}, sans-serif`;
  const width = (s: string) => ctx.measureText(s).width;
  // Widths that end exactly before a "，" (3 and 14 characters), and some in between.
  for (const chars of [3, 5, 9, 14, 17, 22]) {
    const maxWidth = width(CAPTION.slice(0, chars));
    const lines = wrapCaption(ctx, CAPTION, maxWidth, 20);
    assertRules(lines, maxWidth, width);
    assert.equal(lines.join(''), CAPTION, `${chars} characters wide`);
  }
});

test('a long product tagline wraps to a second line and the card grows to hold it, not cut', () => {
  const card = (tagline: string) => productCardSchema.parse({ name: '保温杯', price: '¥59.9', tagline });
  const short = drawProductCard(card('24 小时保温'), null, 720, 1280).canvas;
  const long = drawProductCard(card('24 小时保温，316 不锈钢内胆，一杯喝到下班，今天直播间下单再送杯套和杯刷'), null, 720, 1280).canvas;
  assert.equal(long.width, short.width);
  assert.equal(long.height - short.height, Math.round(22 * 1.2), 'one more tagline line (22 px font, 1.2 line height)');
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { toSrt } from '../../pipeline/export/subtitles.js';
import { checkScript, estimateSpeechS, scriptLines, VideoScriptError } from '../../pipeline/export/videoScript.js';

test('a text script: a line each, blank lines lengthen the pause before the next, surrounding space dropped', () => {
  assert.deepEqual(scriptLines('  大家好。\n\n\nWelcome!  \r\n第三句。'), [
    { text: '大家好。', pauseMs: 500 + 700 * 2 },
    { text: 'Welcome!', pauseMs: 500 },
    { text: '第三句。', pauseMs: 500 },
  ]);
  // Lines as for a playlist keep their own pauses and voices; empty ones are dropped.
  assert.deepEqual(scriptLines([{ text: ' a ', pauseMs: 0, voice: 'en' }, { text: '  ' }]), [{ text: 'a', pauseMs: 0, voice: 'en' }]);
});

test('a script\'s length is estimated from its characters and words: empty and over-long ones are refused', () => {
  // 45 Chinese characters ~10 s, 26 English words ~10 s, each plus its pause.
  const zh = estimateSpeechS([{ text: '好'.repeat(45), pauseMs: 0 }]);
  const en = estimateSpeechS([{ text: Array(26).fill('word').join(' '), pauseMs: 1000 }]);
  assert.ok(Math.abs(zh - 10) < 0.01 && Math.abs(en - 11) < 0.01, `${zh}, ${en}`);
  assert.throws(() => checkScript('\n \n'), (err: unknown) => err instanceof VideoScriptError && /empty/.test(err.message));
  assert.throws(() => checkScript('好'.repeat(3000)), /too long: about 11 minutes of speech, at most 10/);
  assert.equal(checkScript('好'.repeat(2500)).length, 1);
});

test('SRT: numbered cues, hours to milliseconds, one line of text each', () => {
  assert.equal(toSrt([{ startMs: 0, endMs: 1234.4, text: '第一句。' }, { startMs: 3_723_005, endMs: 3_724_999.6, text: 'two\nlines' }]),
    '1\n00:00:00,000 --> 00:00:01,234\n第一句。\n\n2\n01:02:03,005 --> 01:02:05,000\ntwo lines\n');
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createLogger } from '../../server/log.js';

function harness(windowMs = 60_000) {
  let now = 0;
  const lines: string[] = [];
  const log = createLogger('info', { write: (l) => lines.push(l.trimEnd()), nowMs: () => now, timestamp: () => 'T', repeatWindowMs: windowMs, summaryTimer: false });
  return { log, lines, advance: (ms: number) => (now += ms) };
}

test('log: a repeated message is written once, then once a window as a count; other messages pass', () => {
  const { log, lines, advance } = harness();
  // 30 warnings a second for 3 minutes: the flood an unsayable playlist used to make.
  for (let i = 0; i < 30 * 180; i++) {
    log.warn('playlist line 1 skipped: text has nothing that can be spoken');
    if (i % 30 === 0) log.info(`tick ${i}`);
    advance(1000 / 30);
  }
  const warnings = lines.filter((l) => l.includes('warn'));
  assert.equal(warnings[0], 'T warn  playlist line 1 skipped: text has nothing that can be spoken');
  // One line, then one summary per minute.
  assert.equal(warnings.length, 3, warnings.join('\n'));
  // About 1,800 a window (the clock steps in thirtieths of a second).
  assert.match(warnings[1] ?? '', /skipped: text has nothing that can be spoken \(repeated 1(799|800|801) times in the last 60 s\)$/);
  assert.match(warnings[2] ?? '', /\(repeated 1(799|800|801) times in the last 60 s\)$/);
  assert.equal(lines.filter((l) => l.includes('info')).length, 180, 'different messages are not held back');
});

test('log: a key groups messages with changing details; the count of a stopped flood is written; quiet messages log again', () => {
  const { log, lines, advance } = harness(10_000);
  for (let i = 0; i < 50; i++) log.warn(`wrong token from 10.0.0.${i % 3}`, 'auth');
  assert.deepEqual(lines, ['T warn  wrong token from 10.0.0.0']);
  advance(10_000);
  log.error('unrelated');
  assert.deepEqual(lines.slice(1), ['T warn  wrong token from 10.0.0.0 (repeated 49 times in the last 10 s)', 'T error unrelated']);
  // Quiet for a whole window: forgotten, so the next one is written in full.
  advance(10_000);
  log.error('another');
  advance(1);
  log.warn('wrong token from 10.0.0.7', 'auth');
  assert.equal(lines.at(-1), 'T warn  wrong token from 10.0.0.7');
  // The same text at another level is another message.
  log.error('wrong token from 10.0.0.7', 'auth');
  assert.equal(lines.at(-1), 'T error wrong token from 10.0.0.7');
});

test('log: flushRepeats writes pending counts; below the level nothing is tracked or written', () => {
  const { log, lines } = harness();
  log.warn('a');
  log.warn('a');
  log.debug('hidden');
  log.flushRepeats();
  assert.deepEqual(lines, ['T warn  a', 'T warn  a (repeated 1 times in the last 1 s)']);
  log.warn('a');
  assert.equal(lines.at(-1), 'T warn  a', 'flushed messages start afresh');
});

test('log: a suppressed call allocates nothing to speak of', () => {
  const { log } = harness();
  log.warn('same');
  const before = process.memoryUsage().heapUsed;
  for (let i = 0; i < 1_000_000; i++) log.warn('same');
  const grown = process.memoryUsage().heapUsed - before;
  assert.ok(grown < 4 * 1024 * 1024, `heap grew ${(grown / 1024).toFixed(0)} kB over a million suppressed calls`);
});

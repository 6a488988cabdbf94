import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MediaClock } from '../../pipeline/clock.js';

test('video pts follow the audio sample count exactly', () => {
  const clock = new MediaClock(48_000, 30);
  let samples = 0;
  for (let i = 0; i < 90; i++) {
    const tick = clock.advance();
    assert.equal(tick.frameIndex, i);
    assert.equal(tick.firstSample, samples);
    assert.equal(tick.audioSamples, 1600);
    assert.equal(tick.ptsUs, Math.round((samples * 1e6) / 48_000));
    samples += tick.audioSamples;
  }
});

test('44.1 kHz at 29.97 fps never drifts over 24 hours', () => {
  const clock = new MediaClock(44_100, 30_000 / 1001);
  const frames = Math.round(24 * 3600 * clock.fps);
  let total = 0;
  let min = Infinity;
  let max = 0;
  for (let i = 0; i < frames; i++) {
    const n = clock.sampleAtFrame(i + 1) - clock.sampleAtFrame(i);
    total += n;
    min = Math.min(min, n);
    max = Math.max(max, n);
  }
  // Sample counts per frame differ by at most one, and the sum is exact to the sample.
  assert.ok(max - min <= 1);
  assert.equal(total, clock.sampleAtFrame(frames));
  assert.ok(Math.abs(total / 44_100 - frames / clock.fps) < 1 / 44_100);
});

test('frames due by elapsed media time', () => {
  const clock = new MediaClock(48_000, 30);
  assert.equal(clock.framesDueAt(0), 1);
  assert.equal(clock.framesDueAt(33_333), 1);
  assert.equal(clock.framesDueAt(33_334), 2);
  assert.equal(clock.framesDueAt(1_000_000), 31);
});

test('rejects impossible rates', () => {
  assert.throws(() => new MediaClock(0, 30), TypeError);
  assert.throws(() => new MediaClock(48_000, 0), TypeError);
});

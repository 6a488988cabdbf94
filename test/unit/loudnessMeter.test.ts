import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { LoudnessMeter } from '../../pipeline/audio/loudnessMeter.js';

/** Stereo 16-bit PCM: a 1 kHz tone at `dbfs` for `seconds`. */
function tone(rateHz: number, seconds: number, dbfs: number, hz = 1000): Int16Array {
  const frames = Math.round(rateHz * seconds);
  const pcm = new Int16Array(frames * 2);
  const amplitude = 32767 * 10 ** (dbfs / 20);
  for (let i = 0; i < frames; i++) pcm[i * 2] = pcm[i * 2 + 1] = Math.round(amplitude * Math.sin((2 * Math.PI * hz * i) / rateHz));
  return pcm;
}

/** Something like a voice with pauses: tones of changing pitch and level, noise bursts, silence between. */
function programme(rateHz: number): Int16Array {
  let seed = 7;
  const random = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32) * 2 - 1;
  const parts: Int16Array[] = [];
  for (let n = 0; n < 24; n++) {
    parts.push(tone(rateHz, 0.3 + (n % 5) * 0.15, -30 + (n % 7) * 3, 120 + n * 230));
    const noise = new Int16Array(Math.round(rateHz * 0.2) * 2);
    for (let i = 0; i < noise.length; i++) noise[i] = Math.round(random() * 6000);
    parts.push(noise, new Int16Array(Math.round(rateHz * (0.1 + (n % 3) * 0.4)) * 2));
  }
  const out = new Int16Array(parts.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function ffmpegLoudness(pcm: Int16Array, rateHz: number): number {
  const run = spawnSync('ffmpeg', ['-hide_banner', '-nostats', '-f', 's16le', '-ar', String(rateHz), '-ac', '2', '-i', 'pipe:0', '-af', 'ebur128', '-f', 'null', '-'], { input: Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength), encoding: 'utf8' });
  const summary = run.stderr.slice(run.stderr.lastIndexOf('Summary:'));
  return Number(/I:\s+(-?[\d.]+) LUFS/.exec(summary)?.[1]);
}

test('loudness as it is written: a 1 kHz tone at −23 dBFS reads −23 LUFS; a programme with pauses reads as ffmpeg\'s ebur128 does, at 44.1 and 48 kHz, fed in any chunks', () => {
  const meter = new LoudnessMeter(48000, 2);
  meter.push(tone(48000, 5, -23));
  assert.ok(Math.abs(meter.integratedLufs - -23) < 0.05, `${meter.integratedLufs}`);
  assert.equal(new LoudnessMeter(48000, 2).integratedLufs, Number.NEGATIVE_INFINITY, 'nothing measured');
  const silent = new LoudnessMeter(48000, 2);
  silent.push(new Int16Array(48000 * 2 * 2));
  assert.equal(silent.integratedLufs, Number.NEGATIVE_INFINITY, 'silence is under the absolute gate');

  for (const rateHz of [44100, 48000]) {
    const pcm = programme(rateHz);
    const reference = ffmpegLoudness(pcm, rateHz);
    const chunked = new LoudnessMeter(rateHz, 2);
    // Odd chunk sizes (whole frames): what the encoder's audio tags carry.
    for (let at = 0; at < pcm.length; at += 2 * 1471) chunked.push(pcm.subarray(at, Math.min(pcm.length, at + 2 * 1471)));
    const whole = new LoudnessMeter(rateHz, 2);
    whole.push(pcm);
    assert.ok(Number.isFinite(reference), 'ffmpeg measured it');
    assert.ok(Math.abs(chunked.integratedLufs - reference) < 0.15, `${rateHz} Hz: ${chunked.integratedLufs.toFixed(2)} LUFS against ffmpeg's ${reference}`);
    assert.equal(chunked.integratedLufs, whole.integratedLufs);
    console.log(`# ${rateHz} Hz: ${chunked.integratedLufs.toFixed(2)} LUFS, ffmpeg ${reference}`);
  }
});

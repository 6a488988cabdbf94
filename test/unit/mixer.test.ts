import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AudioMixer, BlockInput, RingInput } from '../../pipeline/audio/mixer.js';
import { PcmRing } from '../../pipeline/audio/pcmRing.js';

/** A music input that always holds a constant level. */
function constantMusic(level: number) {
  const ring = new PcmRing(48000);
  const refill = () => {
    const block = new Int16Array(4800 * 2).fill(level);
    while (ring.freeFrames >= 4800) ring.write(block);
  };
  refill();
  return new RingInput(ring, { gain: 1, ducked: true, refill });
}

function levelOf(out: Buffer, at: number): number {
  return out.readInt16LE(at * 4);
}

test('music ducks under speech quickly, holds through short gaps and comes back slowly in a pause, without steps', () => {
  const mixer = new AudioMixer(48000);
  mixer.inputs.add(constantMusic(8000));
  const frames = 1600;
  let out = mixer.mix(frames, Buffer.alloc(frames * 4), false);
  assert.equal(levelOf(out, 0), 8000, 'full level before speech');
  let worstStep = 0;
  let previous = levelOf(out, frames - 1);
  const track = (buffer: Buffer) => {
    for (let i = 0; i < frames; i++) {
      const v = levelOf(buffer, i);
      worstStep = Math.max(worstStep, Math.abs(v - previous));
      previous = v;
    }
  };
  for (let tick = 0; tick < 3; tick++) track((out = mixer.mix(frames, Buffer.alloc(frames * 4), true)));
  assert.ok(Math.abs(mixer.duckGain - 10 ** (-12 / 20)) < 1e-6, 'down by 12 dB within 100 ms');
  assert.ok(Math.abs(levelOf(out, frames - 1) - 8000 * 10 ** (-12 / 20)) < 2);
  // A gap between sentences (half a second) keeps it down: no pumping.
  for (let tick = 0; tick < 15; tick++) track((out = mixer.mix(frames, Buffer.alloc(frames * 4), false)));
  assert.ok(Math.abs(mixer.duckGain - 10 ** (-12 / 20)) < 1e-6, 'held down through a short gap');
  for (let tick = 0; tick < 6; tick++) track((out = mixer.mix(frames, Buffer.alloc(frames * 4), false)));
  assert.ok(mixer.duckGain > 10 ** (-12 / 20) && mixer.duckGain < 0.7, 'coming back once the pause outlasts the hold');
  for (let tick = 0; tick < 15; tick++) track((out = mixer.mix(frames, Buffer.alloc(frames * 4), false)));
  assert.equal(mixer.duckGain, 1, 'back after half a second');
  assert.ok(worstStep <= 8, `gain moves in ramps, no clicks (largest step ${worstStep})`);
});

test('speech is mixed centred and loud sums are limited, not wrapped', () => {
  const mixer = new AudioMixer(48000);
  mixer.inputs.add(constantMusic(30000));
  const speech = new BlockInput();
  mixer.inputs.add(speech);
  speech.set(new Float32Array(160).fill(0.9));
  const out = mixer.mix(160, Buffer.alloc(160 * 4), false);
  const left = out.readInt16LE(0), right = out.readInt16LE(2);
  assert.equal(left, right);
  assert.ok(left > 16384 && left <= 32767, `limited, not wrapped (${left})`);
});

test('speech and the microphone are inputs like music: each block plays once, and they sum', () => {
  const mixer = new AudioMixer(48000);
  const speech = new BlockInput(), mic = new BlockInput();
  mixer.inputs.add(speech);
  mixer.inputs.add(mic);
  speech.set(new Float32Array(160).fill(0.1));
  mic.set(new Float32Array(160).fill(0.2));
  const both = mixer.mix(160, Buffer.alloc(160 * 4), true);
  assert.equal(both.readInt16LE(0), Math.round(0.3 * 32767));
  const after = mixer.mix(160, Buffer.alloc(160 * 4), false);
  assert.equal(after.readInt16LE(0), 0, 'a block not handed again is not played again');
});

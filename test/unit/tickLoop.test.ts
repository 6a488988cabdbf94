import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MediaClock, VirtualClock, wallClock } from '../../pipeline/clock.js';
import { TickLoop } from '../../pipeline/channel/tickLoop.js';

test('on a virtual clock the same tick loop makes a minute of frames in far less than a minute, in order, none repeated', async () => {
  const media = new MediaClock(48000, 30);
  const frames: number[] = [];
  let repeats = 0;
  const started = performance.now();
  await new Promise<void>((resolve) => {
    const loop = new TickLoop({
      media,
      source: new VirtualClock(),
      onTick: (tick, render) => {
        frames.push(tick.frameIndex);
        if (!render) repeats++;
        if (tick.frameIndex === 1799) {
          loop.stop();
          resolve();
        }
      },
    });
    loop.start();
  });
  const wallS = (performance.now() - started) / 1000;
  assert.equal(frames.length, 1800);
  assert.deepEqual(frames.slice(0, 3), [0, 1, 2]);
  assert.equal(repeats, 0);
  assert.ok(wallS < 10, `60 s of frames took ${wallS.toFixed(2)} s`);
});

test('off the wall clock the loop waits for a sink that is behind instead of repeating pictures', async () => {
  const media = new MediaClock(48000, 30);
  let held = 0, ticks = 0;
  await new Promise<void>((resolve) => {
    const loop = new TickLoop({
      media,
      source: new VirtualClock(),
      // Behind on every other ask: the loop must come back for it.
      holdBack: () => held++ % 2 === 0,
      onTick: (_tick, render) => {
        assert.ok(render);
        if (++ticks === 30) {
          loop.stop();
          resolve();
        }
      },
    });
    loop.start();
  });
  assert.ok(held >= 59, `asked the sink ${held} times for 30 ticks`);
});

test('on the wall clock ticks follow real time: about 15 frames in half a second', async () => {
  const media = new MediaClock(48000, 30);
  let ticks = 0;
  const loop = new TickLoop({ media, source: wallClock, onTick: () => void ticks++ });
  loop.start();
  await new Promise((r) => setTimeout(r, 500));
  loop.stop();
  assert.ok(ticks >= 14 && ticks <= 17, `${ticks} ticks in 0.5 s`);
  const after = ticks;
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(ticks, after, 'no tick after stop');
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Registry } from 'prom-client';
import { channelSchema } from '../../config/schema.js';
import { Channel } from '../../pipeline/channel.js';
import { VirtualClock } from '../../pipeline/clock.js';
import { PipelineMetrics } from '../../pipeline/metrics.js';
import type { FlvTag } from '../../pipeline/output/flvTags.js';

test('a channel on a virtual clock runs the live tick code faster than real time: every frame drawn and encoded, none repeated', async () => {
  const channel = await Channel.create({
    id: 'export-test',
    config: channelSchema.parse({ preset: 'landscape-720p' }),
    ffmpegPath: 'ffmpeg',
    dataDir: '.',
    metrics: new PipelineMetrics(new Registry()),
    webrtc: null,
    clock: new VirtualClock(),
    log: () => {},
  });
  // The encoder's own count of frames encoded, as monitoring sees it.
  let encodedFrames = 0;
  channel.observer.on('encoderStats', (stats) => (encodedFrames = Math.max(encodedFrames, stats.frames)));
  const seconds = 8;
  const started = performance.now();
  channel.start();
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setInterval(() => {
        if (channel.clock.frameIndex >= seconds * channel.preset.fps) {
          clearInterval(timer);
          resolve();
        } else if (performance.now() - started > 60_000) {
          clearInterval(timer);
          reject(new Error(`only ${channel.clock.frameIndex} frames in 60 s`));
        }
      }, 20);
    });
    const wallS = (performance.now() - started) / 1000;
    const status = channel.status;
    const frames = seconds * channel.preset.fps;
    const encodeBy = performance.now() + 10_000;
    while (encodedFrames < frames - 10 && performance.now() < encodeBy) await new Promise((r) => setTimeout(r, 50));
    assert.ok(encodedFrames >= frames - 10, `the encoder reported ${encodedFrames} of ${frames} frames`);
    console.log(`# ${seconds} s of 720p made in ${wallS.toFixed(1)} s (${(seconds / wallS).toFixed(1)}x real time)`);
    assert.ok(wallS < seconds, `${seconds} s of video took ${wallS.toFixed(1)} s of wall time`);
    assert.equal(status.framesRepeated, 0, 'off the wall clock no picture is repeated: the loop waits for the encoder');
    assert.ok(status.framesRendered >= seconds * channel.preset.fps);
    assert.ok(status.uptimeS >= seconds - 0.1, `uptime on the channel's clock ${status.uptimeS} s`);
  } finally {
    await channel.close();
  }
});

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { LoopPlayer } from '../../pipeline/clone/loopPlayer.js';
import { descendants, commandLine } from '../../loadtest/viewers/procStats.js';

const dir = mkdtempSync(join(tmpdir(), 'fenshen-loop-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const W = 64, H = 48, LOOP_FRAMES = 10;

/** A 10-frame loop at 25 fps whose frame i is flat gray 20·i + 20 (lossless H.264). */
function loopFile(): string {
  const file = join(dir, 'loop.mp4');
  const frames = Buffer.alloc(LOOP_FRAMES * W * H * 1.5);
  for (let i = 0; i < LOOP_FRAMES; i++) {
    const at = i * W * H * 1.5;
    frames.fill(20 * i + 20, at, at + W * H);
    frames.fill(128, at + W * H, at + W * H * 1.5);
  }
  const run = spawnSync('ffmpeg', ['-v', 'error', '-y', '-f', 'rawvideo', '-pix_fmt', 'yuv420p', '-video_size', `${W}x${H}`, '-framerate', '25', '-i', 'pipe:0', '-c:v', 'libx264', '-qp', '0', '-pix_fmt', 'yuv420p', file], { input: frames });
  assert.equal(run.status, 0, String(run.stderr));
  return file;
}

/** The next `count` frames' gray levels, waiting for the decoder as an export's tick does. */
async function play(player: LoopPlayer, count: number): Promise<{ n: number; gray: number; fromMemory: boolean }[]> {
  const shown: { n: number; gray: number; fromMemory: boolean }[] = [];
  const until = performance.now() + 10_000;
  while (shown.length < count && performance.now() < until) {
    if (!player.hasFrame) {
      await new Promise((r) => setTimeout(r, 2));
      continue;
    }
    const frame = player.next() as Uint8Array;
    shown.push({ n: player.frameNumber, gray: frame[W * 10 + 10] as number, fromMemory: player.fromMemory });
  }
  return shown;
}

const decoderRunning = (file: string) => descendants(process.pid).some((pid) => commandLine(pid).includes(file));

test('a clone\'s base loop is decoded once: from its second pass the same frames come from memory and the decoder is gone; one too big for the budget keeps decoding', async () => {
  const file = loopFile();
  const options = { ffmpegPath: 'ffmpeg', path: file, width: W, height: H, fps: 30, fit: 'cover' as const, pixelFormat: 'yuv420p' as const, onError: (m: string) => assert.fail(m), loopFrames: LOOP_FRAMES, loopFps: 25, frameBytes: W * H * 1.5 };
  const player = new LoopPlayer(options);
  player.start();
  const shown = await play(player, 40);
  assert.equal(shown.length, 40);
  // Output frame n shows loop frame round(n·25/30) mod 10, decoded or from memory alike.
  for (const { n, gray } of shown) assert.ok(Math.abs(gray - (20 * player.loopFrameOf(n) + 20)) <= 2, `frame ${n}: gray ${gray}, loop frame ${player.loopFrameOf(n)}`);
  assert.deepEqual(shown.map((s) => s.n), Array.from({ length: 40 }, (_, i) => i), 'every frame in turn');
  const firstFromMemory = shown.findIndex((s) => s.fromMemory);
  assert.ok(firstFromMemory >= 12 && firstFromMemory <= 14, `from memory after one pass of 12 output frames (at ${firstFromMemory})`);
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(decoderRunning(file), false, 'the decoder is stopped');
  player.close();

  // A loop faster than the channel (25 → 10 fps) skips frames the same way from memory as decoded.
  const slower = new LoopPlayer({ ...options, fps: 10 });
  slower.start();
  const skipping = await play(slower, 20);
  assert.ok(skipping.some((s) => s.fromMemory) && skipping.some((s) => !s.fromMemory));
  for (const { n, gray } of skipping) assert.ok(Math.abs(gray - (20 * slower.loopFrameOf(n) + 20)) <= 2, `at 10 fps, frame ${n}: gray ${gray}, loop frame ${slower.loopFrameOf(n)}`);
  slower.close();

  const tooBig = new LoopPlayer({ ...options, memoryBytes: W * H });
  tooBig.start();
  const decoded = await play(tooBig, 40);
  assert.equal(decoded.length, 40);
  assert.ok(decoded.every((s) => !s.fromMemory));
  for (const { n, gray } of decoded) assert.ok(Math.abs(gray - (20 * tooBig.loopFrameOf(n) + 20)) <= 2, `frame ${n}: gray ${gray}`);
  assert.equal(decoderRunning(file), true, 'still decoding');
  tooBig.close();
});

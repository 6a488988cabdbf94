import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { createCanvas } from '@napi-rs/canvas';
import { OUTPUT_PRESETS } from '../../config/presets.js';
import { channelSchema } from '../../config/schema.js';
import { IdleAnimator } from '../../pipeline/avatar/idle.js';
import { loadAvatar, resolveAvatarDir } from '../../pipeline/avatar/loader.js';
import { rasterizeAvatar } from '../../pipeline/avatar/raster.js';
import { AvatarRenderer } from '../../pipeline/avatar/renderer.js';
import { restPose, type RigPose } from '../../pipeline/avatar/rig.js';
import { TransformCache } from '../../pipeline/avatar/transformCache.js';
import { Channel } from '../../pipeline/channel.js';
import { loadChannelAvatar } from '../../pipeline/channel/assembly.js';
import { FrameCompositor } from '../../pipeline/compose/compositor.js';
import { DrawingCache } from '../../pipeline/compose/drawingCache.js';
import { alignRect, I420Layout, rgbaToI420, rgbToYuv } from '../../pipeline/compose/i420.js';
import { PicturePool } from '../../pipeline/compose/picturePool.js';
import { PreparedScene } from '../../pipeline/compose/scene.js';

test('BT.709 limited-range colours match the standard', () => {
  assert.deepEqual(rgbToYuv(255, 255, 255), [235, 128, 128]);
  assert.deepEqual(rgbToYuv(0, 0, 0), [16, 128, 128]);
  // BT.709: red is Y 63, Cb 102, Cr 240; blue is Y 32, Cb 240, Cr 118.
  assert.deepEqual(rgbToYuv(255, 0, 0), [63, 102, 240]);
  assert.deepEqual(rgbToYuv(0, 0, 255), [32, 240, 118]);
});

test('RGBA to I420 agrees with ffmpeg (bt709, limited range) within one level', () => {
  const width = 64, height = 32;
  const rgba = Buffer.alloc(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 4;
      rgba[i] = (x * 4) & 255;
      rgba[i + 1] = (y * 8) & 255;
      rgba[i + 2] = ((x + y) * 3) & 255;
      rgba[i + 3] = 255;
    }
  }
  const layout = new I420Layout(width, height);
  const ours = Buffer.alloc(layout.byteLength);
  rgbaToI420(rgba, width, 0, 0, ours, layout, { x: 0, y: 0, width, height });
  // ffmpeg converts each pixel (4:4:4, so its chroma filter plays no part); we compare 2x2 means.
  const ref = spawnSync('ffmpeg', ['-v', 'error', '-f', 'rawvideo', '-pix_fmt', 'rgba', '-s', `${width}x${height}`, '-i', 'pipe:0',
    '-vf', 'scale=out_color_matrix=bt709:out_range=tv:flags=accurate_rnd', '-pix_fmt', 'yuv444p', '-f', 'rawvideo', 'pipe:1'], { input: rgba });
  assert.equal(ref.status, 0, ref.stderr?.toString());
  const plane = width * height;
  assert.equal(ref.stdout.length, plane * 3);
  let worstLuma = 0, worstChroma = 0;
  for (let i = 0; i < plane; i++) worstLuma = Math.max(worstLuma, Math.abs((ours[i] as number) - (ref.stdout[i] as number)));
  for (const [ourOffset, refOffset] of [[layout.uOffset, plane], [layout.vOffset, 2 * plane]] as const) {
    for (let cy = 0; cy < height / 2; cy++) {
      for (let cx = 0; cx < width / 2; cx++) {
        const at = (x: number, y: number) => ref.stdout[refOffset + y * width + x] as number;
        const mean = (at(2 * cx, 2 * cy) + at(2 * cx + 1, 2 * cy) + at(2 * cx, 2 * cy + 1) + at(2 * cx + 1, 2 * cy + 1)) / 4;
        worstChroma = Math.max(worstChroma, Math.abs((ours[ourOffset + cy * (width / 2) + cx] as number) - mean));
      }
    }
  }
  assert.ok(worstLuma <= 1, `luma differs by ${worstLuma}`);
  assert.ok(worstChroma <= 1.25, `chroma differs by ${worstChroma}`);
});

test('rects align outward to even pixels and clip to the picture', () => {
  assert.deepEqual(alignRect({ x: 3, y: -5, width: 10, height: 20 }, 12, 12), { x: 2, y: 0, width: 10, height: 12 });
  assert.deepEqual(alignRect({ x: 20, y: 20, width: 4, height: 4 }, 12, 12), { x: 20, y: 20, width: 0, height: 0 });
});

test('pictures are reused once every holder released them', () => {
  const pool = new PicturePool(new I420Layout(4, 4));
  const a = pool.acquire();
  a.retain();
  a.release();
  assert.equal(a.refs, 1);
  a.release();
  const b = pool.acquire();
  assert.equal(b, a, 'the released buffer comes back');
  assert.notEqual(pool.acquire(), b);
  assert.equal(pool.allocated, 2);
  b.release();
  assert.throws(() => b.release(), /released more often/);
});

test('the rotation cache returns nothing for the identity and keeps to its byte budget', () => {
  const sprite = createCanvas(100, 50);
  sprite.getContext('2d').fillRect(0, 0, 100, 50);
  const cache = new TransformCache({ budgetBytes: 100_000 });
  assert.equal(cache.get(sprite, [1, 0, 0, 1, 12.5, 3]), null);
  for (let deg = 1; deg <= 10; deg++) {
    const r = (deg * Math.PI) / 180;
    const turned = cache.get(sprite, [Math.cos(r), Math.sin(r), -Math.sin(r), Math.cos(r), 0, 0]);
    assert.ok(turned && turned.canvas.width > 100, 'a turned sprite grows its box');
    assert.ok(cache.bytes <= 100_000 || cache.bytes === turned.canvas.width * turned.canvas.height * 4);
  }
  assert.equal(cache.misses, 10);
  const r = Math.PI / 180 * 10;
  const again = cache.get(sprite, [Math.cos(r), Math.sin(r), -Math.sin(r), Math.cos(r), 5, 5]);
  assert.ok(again?.canvas);
  assert.equal(cache.misses, 10, 'the most recent angle is still drawn');
  // Geometry comes without drawing: an entry only asked for its size and key costs no pixels.
  const r2 = Math.PI / 180 * 20;
  const lazy = cache.get(sprite, [Math.cos(r2), Math.sin(r2), -Math.sin(r2), Math.cos(r2), 0, 0]);
  assert.ok(lazy && lazy.width > 100 && lazy.key.length > 0);
  assert.equal(cache.misses, 10);
  assert.equal(lazy.canvas.width, lazy.width);
  assert.equal(cache.misses, 11);
});

test('redrawing only what changed gives the same pictures as drawing every frame whole', async () => {
  const preset = OUTPUT_PRESETS['portrait-720p'];
  const config = channelSchema.parse({ scene: { caption: { text: '限时优惠 ¥199.9 welcome!' } } });
  const scene = await PreparedScene.prepare(config.scene, preset.width, preset.height, '.');
  const definition = loadAvatar(resolveAvatarDir('xiaomei', '.'));
  const raster = await rasterizeAvatar(definition, (preset.height * config.scene.avatarPlacement.heightFraction) / definition.manifest.viewBox[1]);
  const placement = Channel.placementFor(config.scene, preset);
  const incremental = new FrameCompositor(preset.width, preset.height, scene, new AvatarRenderer(raster), placement);
  const idle = new IdleAnimator(11);
  const poses: RigPose[] = [];
  for (let i = 0; i < 40; i++) poses.push({ ...idle.poseAt(i / 30, restPose()) });
  // Big jumps too: a blink, a turn, a lean, a wide mouth.
  poses.push({ ...restPose(), eyeOpenL: 0, eyeOpenR: 0, headRollDeg: 9, headYawDeg: -20, bodyLeanDeg: -7, mouthOpen: 1 });
  poses.push(restPose());
  let damaged = 0;
  for (const [i, pose] of poses.entries()) {
    const timings = { render: 0, convert: 0, damagedPixels: 0 };
    const picture = incremental.compose(pose, timings);
    damaged += timings.damagedPixels;
    if (i % 6 !== 0 && i < poses.length - 2) {
      picture.release();
      continue;
    }
    const whole = new FrameCompositor(preset.width, preset.height, scene, new AvatarRenderer(raster), placement);
    const reference = whole.compose(pose);
    let worst = 0;
    for (let j = 0; j < picture.data.length; j++) worst = Math.max(worst, Math.abs((picture.data[j] as number) - (reference.data[j] as number)));
    assert.ok(worst <= 2, `frame ${i}: incremental picture differs from a whole redraw by ${worst}`);
    picture.release();
    reference.release();
    whole.close();
  }
  assert.ok(damaged < poses.length * preset.width * preset.height * 0.6, 'most of the frame is not redrawn');
  incremental.close();
});

test('frames blended in I420 match drawing the same scene in Skia and converting it', async () => {
  const preset = OUTPUT_PRESETS['portrait-720p'];
  const config = channelSchema.parse({ scene: { caption: { text: '新品上市 限时优惠' }, productCard: { name: '保温杯', price: '¥59.9' } } });
  const scene = await PreparedScene.prepare(config.scene, preset.width, preset.height, '.');
  const definition = loadAvatar(resolveAvatarDir('xiaomei', '.'));
  const raster = await rasterizeAvatar(definition, (preset.height * config.scene.avatarPlacement.heightFraction) / definition.manifest.viewBox[1]);
  const placement = Channel.placementFor(config.scene, preset);
  const renderer = new AvatarRenderer(raster);
  const compositor = new FrameCompositor(preset.width, preset.height, scene, renderer, placement);
  const layout = new I420Layout(preset.width, preset.height);
  const poses = [new IdleAnimator(5).poseAt(3, restPose()), { ...restPose(), headRollDeg: 7, headYawDeg: -20, bodyLeanDeg: 3, mouthOpen: 0.8, eyeOpenL: 0.1 }];
  for (const pose of poses) {
    const picture = compositor.compose(pose);
    // The reference: everything drawn by Skia in RGBA, then converted once.
    const ctx = createCanvas(preset.width, preset.height).getContext('2d');
    ctx.drawImage(scene.backplate, 0, 0);
    AvatarRenderer.drawItems(ctx, renderer.frame(pose, placement));
    for (const overlay of scene.overlays) ctx.drawImage(overlay.canvas, overlay.x, overlay.y);
    const reference = Buffer.alloc(layout.byteLength);
    rgbaToI420(ctx.getImageData(0, 0, preset.width, preset.height).data, preset.width, 0, 0, reference, layout, { x: 0, y: 0, width: preset.width, height: preset.height });
    const compare = (from: number, to: number) => {
      let worst = 0, sum = 0;
      for (let i = from; i < to; i++) {
        const d = Math.abs((picture.data[i] as number) - (reference[i] as number));
        worst = Math.max(worst, d);
        sum += d;
      }
      return { worst, mean: sum / (to - from) };
    };
    const luma = compare(0, layout.uOffset), chroma = compare(layout.uOffset, layout.byteLength);
    // Rounding in the blend; at anti-aliased edges chroma is an alpha-weighted 2x2 mean.
    assert.ok(luma.worst <= 3 && luma.mean < 0.2, `luma differs by up to ${luma.worst} (mean ${luma.mean.toFixed(3)})`);
    assert.ok(chroma.worst <= 6 && chroma.mean < 0.2, `chroma differs by up to ${chroma.worst} (mean ${chroma.mean.toFixed(3)})`);
    picture.release();
  }
  compositor.close();
});

test('live: a big layer at a new rotation is made off the tick; its newest sprite stands in, then the frame is the exact one', async () => {
  const preset = OUTPUT_PRESETS['portrait-720p'];
  const config = channelSchema.parse({});
  const scene = await PreparedScene.prepare(config.scene, preset.width, preset.height, '.');
  const definition = loadAvatar(resolveAvatarDir('xiaomei', '.'));
  const raster = await rasterizeAvatar(definition, (preset.height * config.scene.avatarPlacement.heightFraction) / definition.manifest.viewBox[1]);
  const placement = Channel.placementFor(config.scene, preset);
  const live = new FrameCompositor(preset.width, preset.height, scene, new AvatarRenderer(raster), placement, { offTickSprites: true });
  const exact = new FrameCompositor(preset.width, preset.height, scene, new AvatarRenderer(raster), placement);
  const differs = (a: Uint8Array, b: Uint8Array) => {
    let n = 0;
    for (let i = 0; i < a.length; i++) if (Math.abs((a[i] as number) - (b[i] as number)) > 2) n++;
    return n;
  };
  try {
    // The first frame of each layer is drawn on the tick: there is nothing to stand in for it yet.
    const first = { ...restPose(), headRollDeg: 1 };
    live.compose(first).release();
    const turned = { ...restPose(), headRollDeg: 4, bodyLeanDeg: 2 };
    const timings = { render: 0, convert: 0, damagedPixels: 0 };
    const meanwhile = live.compose(turned, timings);
    exact.compose(first).release();
    const exactTimings = { render: 0, convert: 0, damagedPixels: 0 };
    const reference = exact.compose(turned, exactTimings);
    // Drawn at once from the stand-ins (the head still at 1°): the big layers were not made on the tick, so
    // this frame is not yet the exact one (only the face's small parts were converted: their milliseconds
    // depend on the machine's load and are printed, not judged).
    const early = differs(meanwhile.data, reference.data);
    console.log(`# on the tick: ${timings.convert.toFixed(1)} ms converting (${exactTimings.convert.toFixed(1)} ms making every sprite there); ${early} samples not yet the exact frame`);
    assert.ok(early > 1000, `the stand-in frame already matched the new pose (${early} samples differ)`);
    meanwhile.release();
    const made = await waitForWorker(() => live.spriteWorkerMs > 0 && differs(live.compose(turned).data, reference.data) === 0);
    assert.ok(made, 'the worker-made sprites never arrived');
    reference.release();
  } finally {
    live.close();
    exact.close();
  }
});

async function waitForWorker(done: () => boolean): Promise<boolean> {
  for (let i = 0; i < 100; i++) {
    if (done()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

test('renders share drawn avatars and sprites: a second compositor with the same cache converts nothing for poses seen before and draws the same pictures', async () => {
  const preset = OUTPUT_PRESETS['portrait-720p'];
  const config = channelSchema.parse({ avatar: { seed: 1 } });
  const scene = await PreparedScene.prepare(config.scene, preset.width, preset.height, '.');
  const drawings = new DrawingCache();
  const media = { ffmpegPath: 'ffmpeg', fps: preset.fps, onError: () => {} };
  const placement = Channel.placementFor(config.scene, preset);
  const idle = new IdleAnimator(1);
  const poses = Array.from({ length: 90 }, (_, i) => ({ ...idle.poseAt(i / 10, restPose()) }));
  const run = async () => {
    const avatar = await loadChannelAvatar(config, scene.config, preset, '.', media, drawings);
    const compositor = new FrameCompositor(preset.width, preset.height, scene, avatar, placement, { drawings });
    let convert = 0;
    const hashes: string[] = [];
    for (const pose of poses) {
      const timings = { render: 0, convert: 0, damagedPixels: 0 };
      const picture = compositor.compose(pose, timings);
      convert += timings.convert;
      hashes.push(createHash('md5').update(picture.data).digest('hex'));
      picture.release();
    }
    compositor.close();
    return { avatar, convert, hashes };
  };
  const first = await run();
  const second = await run();
  assert.equal(second.avatar, first.avatar, 'the avatar is drawn once');
  assert.ok(first.convert > 50 && second.convert < first.convert / 10, `converted ${first.convert.toFixed(0)} ms, then ${second.convert.toFixed(0)} ms`);
  assert.deepEqual(second.hashes, first.hashes);
});

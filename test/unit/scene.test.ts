import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { test } from 'node:test';
import type { Canvas } from '@napi-rs/canvas';
import Database from 'better-sqlite3';
import { OUTPUT_PRESETS } from '../../config/presets.js';
import { channelSchema } from '../../config/schema.js';
import { loadAvatar, resolveAvatarDir } from '../../pipeline/avatar/loader.js';
import { rasterizeAvatar } from '../../pipeline/avatar/raster.js';
import { AvatarRenderer } from '../../pipeline/avatar/renderer.js';
import { restPose } from '../../pipeline/avatar/rig.js';
import { Channel } from '../../pipeline/channel.js';
import { BackgroundVideo } from '../../pipeline/compose/backgroundVideo.js';
import { FrameCompositor } from '../../pipeline/compose/compositor.js';
import { PreparedScene, SCENE_PICTURE_CACHE_BYTES, scenePictureCacheBytes } from '../../pipeline/compose/scene.js';
import { confineDriveUrl, confineSceneFiles, dataFileOf, DRIVE_FILE_REFUSED, SCENE_FILE_REFUSED } from '../../server/dataPaths.js';
import { answerFor } from '../../server/api/errorAnswers.js';
import { Store } from '../../server/store.js';
import { imageIsComplete } from '../../server/uploads.js';

const card = { name: '保温杯 Thermos', price: '¥59.9', tagline: '24 小时保温' };

test('a product card is an overlay sprite; showing and hiding it keeps the backplate and redraws only its area', async () => {
  const preset = OUTPUT_PRESETS['portrait-720p'];
  const hidden = channelSchema.parse({}).scene;
  const shown = channelSchema.parse({ scene: { productCard: card } }).scene;
  const base = await PreparedScene.prepare(hidden, preset.width, preset.height, '.');
  const withCard = await PreparedScene.prepare(shown, preset.width, preset.height, '.', base);
  assert.equal(base.productCard, null);
  const sprite = withCard.productCard;
  assert.ok(sprite, 'the card is drawn');
  assert.equal(withCard.backplate, base.backplate, 'same background: the backplate is kept');
  assert.ok(sprite.x >= 0 && sprite.x + sprite.canvas.width <= preset.width);
  assert.ok(Math.abs(sprite.y + sprite.canvas.height / 2 - (shown.productCard?.y ?? NaN) * preset.height) < 2, 'centred where configured');
  const invisible = await PreparedScene.prepare({ ...shown, productCard: { ...shown.productCard!, visible: false } }, preset.width, preset.height, '.', withCard);
  assert.equal(invisible.productCard, null, 'visible: false hides it');

  const definition = loadAvatar(resolveAvatarDir('xiaomei', '.'));
  const raster = await rasterizeAvatar(definition, (preset.height * hidden.avatarPlacement.heightFraction) / definition.manifest.viewBox[1]);
  const compositor = new FrameCompositor(preset.width, preset.height, base, new AvatarRenderer(raster), Channel.placementFor(hidden, preset));
  const still = restPose();
  compositor.compose(still).release();
  compositor.setScene(withCard);
  const timings = { render: 0, convert: 0, damagedPixels: 0 };
  const picture = compositor.compose(still, timings);
  assert.ok(timings.damagedPixels > 0 && timings.damagedPixels < preset.width * preset.height * 0.2, `only the card's area is redrawn (${timings.damagedPixels} px)`);
  // The card's white panel is in the picture (luma plane) where the sprite says.
  const { width } = compositor.layout;
  const y = sprite.y + Math.round(sprite.canvas.height * 0.15), x = sprite.x + Math.round(sprite.canvas.width * 0.9);
  assert.ok((picture.data[y * width + x] as number) > 200, 'card panel is light');
  picture.release();
  compositor.close();
});

test('a background video is decoded by ffmpeg at the channel size and handed out one frame per tick', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'fenshen-bgvideo-'));
  const clip = join(dir, 'clip.mp4');
  // Red for half a second, then blue: the frames must show both, in order.
  const made = spawnSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'color=red:s=64x48:r=10:d=0.5', '-f', 'lavfi', '-i', 'color=blue:s=64x48:r=10:d=0.5', '-filter_complex', '[0][1]concat=n=2:v=1', '-pix_fmt', 'yuv420p', clip], { encoding: 'utf8' });
  assert.equal(made.status, 0, made.stderr);
  const errors: string[] = [];
  const video = new BackgroundVideo({ ffmpegPath: 'ffmpeg', path: clip, width: 32, height: 24, fps: 10, fit: 'cover', onError: (m) => errors.push(m) });
  video.start();
  const colours: string[] = [];
  const deadline = Date.now() + 10_000;
  while (colours.length < 14 && Date.now() < deadline) {
    const frame = video.next();
    if (frame) {
      assert.equal(frame.length, 32 * 24 * 4);
      colours.push((frame[0] as number) > 200 ? 'red' : (frame[2] as number) > 200 ? 'blue' : 'other');
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  video.close();
  assert.equal(colours.length, 14, 'frames keep coming (the file loops)');
  assert.deepEqual(colours.slice(0, 6), ['red', 'red', 'red', 'red', 'red', 'blue']);
  assert.equal(colours[10], 'red', `after the end it starts again (${colours.join(' ')})`);
  assert.deepEqual(errors, []);
});

test('uploaded images must be whole: a cut-off PNG, JPEG, WebP or GIF is told apart from a complete one', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fenshen-img-'));
  for (const [ext, mime] of [['png', 'image/png'], ['jpg', 'image/jpeg'], ['webp', 'image/webp'], ['gif', 'image/gif']] as const) {
    const file = join(dir, `t.${ext}`);
    const made = spawnSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc=s=200x200', '-frames:v', '1', file], { encoding: 'utf8' });
    assert.equal(made.status, 0, made.stderr);
    const data = readFileSync(file);
    assert.equal(imageIsComplete(data, mime), true, `${ext} complete`);
    assert.equal(imageIsComplete(data.subarray(0, Math.floor(data.length * 0.6)), mime), false, `${ext} cut off`);
  }
});

test('stored scenes that hold the old default framing take the new one; a placement someone chose is kept', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fenshen-store4-'));
  const store = Store.open(dir);
  const old = { x: 0.5, heightFraction: 0.56, bottom: -0.01 };
  const chosen = { x: 0.3, heightFraction: 0.9, bottom: 0 };
  const card = (y: number) => ({ visible: true, name: '保温杯', price: '', tagline: '', side: 'left', y, accentColor: '#ff2d55' });
  store.close();
  // As the previous release wrote them: every parsed field stored, schema version 3.
  const db = new Database(join(dir, 'fenshen.db'));
  db.pragma('user_version = 3');
  const insert = (table: string, id: string, scene: Record<string, unknown>) =>
    db.prepare(`INSERT INTO ${table} (id, ${table === 'scenes' ? 'name, ' : ''}settings, created_at, updated_at) VALUES (?, ${table === 'scenes' ? '?, ' : ''}?, 1, 1)`).run(id, ...(table === 'scenes' ? [id] : []), JSON.stringify({ preset: 'portrait-720p', scene }));
  insert('channels', 'main', { speechCaptions: true, avatarPlacement: old, productCard: card(0.3) });
  insert('channels', 'side', { speechCaptions: true, avatarPlacement: chosen, productCard: card(0.5) });
  insert('scenes', 's-old', { speechCaptions: false, avatarPlacement: old });
  db.prepare("INSERT INTO channels (id, settings, created_at, updated_at) VALUES ('broken', 'not json', 1, 1)").run();
  db.close();
  const again = Store.open(dir);
  const sceneOf = (settings: Record<string, unknown> | undefined) => channelSchema.parse(settings).scene;
  const defaults = channelSchema.parse({}).scene;
  assert.deepEqual(sceneOf(again.channel('main')?.settings).avatarPlacement, defaults.avatarPlacement, 'the old default gives way to the new one');
  assert.equal(sceneOf(again.channel('main')?.settings).productCard?.y, productCardDefaultY(), 'and so does the card at its old default height');
  assert.deepEqual(sceneOf(again.channel('side')?.settings).avatarPlacement, chosen, 'a chosen placement is kept');
  assert.equal(sceneOf(again.channel('side')?.settings).productCard?.y, 0.5);
  assert.deepEqual(sceneOf(again.scene('s-old')?.settings).avatarPlacement, defaults.avatarPlacement, 'saved scenes too');
  assert.equal(sceneOf(again.scene('s-old')?.settings).speechCaptions, false, 'the rest of a scene is untouched');
  assert.equal(again.channel('broken'), null, 'an unreadable row does not stop the upgrade');
  again.close();
});

/** The card's default height, as the schema fills it in. */
function productCardDefaultY(): number {
  return channelSchema.parse({ scene: { productCard: { name: 'x' } } }).scene.productCard?.y ?? NaN;
}

test('the store upgrades a schema-1 database in place and keeps channels, playlists, uploads and saved scenes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fenshen-store2-'));
  // A database as the first release left it: destinations only, user_version 1.
  const old = new Database(join(dir, 'fenshen.db'));
  old.exec(`CREATE TABLE destinations (channel TEXT NOT NULL, id TEXT NOT NULL, url TEXT NOT NULL, preset TEXT, enabled INTEGER NOT NULL DEFAULT 1, created_at INTEGER NOT NULL, PRIMARY KEY (channel, id)) STRICT`);
  old.prepare('INSERT INTO destinations VALUES (?, ?, ?, ?, ?, ?)').run('main', 'douyin', 'rtmp://a/b/c', null, 1, 1);
  old.pragma('user_version = 1');
  old.close();
  const store = Store.open(dir);
  assert.deepEqual(store.destinations('main').map((d) => d.id), ['douyin'], 'old rows kept');
  store.saveChannel('main', { preset: 'portrait-720p', scene: { speechCaptions: false } });
  store.saveChannel('main', { preset: 'portrait-720p', scene: { speechCaptions: true } });
  store.savePlaylist('main', { lines: [{ text: '你好', pauseMs: 500 }], loop: true });
  store.addUpload({ id: 'u-1', name: 'a.png', kind: 'image', mime: 'image/png', bytes: 10, file: 'uploads/u-1.png', createdAt: 5 });
  store.close();
  const again = Store.open(dir);
  assert.deepEqual(again.channels(), [{ id: 'main', settings: { preset: 'portrait-720p', scene: { speechCaptions: true } } }]);
  assert.deepEqual(again.playlist('main'), { lines: [{ text: '你好', pauseMs: 500 }], loop: true });
  assert.deepEqual(again.uploads().map((u) => u.file), ['uploads/u-1.png']);
  const first = again.saveScene('s-1', '开场', { scene: { speechCaptions: true } });
  const same = again.saveScene('s-2', '开场', { scene: { speechCaptions: false } });
  assert.equal(same, first, 'saving under a taken name replaces that scene');
  assert.deepEqual(again.scenes().map((x) => [x.id, x.name, x.settings]), [['s-1', '开场', { scene: { speechCaptions: false } }]]);
  assert.equal(again.removeScene('s-1'), true);
  assert.equal(again.removeScene('s-1'), false);
  again.removeChannel('main');
  assert.deepEqual([again.channels(), again.playlist('main'), again.destinations('main')], [[], null, []]);
  assert.deepEqual(again.uploads().length, 1, 'uploads belong to no channel');
  again.close();
});

/** Makes a picture with ffmpeg's lavfi (`graph` ends in one video), as a PNG. */
function makePicture(file: string, graph: string): string {
  const made = spawnSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', graph, '-frames:v', '1', file], { encoding: 'utf8' });
  assert.equal(made.status, 0, made.stderr);
  return file;
}

/** The RGBA of one pixel of a canvas. */
function pixelAt(canvas: Canvas, x: number, y: number): number[] {
  return [...canvas.getContext('2d').getImageData(x, y, 1, 1).data];
}

const isRed = (p: number[]) => (p[0] as number) > 200 && (p[1] as number) < 60 && (p[2] as number) < 60;
const isBlue = (p: number[]) => (p[2] as number) > 200 && (p[0] as number) < 60 && (p[1] as number) < 60;
const isBlack = (p: number[]) => (p[0] as number) < 20 && (p[1] as number) < 20 && (p[2] as number) < 20;

test('scene pictures are decoded at the size they are drawn: background cover and contain, logo, product picture', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'fenshen-pictures-'));
  // 4000x2000: the left half red, the right half blue.
  const halves = makePicture(join(dir, 'halves.png'), 'color=red:s=2000x2000[a];color=blue:s=2000x2000[b];[a][b]hstack');
  const { width, height } = OUTPUT_PRESETS['portrait-720p'];
  const before = scenePictureCacheBytes();
  const cover = await PreparedScene.prepare(channelSchema.parse({ scene: { background: { type: 'image', path: halves, fit: 'cover' } } }).scene, width, height, dir);
  // Cover: the middle 720 px of a 2560x1280 scaling, so the colours meet in the middle of the frame.
  assert.ok(isRed(pixelAt(cover.backplate, 340, 640)) && isBlue(pixelAt(cover.backplate, 380, 640)), 'cover crops the middle');
  assert.ok(isRed(pixelAt(cover.backplate, 340, 5)) && isRed(pixelAt(cover.backplate, 340, 1275)), 'and fills top to bottom');
  const contain = await PreparedScene.prepare(channelSchema.parse({ scene: { background: { type: 'image', path: 'halves.png', fit: 'contain' } } }).scene, width, height, dir);
  // Contain: 720x360 in the middle (rows 460-820), black above and below.
  assert.ok(isBlack(pixelAt(contain.backplate, 100, 400)) && isBlack(pixelAt(contain.backplate, 100, 880)), 'letterboxed');
  assert.ok(isRed(pixelAt(contain.backplate, 100, 640)) && isBlue(pixelAt(contain.backplate, 620, 640)), 'the whole picture shows');
  // A half-transparent background is seen over black, as the frame has nothing under the backplate (its
  // pixels are put in as they are, and the compositor reads colour without alpha).
  const clear = makePicture(join(dir, 'clear.png'), 'color=red@0.5:s=90x160,format=rgba');
  const transparent = await PreparedScene.prepare(channelSchema.parse({ scene: { background: { type: 'image', path: clear } } }).scene, width, height, dir);
  const [r, g, b, a] = pixelAt(transparent.backplate, 360, 640) as [number, number, number, number];
  assert.ok(r > 100 && r < 160 && g < 20 && b < 20 && a === 255, `half-transparent red over black is dark red (${[r, g, b, a].join(',')})`);
  const added = scenePictureCacheBytes() - before - width * height * 4;
  assert.equal(added, (width * height + width * 360) * 4, `kept at frame size, not 4000x2000 (${added} bytes)`);

  const beforeLogo = scenePictureCacheBytes();
  const withLogo = await PreparedScene.prepare(
    channelSchema.parse({ scene: { background: { type: 'color', color: '#00ff00' }, logo: { path: halves, corner: 'top-right', widthFraction: 0.2 }, productCard: { ...card, image: halves } } }).scene,
    width, height, dir,
  );
  // The logo: 144x72 at the top right, 29 px in (4% of 720).
  const margin = Math.round(720 * 0.04);
  assert.ok(isRed(pixelAt(withLogo.backplate, width - margin - 144 + 10, margin + 36)), 'logo red half');
  assert.ok(isBlue(pixelAt(withLogo.backplate, width - margin - 10, margin + 36)), 'logo blue half');
  assert.ok(!isRed(pixelAt(withLogo.backplate, width - margin - 144 - 4, margin + 36)), 'logo no wider than 20% of the frame');
  assert.equal(scenePictureCacheBytes() - beforeLogo, (144 * 72 + 132 * 132) * 4, 'logo and product picture kept at their drawn sizes');
  const sprite = withLogo.productCard;
  assert.ok(sprite);
  // The product picture is the middle square of the halves, so both colours show in the card.
  const row = Math.round(sprite.canvas.height / 2);
  const pad = 16;
  assert.ok(isRed(pixelAt(sprite.canvas, pad + 30, row)) && isBlue(pixelAt(sprite.canvas, pad + 132 - 30, row)), 'product picture cropped square from the middle');
});

test('the scene picture cache is bounded by bytes, and a huge picture is decoded off the tick', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'fenshen-picture-cache-'));
  const small = makePicture(join(dir, 'small.png'), 'testsrc2=s=64x64');
  const { width, height } = OUTPUT_PRESETS['portrait-1080p'];
  // Twelve 1080x1920 backgrounds (8.3 MB each decoded): more than the budget holds.
  for (let i = 0; i < 12; i++) {
    const file = join(dir, `bg-${i}.png`);
    copyFileSync(small, file);
    await PreparedScene.prepare(channelSchema.parse({ scene: { background: { type: 'image', path: file } } }).scene, width, height, dir);
    assert.ok(scenePictureCacheBytes() <= SCENE_PICTURE_CACHE_BYTES, `${scenePictureCacheBytes()} bytes kept after ${i + 1}`);
  }
  assert.ok(scenePictureCacheBytes() > SCENE_PICTURE_CACHE_BYTES - 2 * width * height * 4, 'the budget is used, not left empty');

  // An 8000x8000 picture (256 MB decoded) is decoded and scaled by a child process: this process spends
  // only the copy of the scaled pixels and the backplate's drawing, so the tick cannot be held longer than
  // that. Decoding it here cost ~1.5 s of CPU and drawing it scaled held the loop ~540 ms; now ~90 ms of CPU
  // in all. CPU time, not the event loop's longest gap, because on a box loaded by other tests the gaps are
  // mostly other processes' turns (25-80 ms with nothing running here).
  const huge = makePicture(join(dir, 'huge.png'), 'testsrc2=s=8000x8000');
  let longestGapMs = 0;
  let last = performance.now();
  const beat = setInterval(() => {
    const now = performance.now();
    longestGapMs = Math.max(longestGapMs, now - last);
    last = now;
  }, 5);
  const cpuBefore = process.cpuUsage();
  try {
    const scene = await PreparedScene.prepare(channelSchema.parse({ scene: { background: { type: 'image', path: huge } } }).scene, 720, 1280, dir);
    assert.equal(scene.backplate.width, 720);
  } finally {
    clearInterval(beat);
  }
  const cpu = process.cpuUsage(cpuBefore);
  const cpuMs = (cpu.user + cpu.system) / 1000;
  console.log(`# an 8000x8000 background prepared with ${cpuMs.toFixed(0)} ms of this process's CPU; the event loop's longest gap ${longestGapMs.toFixed(0)} ms`);
  assert.ok(cpuMs < 400, `${cpuMs.toFixed(0)} ms of CPU in the server's process for one 8000x8000 background`);
});

test('a background video that cannot be played is refused before it is shown: text, truncated, audio only', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'fenshen-bad-video-'));
  const clip = join(dir, 'clip.mp4');
  const made = spawnSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=s=160x90:r=10:d=2', '-pix_fmt', 'yuv420p', clip], { encoding: 'utf8' });
  assert.equal(made.status, 0, made.stderr);
  const bytes = readFileSync(clip);
  writeFileSync(join(dir, 'cut.mp4'), bytes.subarray(0, Math.floor(bytes.length / 2)));
  writeFileSync(join(dir, 'notes.mp4'), 'not a video at all\n'.repeat(100));
  const audio = spawnSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'sine=d=2', join(dir, 'sound.m4a')], { encoding: 'utf8' });
  assert.equal(audio.status, 0, audio.stderr);
  const errors: string[] = [];
  const media = { ffmpegPath: 'ffmpeg', fps: 30, onError: (m: string) => errors.push(m) };
  const { width, height } = OUTPUT_PRESETS['portrait-720p'];
  const sceneWith = (path: string) => channelSchema.parse({ scene: { background: { type: 'video', path } } }).scene;
  for (const file of ['cut.mp4', 'notes.mp4', 'sound.m4a', 'missing.mp4']) {
    await assert.rejects(PreparedScene.prepare(sceneWith(file), width, height, dir, undefined, media), (err: Error) => {
      assert.equal(err.name, 'SceneError');
      assert.match(err.message, new RegExp(`^background video ${file} cannot be played: it is not a video \\(no picture stream ffmpeg can decode\\)$`));
      return true;
    }, file);
  }
  const good = await PreparedScene.prepare(sceneWith('clip.mp4'), width, height, dir, undefined, media);
  assert.deepEqual(good.videoSource, { path: join(dir, 'clip.mp4'), fit: 'cover' }, 'a real clip is accepted, to be played by whoever shows the scene');
  assert.deepEqual(errors, []);
});

test('paths from the API stay inside the data folder: escapes, outside files, links out, folders and missing files all get one answer', async () => {
  const data = mkdtempSync(join(tmpdir(), 'fenshen-confine-'));
  const outside = mkdtempSync(join(tmpdir(), 'fenshen-outside-'));
  mkdirSync(join(data, 'uploads'));
  const picture = makePicture(join(data, 'uploads', 'u-1.png'), 'testsrc2=s=64x64');
  const secret = makePicture(join(outside, 'secret.png'), 'testsrc2=s=64x64');
  symlinkSync(secret, join(data, 'uploads', 'link-out.png'));
  symlinkSync(picture, join(data, 'inner-link.png'));
  assert.equal(await dataFileOf('uploads/u-1.png', data), join('uploads', 'u-1.png'));
  assert.equal(await dataFileOf(picture, data), join('uploads', 'u-1.png'), 'absolute inside: made relative');
  assert.equal(await dataFileOf('uploads/../uploads/u-1.png', data), join('uploads', 'u-1.png'));
  assert.equal(await dataFileOf('inner-link.png', data), join('uploads', 'u-1.png'), 'a link inside to inside is followed');
  for (const path of [secret, `../${basename(outside)}/secret.png`, 'uploads/link-out.png', '/etc/passwd', '/etc', 'uploads', '/no/such.png', 'uploads/none.png', 'a\0b', '']) {
    assert.equal(await dataFileOf(path, data), null, JSON.stringify(path));
  }
  // The API's answers: the same 422 and words whatever the reason.
  const refusals = new Set<string>();
  for (const path of [secret, '/etc/passwd', '/etc', '/no/such.png', 'uploads/link-out.png', '../../../../etc/hostname']) {
    for (const scene of [{ background: { type: 'image', path } }, { logo: { path } }, { productCard: { name: 'x', image: path } }]) {
      await assert.rejects(confineSceneFiles(scene, data), (err: Error) => {
        assert.equal(answerFor(err).status, 422);
        refusals.add(err.message);
        return true;
      });
    }
    await assert.rejects(confineDriveUrl(path, data), (err: Error) => {
      assert.equal(answerFor(err).status, 422);
      refusals.add(err.message);
      return true;
    });
  }
  assert.deepEqual([...refusals].sort(), [DRIVE_FILE_REFUSED, SCENE_FILE_REFUSED].sort());
  const confined = await confineSceneFiles({ background: { type: 'image', path: picture }, logo: null, productCard: { name: 'x' }, caption: { text: 'hi' } }, data);
  assert.deepEqual(confined, { background: { type: 'image', path: join('uploads', 'u-1.png') }, logo: null, productCard: { name: 'x' }, caption: { text: 'hi' } });
  assert.equal(await confineDriveUrl('rtmp://example.com/live/x', data), 'rtmp://example.com/live/x', 'URLs pass');
  assert.equal(await confineDriveUrl('uploads/u-1.png', data), join(realpathSync(data), 'uploads', 'u-1.png'));
});

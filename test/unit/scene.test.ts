import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
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
import { PreparedScene } from '../../pipeline/compose/scene.js';
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

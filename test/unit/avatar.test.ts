import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { createCanvas } from '@napi-rs/canvas';
import { AvatarError, listBuiltinAvatars, loadAvatar, resolveAvatarDir } from '../../pipeline/avatar/loader.js';
import { rasterizeAvatar } from '../../pipeline/avatar/raster.js';
import { AvatarRenderer } from '../../pipeline/avatar/renderer.js';
import { restPose } from '../../pipeline/avatar/rig.js';
import { OUTPUT_PRESETS } from '../../config/presets.js';
import { channelSchema } from '../../config/schema.js';
import { Channel } from '../../pipeline/channel.js';
import { drawProductCard } from '../../pipeline/compose/productCard.js';

test('at least two built-in avatars load and draw', async () => {
  const ids = listBuiltinAvatars();
  assert.ok(ids.length >= 2, ids.join());
  for (const id of ids) {
    const avatar = await rasterizeAvatar(loadAvatar(resolveAvatarDir(id, '.')), 1.5);
    const canvas = createCanvas(420, 420);
    new AvatarRenderer(avatar).draw(canvas.getContext('2d'), restPose(), { x: 210, y: 420 });
    const pixels = canvas.data();
    let opaque = 0;
    for (let i = 3; i < pixels.length; i += 4) if (pixels[i] === 255) opaque++;
    assert.ok(opaque > 420 * 420 * 0.25, `${id} covers a good part of its box (${opaque})`);
  }
});

function drawToBuffer(avatar: Awaited<ReturnType<typeof rasterizeAvatar>>, edit: (pose: ReturnType<typeof restPose>) => void): Buffer {
  const canvas = createCanvas(420, 420);
  const pose = restPose();
  edit(pose);
  new AvatarRenderer(avatar).draw(canvas.getContext('2d'), pose, { x: 210, y: 420 });
  return canvas.data();
}

test('rig parameters change the picture: eyes, mouth, head', async () => {
  const avatar = await rasterizeAvatar(loadAvatar(resolveAvatarDir('xiaomei', '.')), 1.5);
  const rest = drawToBuffer(avatar, () => {});
  for (const [name, edit] of [
    ['eyes shut', (p: ReturnType<typeof restPose>) => { p.eyeOpenL = 0; p.eyeOpenR = 0; }],
    ['mouth open', (p: ReturnType<typeof restPose>) => { p.mouthOpen = 1; }],
    ['head roll', (p: ReturnType<typeof restPose>) => { p.headRollDeg = 10; }],
    ['brows up', (p: ReturnType<typeof restPose>) => { p.browRaise = 1; }],
  ] as const) {
    assert.ok(!drawToBuffer(avatar, edit).equals(rest), name);
  }
});

test('style mixing recolours and swaps parts; bad choices are named', async () => {
  const dir = resolveAvatarDir('xiaomei', '.');
  const restyled = loadAvatar(dir, { palette: { hair: '#aa3366' }, slots: { hair: 'bob', accessories: 'round' } });
  assert.equal(restyled.slots.hair, 'bob');
  assert.ok(restyled.layers.some((l) => l.svg.includes('#aa3366')));
  assert.ok(restyled.layers.some((l) => l.spec.id === 'accessories'));
  assert.ok(!loadAvatar(dir).layers.some((l) => l.spec.id === 'accessories'), 'accessories default to none');
  assert.throws(() => loadAvatar(dir, { slots: { hair: 'mohawk' } }), /not a hair option/);
  assert.throws(() => loadAvatar(dir, { slots: { wings: 'big' } }), /no part slot "wings"/);
  assert.throws(() => loadAvatar(dir, { palette: { glow: '#ffffff' } }), /no colour "glow"/);
});

test('a broken avatar folder gives an AvatarError, not a crash', async () => {
  const src = resolveAvatarDir('ajie', '.');
  const broken = mkdtempSync(join(tmpdir(), 'fenshen-avatar-'));
  cpSync(src, broken, { recursive: true });
  writeFileSync(join(broken, 'avatar.json'), '{"format": "fenshen-avatar/1"');
  assert.throws(() => loadAvatar(broken), (e: Error) => e instanceof AvatarError && /unreadable/.test(e.message));

  const manifest = JSON.parse(readFileSync(join(src, 'avatar.json'), 'utf8'));
  manifest.layers[0].src = '../../etc/passwd';
  writeFileSync(join(broken, 'avatar.json'), JSON.stringify(manifest));
  assert.throws(() => loadAvatar(broken), /layers\.0\.src/);

  manifest.layers[0].src = 'parts/missing.svg';
  writeFileSync(join(broken, 'avatar.json'), JSON.stringify(manifest));
  assert.throws(() => loadAvatar(broken), /part missing: parts\/missing.svg/);

  manifest.layers[0].src = 'parts/body.svg';
  writeFileSync(join(broken, 'avatar.json'), JSON.stringify(manifest));
  writeFileSync(join(broken, 'parts/body.svg'), '<g><path d="M0 0 L10 10" fill="{{skin}}"</g>');
  await assert.rejects(rasterizeAvatar(loadAvatar(broken), 1), (e: Error) => e instanceof AvatarError);

  assert.throws(() => resolveAvatarDir('nobody', '.'), /not found/);
});

test('the default framing is a host on camera: head top in the upper third, bust to the bottom edge, the card clear of the face', async () => {
  const sizes = new Map(Object.entries(OUTPUT_PRESETS).map(([name, p]) => [`${p.width}x${p.height}`, name as keyof typeof OUTPUT_PRESETS]));
  for (const id of listBuiltinAvatars()) {
    for (const presetName of sizes.values()) {
      const preset = OUTPUT_PRESETS[presetName];
      const { scene } = channelSchema.parse({ preset: presetName, avatar: { id }, scene: { productCard: { name: '保温杯 Thermos 大容量不锈钢双层真空 一杯用一天', price: '到手价 ¥59.9', tagline: '24 小时保温 买一送一 限时包邮 今天下单明天到' } } });
      const definition = loadAvatar(resolveAvatarDir(id, '.'));
      // As the channel sizes and places it (pipeline/channel.ts, #loadAvatar and placementFor).
      const raster = await rasterizeAvatar(definition, (preset.height * scene.avatarPlacement.heightFraction) / definition.manifest.viewBox[1]);
      const items = new AvatarRenderer(raster).frame(restPose(), Channel.placementFor(scene, preset));
      const what = `${id} at ${preset.width}x${preset.height}`;
      const headLayers = new Set(raster.layers.filter((l) => l.spec.bone === 'head').map((l) => l.spec.id));
      const head = items.filter((i) => headLayers.has(i.layer));
      const headTop = Math.min(...head.map((i) => i.bounds[1]));
      const bottom = Math.max(...items.map((i) => i.bounds[3]));
      assert.ok(headTop > preset.height * 0.1 && headTop < preset.height / 3, `${what}: the head's top at ${(headTop / preset.height).toFixed(3)} of the height, in the upper third with headroom`);
      assert.ok(bottom >= preset.height, `${what}: the bust reaches the bottom edge (${bottom} of ${preset.height})`);
      const face = items.filter((i) => i.layer === 'head');
      assert.ok(face.length === 1 && (face[0]?.bounds[0] ?? -1) >= 0 && (face[0]?.bounds[2] ?? Infinity) <= preset.width, `${what}: the face is inside the frame`);
      // The product card in its default place (a long name and tagline: two lines each) covers none of the face.
      const card = drawProductCard(scene.productCard as NonNullable<typeof scene.productCard>, null, preset.width, preset.height);
      const [cx0, cy0, cx1, cy1] = [card.x, card.y, card.x + card.canvas.width, card.y + card.canvas.height];
      for (const { layer, bounds: [x0, y0, x1, y1] } of head.filter((i) => i.layer !== 'hair')) {
        assert.ok(cx1 <= x0 || x1 <= cx0 || cy1 <= y0 || y1 <= cy0, `${what}: the card (${cx0},${cy0})-(${cx1},${cy1}) covers ${layer} (${x0},${y0})-(${x1},${y1})`);
      }
    }
  }
});

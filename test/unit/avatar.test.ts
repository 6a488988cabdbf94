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

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'node:http';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { grabRtmpFrame, launchChromium, meanDifference, previewRegion, regionDifference, signIn } from './consoleHelpers.js';
import Database from 'better-sqlite3';
import { startFenshen, waitFor, type FenshenProcess } from './helpers.js';

let fenshen: FenshenProcess;
let browser: Browser;
let page: Page;

before(async () => {
  // Uploads limited to 100 MB videos here (2 GB by default), so a too-big file is quick to send and refuse.
  const configFile = join(mkdtempSync(join(tmpdir(), 'fenshen-console-')), 'config.json');
  writeFileSync(configFile, JSON.stringify({ uploads: { videoMB: 100 } }));
  fenshen = await startFenshen({ FENSHEN_CONFIG: configFile });
  await fenshen.live();
  browser = await launchChromium();
  // The console's CSP forbids eval; the test's page functions are strings, so the test bypasses it.
  page = await browser.newPage({ viewport: { width: 1440, height: 900 }, bypassCSP: true });
});
after(async () => {
  await browser?.close();
  await fenshen.stop();
});

test('sign-in: the page holds no secret, a wrong token is refused with a clear message, the right one opens the console', async () => {
  const html = await (await fetch(`${fenshen.url}/`)).text();
  assert.ok(!html.includes(fenshen.token), 'the token is not in the page source');
  await page.goto(`${fenshen.url}/`);
  await page.waitForSelector('#signin[open]');
  assert.equal(await page.getAttribute('html', 'lang'), 'zh-CN', 'Chinese by default');
  await page.fill('#token', 'not-the-token-000');
  await page.click('#signin-go');
  await page.waitForFunction("document.getElementById('signin-msg').textContent.length > 0");
  assert.match((await page.textContent('#signin-msg')) ?? '', /令牌不正确/);
  assert.equal(await page.isHidden('#console'), true);
  await signIn(page, fenshen.url, fenshen.token);
  assert.ok(!(await page.content()).includes(fenshen.token), 'nor is it rendered into the page after sign-in');
  await page.waitForSelector('#preview-state[data-state="live"]', { timeout: 20_000 });
  type Stats = { fps: number | null; latencyMs: number | null; avOffsetMs: number | null };
  let stats: Stats = { fps: null, latencyMs: null, avOffsetMs: null };
  await waitFor('the preview measuring frames, delay and A/V', async () => {
    stats = (await page.evaluate('window.fenshenConsole.previewStats()')) as Stats;
    return (stats.fps ?? 0) > 10 && stats.latencyMs !== null && stats.avOffsetMs !== null ? true : undefined;
  }, 20_000).catch((err: Error) => assert.fail(`${err.message}: ${JSON.stringify(stats)}`));
  assert.equal(await page.textContent('#stat-fps'), (stats.fps ?? 0).toFixed(0));
  console.log(`# preview: ${stats.fps} fps, receive delay ${stats.latencyMs} ms, encoder A/V ${stats.avOffsetMs} ms`);
  await page.waitForSelector('#destinations tr[data-id="embedded"] .badge[data-state="live"]', { timeout: 10_000 });
});

test('speak: a typed line is spoken now, the console shows the speaking state and the caption appears in the preview', async () => {
  const captionArea = { x: 0.1, y: 0.8, width: 0.8, height: 0.08 };
  const before = await previewRegion(page, captionArea);
  await page.fill('#say-text', '大家好，欢迎来到直播间！今天的福利非常多，请大家不要走开。');
  await page.click('#say-now');
  await page.waitForSelector('#speaking[data-state="speaking"]', { timeout: 10_000 });
  assert.match((await page.textContent('#speaking-text')) ?? '', /大家好|今天的福利/, 'one of its sentences is shown');
  // The caption is in the picture that came back through encoder, SFU and the browser's decoder.
  const changed = await waitFor('the caption in the preview', async () => {
    const now = await previewRegion(page, captionArea);
    const d = meanDifference(before, now);
    return d > 12 ? d : undefined;
  }, 15_000);
  assert.ok(changed > 12);
  await page.click('#interrupt');
  await page.waitForSelector('#speaking[data-state="idle"]', { timeout: 10_000 });
});

test('product card: shown from the console it is in the RTMP stream, hidden it is gone (pixels read back with ffmpeg)', async () => {
  const W = 180, H = 320;
  const card = { x: 10, y: 38, width: 90, height: 24 };
  const corner = { x: 130, y: 8, width: 45, height: 40 };
  const rtmp = `${fenshen.rtmpBase}/main`;
  const without = grabRtmpFrame(rtmp, W, H);
  await page.fill('#card-name', '保温杯 Thermos');
  await page.fill('#card-price', '¥59.9');
  await page.fill('#card-tagline', '24 小时保温');
  await page.click('#card-show');
  await page.waitForSelector('#card-state[data-state="on"]');
  const shown = await waitFor('the card in the stream', () => {
    const frame = grabRtmpFrame(rtmp, W, H);
    return regionDifference(without, frame, W, card) > 25 ? frame : undefined;
  }, 20_000);
  assert.ok(regionDifference(without, shown, W, corner) < 6, 'nothing else in the picture changed');
  await page.click('#card-hide');
  await page.waitForSelector('#card-state[data-state="off"]');
  await waitFor('the card gone from the stream', () => (regionDifference(without, grabRtmpFrame(rtmp, W, H), W, card) < 8 ? true : undefined), 20_000);
  // How long a show/hide takes to be applied: the answer comes once the next frame will have it.
  const times: number[] = [];
  for (let i = 0; i < 6; i++) {
    const t0 = performance.now();
    const res = await fenshen.api('/api/channels/main/scene', { method: 'PUT', body: JSON.stringify({ overlays: { productCard: { name: '保温杯', price: '¥59.9', visible: i % 2 === 0 } } }) });
    assert.equal(res.status, 200);
    times.push(performance.now() - t0);
  }
  times.sort((x, y) => x - y);
  console.log(`# product card show/hide applied in ${times[3]?.toFixed(1)} ms (median of 6, max ${times[5]?.toFixed(1)})`);
});

test('avatar placement: the sliders move and size the avatar live, saved with the scene; a value out of range is refused', async () => {
  type Placement = { x: number; heightFraction: number; bottom: number };
  const W = 180, H = 320;
  // Between the eyes and the mouth at the default framing: skin there, background or hair once moved.
  const face = { x: 72, y: 160, width: 36, height: 30 };
  const rtmp = `${fenshen.rtmpBase}/main`;
  const placement = async () => ((await (await fenshen.api('/api/channels/main/scene')).json()) as { scene: { avatarPlacement: Placement } }).scene.avatarPlacement;
  const put = (body: unknown) => fenshen.api('/api/channels/main/scene', { method: 'PUT', body: JSON.stringify(body) });
  const defaults = await placement();
  assert.equal(await page.inputValue('#avatar-size'), String(defaults.heightFraction), 'the sliders show the scene');
  const bad = await put({ avatarPlacement: { x: 2 } });
  assert.equal(bad.status, 400);
  assert.match(((await bad.json()) as { error: string }).error, /avatarPlacement\.x: must be between 0 \(left edge\) and 1/);
  assert.equal((await put({ avatarPlacement: { heightFraction: 0.01 } })).status, 400);
  const before = grabRtmpFrame(rtmp, W, H);
  // Smaller and to the left, from the console.
  await page.fill('#avatar-size', '0.5');
  await page.fill('#avatar-x', '0.3');
  const moved = await waitFor('the sliders\' placement', async () => {
    const p = await placement();
    return p.heightFraction === 0.5 && p.x === 0.3 ? p : undefined;
  }, 10_000);
  assert.equal(moved.bottom, defaults.bottom, 'the slider left alone keeps its value');
  await waitFor('the face gone from its place in the stream', () => (regionDifference(before, grabRtmpFrame(rtmp, W, H), W, face) > 25 ? true : undefined), 20_000);
  // Kept for the next start, and in a saved scene.
  const db = new Database(join(fenshen.dataDir, 'fenshen.db'), { readonly: true });
  const stored = db.prepare<[], { settings: string }>("SELECT settings FROM channels WHERE id = 'main'").get();
  db.close();
  assert.deepEqual((JSON.parse(stored?.settings ?? '{}') as { scene: { avatarPlacement: Placement } }).scene.avatarPlacement, moved);
  const saved = (await (await fenshen.api('/api/channels/main/scenes', { method: 'POST', body: JSON.stringify({ name: '小一点' }) })).json()) as { id: string };
  assert.equal((await put({ avatarPlacement: defaults })).status, 200);
  assert.deepEqual(await placement(), defaults);
  assert.equal((await fenshen.api('/api/channels/main/scene/apply', { method: 'POST', body: JSON.stringify({ scene: saved.id }) })).status, 200);
  assert.deepEqual(await placement(), moved, 'the saved scene brings its placement back');
  await fenshen.api(`/api/scenes/${saved.id}`, { method: 'DELETE' });
  assert.equal((await put({ avatarPlacement: defaults })).status, 200);
});

test('uploads: a picture is accepted and listed; a non-image and a 200 MB file are refused with clear messages', async () => {
  const picture = join(fenshen.dataDir, 'product.png');
  assert.equal(spawnSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc=s=320x320', '-frames:v', '1', picture]).status, 0);
  await page.setInputFiles('#upload-file', picture);
  await page.waitForSelector('#uploads li .name:text("product.png")', { timeout: 10_000 });

  // Named .png but text inside: the browser calls it an image, the server reads the content and refuses.
  const fake = join(fenshen.dataDir, 'fake.png');
  writeFileSync(fake, 'this is not a picture\n'.repeat(20));
  await page.setInputFiles('#upload-file', fake);
  await page.waitForFunction("document.getElementById('upload-msg').classList.contains('err')", undefined, { timeout: 10_000 });
  assert.match((await page.textContent('#upload-msg')) ?? '', /not a picture, video or sound file/);

  const big = join(fenshen.dataDir, 'big.mp4');
  writeFileSync(big, '');
  truncateSync(big, 200 * 1024 * 1024);
  await page.setInputFiles('#upload-file', big);
  await page.waitForFunction("document.getElementById('upload-msg').textContent.includes('200.0 MB')", undefined, { timeout: 10_000 });
  assert.match((await page.textContent('#upload-msg')) ?? '', /文件太大/);

  // The server refuses on its own too (a script, not the console): by the declared length, and by counting.
  const declared = await postUpload(fenshen, 200 * 1024 * 1024, true);
  assert.equal(declared.status, 413);
  assert.match(declared.error, /200\.0 MB; uploads are limited to/);
  const counted = await postUpload(fenshen, 200 * 1024 * 1024, false);
  assert.equal(counted.status, 413);
  assert.match(counted.error, /limited to/);
  const listed = (await (await fenshen.api('/api/uploads')).json()) as { uploads: { name: string }[] };
  assert.deepEqual(listed.uploads.map((u) => u.name), ['product.png'], 'only the picture was kept');
});

/**
 * Sends `bytes` of zeros to the upload route (with or without a Content-Length) and stops sending as soon
 * as the server answers, as a browser does on an early 413.
 */
function postUpload(fenshen: FenshenProcess, bytes: number, declareLength: boolean): Promise<{ status: number; error: string }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { authorization: `Bearer ${fenshen.token}`, 'content-type': 'application/octet-stream' };
    if (declareLength) headers['content-length'] = String(bytes);
    const req = request(`${fenshen.url}/api/uploads?name=big.mp4`, { method: 'POST', headers });
    let answered = false;
    req.on('response', (res) => {
      answered = true;
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, error: (JSON.parse(text) as { error: string }).error });
        req.destroy();
      });
    });
    req.on('error', (err) => (answered ? undefined : reject(err)));
    const chunk = Buffer.alloc(1 << 20);
    let sent = 0;
    const pump = (): void => {
      while (!answered && sent < bytes) {
        sent += chunk.length;
        if (!req.write(chunk)) return void req.once('drain', pump);
      }
      if (!answered) req.end();
    };
    pump();
  });
}

test('a background video uploaded from the console loops behind the avatar in the stream', async () => {
  const clip = join(fenshen.dataDir, 'loop.mp4');
  // The whole picture's colour swings with a 2.9 s period: any two moments of it differ everywhere.
  const swing = "geq=r='128+110*sin(2*PI*T/2.9)':g='128+110*cos(2*PI*T/2.9)':b='128'";
  assert.equal(spawnSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'nullsrc=s=360x640:r=30:d=3', '-vf', swing, '-pix_fmt', 'yuv420p', clip]).status, 0);
  await page.setInputFiles('#upload-file', clip);
  await page.waitForSelector('#uploads li .name:text("loop.mp4")', { timeout: 15_000 });
  await page.selectOption('#bg-type', 'video');
  const file = await page.locator('#bg-upload option', { hasText: 'loop.mp4' }).getAttribute('value');
  assert.ok(file?.startsWith('uploads/'));
  await page.selectOption('#bg-upload', file);
  await page.click('#bg-apply');
  await waitFor('the video background', async () => ((await (await fenshen.api('/api/channels/main/scene')).json()) as { scene: { background: { type: string } } }).scene.background.type === 'video' ? true : undefined, 10_000);
  const W = 180, H = 320;
  const corner = { x: 130, y: 8, width: 45, height: 40 };
  const rtmp = `${fenshen.rtmpBase}/main`;
  // A frame of the video (not the black before its first decoded frame), then a later one that differs:
  // a stream reader starts at a keyframe, so reads a few seconds apart show different moments.
  const mean = (f: Buffer) => regionDifference(f, Buffer.alloc(f.length), W, corner);
  const a = await waitFor('the video in the stream', () => {
    const frame = grabRtmpFrame(rtmp, W, H);
    return mean(frame) > 40 ? frame : undefined;
  }, 20_000);
  let moved = 0;
  await waitFor('the background moving', async () => {
    await new Promise((r) => setTimeout(r, 1000));
    moved = regionDifference(a, grabRtmpFrame(rtmp, W, H), W, corner);
    return moved > 8 ? true : undefined;
  }, 20_000).catch((err: Error) => assert.fail(`${err.message} (difference ${moved.toFixed(1)})`));
  // In use, it cannot be deleted; the channel keeps streaming.
  const id = ((await (await fenshen.api('/api/uploads')).json()) as { uploads: { id: string; file: string }[] }).uploads.find((u) => u.file === file)?.id;
  const refused = await fenshen.api(`/api/uploads/${id}`, { method: 'DELETE' });
  assert.equal(refused.status, 409);
  const status = (await (await fenshen.api('/api/channels/main')).json()) as { state: string; fpsMeasured: number };
  assert.equal(status.state, 'live');
  console.log(`# with a background video: ${status.fpsMeasured} fps`);
});

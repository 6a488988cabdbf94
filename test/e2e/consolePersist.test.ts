import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, signIn } from './consoleHelpers.js';
import { freePort, spawnRtmpServer, startFenshen, waitFor, type FenshenProcess } from './helpers.js';

let fenshen: FenshenProcess;
let browser: Browser;
let page: Page;
let second: ChildProcess | null = null;
let secondPort = 0;
/** Where README screenshots go when asked for (FENSHEN_SCREENSHOTS=folder). */
const shots = process.env.FENSHEN_SCREENSHOTS;

before(async () => {
  fenshen = await startFenshen();
  await fenshen.live();
  secondPort = await freePort();
  second = await spawnRtmpServer(secondPort);
  browser = await launchChromium();
  // The console's CSP forbids eval; the test's page functions are strings, so the test bypasses it.
  page = await browser.newPage({ viewport: { width: 1440, height: 900 }, bypassCSP: true });
  await signIn(page, fenshen.url, fenshen.token);
});
after(async () => {
  await browser?.close();
  await fenshen.stop();
  second?.kill('SIGKILL');
});

const PLAYLIST = ['欢迎来到直播间，今天给大家带来保温杯。', 'This cup keeps your tea hot for a whole day.'];

test('destinations: one added from the console (key masked) goes live on a second RTMP server; start/stop', async () => {
  await page.fill('#dest-url', `rtmp://127.0.0.1:${secondPort}/live/secret-key-4711`);
  await page.click('#dest-add');
  const row = page.locator('#destinations tbody tr').filter({ hasNotText: 'embedded' });
  await row.locator('.badge[data-state="live"]').waitFor({ timeout: 20_000 });
  const text = (await page.textContent('#destinations')) ?? '';
  assert.ok(!text.includes('secret-key-4711'), `the key is masked (${text})`);
  assert.equal(await page.inputValue('#dest-url'), '', 'the key is cleared from the form');
  await row.locator('button:text("停止")').click();
  await row.locator('.badge[data-state="stopped"]').waitFor({ timeout: 10_000 });
  await row.locator('button:text("开始")').click();
  await row.locator('.badge[data-state="live"]').waitFor({ timeout: 20_000 });
});

test('playlist and scene from the console survive a server restart, and the destination comes back live', async () => {
  // Playlist: two lines, loop, save; the line being spoken is highlighted.
  for (const [i, line] of PLAYLIST.entries()) {
    await page.click('#playlist-add');
    await page.locator('#playlist-lines li .line-text').nth(i).fill(line);
  }
  await page.click('#playlist-save');
  await page.waitForSelector('#playlist-lines li.speaking', { timeout: 15_000 });
  // Scene: a plain colour background and a product card shown.
  await page.selectOption('#bg-type', 'color');
  await page.fill('#bg-color', '#204080');
  await page.click('#bg-apply');
  await page.fill('#card-name', '保温杯');
  await page.fill('#card-price', '¥59.9');
  await page.click('#card-show');
  await page.waitForSelector('#card-state[data-state="on"]');
  // Saved by name, left for another background, switched back to live.
  const background = async () => ((await (await fenshen.api('/api/channels/main/scene')).json()) as { scene: { background: { type: string; color?: string } } }).scene.background;
  await page.fill('#scene-name', '开场');
  await page.click('#scene-save');
  await page.waitForSelector('#scene-saved option:text("开场")', { state: 'attached' });
  await page.selectOption('#bg-type', 'gradient');
  await page.click('#bg-apply');
  await waitFor('the gradient', async () => ((await background()).type === 'gradient' ? true : undefined), 10_000);
  await page.selectOption('#scene-saved', { label: '开场' });
  await page.click('#scene-switch');
  await waitFor('the saved scene back', async () => ((await background()).color === '#204080' ? true : undefined), 10_000);
  await page.waitForFunction("document.getElementById('bg-type').value === 'color'");
  if (shots) {
    mkdirSync(shots, { recursive: true });
    await page.waitForTimeout(1500);
    await page.screenshot({ path: join(shots, 'console-zh.png') });
  }

  await fenshen.stop();
  fenshen = await startFenshen({ FENSHEN_DATA: fenshen.dataDir, FENSHEN_PORT: new URL(fenshen.url).port });
  await fenshen.live();
  await page.reload();
  await page.waitForSelector('#console:not([hidden])', { timeout: 15_000 });
  await page.waitForFunction(`document.querySelectorAll('#playlist-lines li').length === ${PLAYLIST.length}`, undefined, { timeout: 10_000 });
  const lines = await page.locator('#playlist-lines .line-text').evaluateAll((inputs) => inputs.map((i) => (i as unknown as { value: string }).value));
  assert.deepEqual(lines, PLAYLIST);
  // The scene arrives in its own answer (the playlist's may come first): the card's badge shows it came.
  await page.waitForSelector('#card-state[data-state="on"]');
  assert.equal(await page.inputValue('#bg-type'), 'color');
  assert.equal(await page.inputValue('#bg-color'), '#204080');
  assert.equal(await page.inputValue('#card-name'), '保温杯');
  await page.waitForSelector('#scene-saved option:text("开场")', { state: 'attached' });
  // The playlist plays again by itself, and the stored destination pushes again.
  await page.waitForSelector('#playlist-lines li.speaking', { timeout: 15_000 });
  const row = page.locator('#destinations tbody tr').filter({ hasNotText: 'embedded' });
  await row.locator('.badge[data-state="live"]').waitFor({ timeout: 20_000 });
});

test('English on one click, and a tablet in portrait gets one column without sideways scrolling', async () => {
  await page.click('#lang');
  assert.equal(await page.textContent('#speak-panel h2'), 'Speak');
  assert.equal(await page.getAttribute('html', 'lang'), 'en');
  if (shots) await page.screenshot({ path: join(shots, 'console-en.png') });
  await page.setViewportSize({ width: 768, height: 1024 });
  const layout = (await page.evaluate(`({
    columns: getComputedStyle(document.getElementById('console')).gridTemplateColumns.split(' ').length,
    overflow: document.scrollingElement.scrollWidth - window.innerWidth,
  })`)) as { columns: number; overflow: number };
  assert.equal(layout.columns, 1);
  assert.ok(layout.overflow <= 0, `no sideways scrolling (${layout.overflow} px too wide)`);
  if (shots) await page.screenshot({ path: join(shots, 'console-tablet.png'), fullPage: false });
  await page.click('#lang');
  assert.equal(await page.textContent('#speak-panel h2'), '说话');
  // Signing out forgets the token; signing in again brings the preview back.
  await page.click('#signout');
  await page.waitForSelector('#signin[open]');
  assert.equal(await page.evaluate('sessionStorage.getItem("fenshen-token")'), null);
  await page.fill('#token', fenshen.token);
  await page.click('#signin-go');
  await page.waitForSelector('#preview-state[data-state="live"]', { timeout: 20_000 });
});

/** What the console tests share: a headless Chromium, signing in, and pixels read back from RTMP. */
import { spawnSync } from 'node:child_process';
import { chromium, type Browser, type Page } from 'playwright-core';

export async function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--autoplay-policy=no-user-gesture-required'],
  });
}

/** Opens the console and signs in; resolves once the console is shown. */
export async function signIn(page: Page, url: string, token: string): Promise<void> {
  await page.goto(`${url}/`);
  await page.waitForSelector('#signin[open]');
  await page.fill('#token', token);
  await page.click('#signin-go');
  await page.waitForSelector('#console:not([hidden])', { timeout: 15_000 });
}

export interface Region {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

/**
 * One frame of a live RTMP stream as 8-bit grey at `width` x `height`, decoded by ffmpeg: what a viewer of
 * that destination sees, a couple of seconds after now.
 */
export function grabRtmpFrame(rtmpUrl: string, width: number, height: number): Buffer {
  const out = spawnSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-i', rtmpUrl, '-frames:v', '1', '-vf', `scale=${width}:${height},format=gray`, '-f', 'rawvideo', '-'], { timeout: 20_000, maxBuffer: 16 * 1024 * 1024 });
  if (out.status !== 0 || out.stdout.length !== width * height) throw new Error(`no frame from ${rtmpUrl}: ${out.stderr.toString()}`);
  return out.stdout;
}

/** Mean absolute difference of two grey frames inside `region`. */
export function regionDifference(a: Buffer, b: Buffer, width: number, region: Region): number {
  let sum = 0;
  for (let y = region.y; y < region.y + region.height; y++) {
    for (let x = region.x; x < region.x + region.width; x++) sum += Math.abs((a[y * width + x] as number) - (b[y * width + x] as number));
  }
  return sum / (region.width * region.height);
}

/** The preview's current picture inside a region given in fractions of the frame, as grey values (page-side). */
export async function previewRegion(page: Page, region: Region): Promise<number[]> {
  // Page code goes as a string: the test runner's transpiler would wrap functions in helpers the page lacks.
  return (await page.evaluate(`(() => {
    const video = document.getElementById('preview');
    const canvas = document.createElement('canvas');
    canvas.width = 90;
    canvas.height = 160;
    const ctx = canvas.getContext('2d');
    ctx.drawImage(video, 0, 0, 90, 160);
    const r = ${JSON.stringify(region)};
    const x = Math.round(r.x * 90), y = Math.round(r.y * 160), w = Math.round(r.width * 90), h = Math.round(r.height * 160);
    const data = ctx.getImageData(x, y, w, h).data;
    const out = [];
    for (let i = 0; i < data.length; i += 4) out.push(Math.round((data[i] + data[i + 1] + data[i + 2]) / 3));
    return out;
  })()`)) as number[];
}

export function meanDifference(a: readonly number[], b: readonly number[]): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs((a[i] as number) - (b[i] as number));
  return sum / Math.max(1, a.length);
}

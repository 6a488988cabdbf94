/**
 * `npm run bench video`: short videos made by the live pipeline on a virtual clock, in this process as
 * the renderer process does it (the default avatar warmed at its start, an avatar's sprites kept between
 * videos): one 60 s 720x1280 video with the drawn avatar, another, ten of them one after
 * another (the embedded queue renders one at a time on this 2-core box), and one with a clone built from
 * the webcam clip. Wall time against the video's length.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { avatarChoiceSchema, sceneSchema } from '../config/schema.js';
import { renderVideo, warmDrawings } from '../pipeline/export/videoRender.js';
import { checkScript } from '../pipeline/export/videoScript.js';
import { buildBenchClone } from './cloneBench.js';

/** About a minute of a host selling, in Chinese and English. */
const MINUTE = [
  '大家好，欢迎来到我们的直播间。今天给大家带来一款保温杯，三百毫升，不锈钢内胆，保温十二个小时。',
  '平时卖一百二十九元，今天直播间只要九十九元，还送一个杯套。',
  'This thermos keeps your tea hot for twelve hours, and it fits in any bag.',
  '喜欢的朋友点击下方的小黄车，数量有限，卖完就没有了。',
  '我们再来看看颜色，有白色、黑色和粉色三种，每一种都很好看。',
  'Tap the cart below before they are gone. Thank you for watching!',
  '有问题可以在评论区留言，主播会一一回答大家。',
  '感谢大家的关注，我们下一款产品马上就来。',
].join('\n');

export async function videoBench(print: (header: string[], rows: string[][]) => void): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'fenshen-bench-video-'));
  try {
    const lines = checkScript(MINUTE);
    const scene = sceneSchema.parse({});
    const render = (avatar: string, n: number) => renderVideo({ lines, preset: 'portrait-720p', avatar: avatarChoiceSchema.parse({ id: avatar }), scene, subtitles: true }, { ffmpegPath: 'ffmpeg', dataDir, dir: join(dataDir, 'videos', `${avatar}-${n}`) });
    const rows: string[][] = [];
    // As a renderer starts: it draws the default avatar's idle motion once, before any job.
    console.error('video: the renderer warms the default avatar');
    const warmStarted = performance.now();
    await warmDrawings({ dataDir, ffmpegPath: 'ffmpeg' });
    rows.push(['warm-up at the renderer\'s start (no video)', '0', '-', ((performance.now() - warmStarted) / 1000).toFixed(1), '-']);
    console.error('video: one with the drawn avatar, the first of this process');
    const one = await render('xiaomei', 0);
    rows.push(['one, drawn avatar (xiaomei), the renderer\'s first', '1', one.durationS.toFixed(1), one.renderS.toFixed(1), (one.durationS / one.renderS).toFixed(1)]);
    // The renderer keeps each avatar's sprites: later videos of it skip drawing and converting them.
    console.error('video: one more with the drawn avatar');
    const again = await render('xiaomei', 11);
    rows.push(['one, drawn avatar, later (its sprites kept)', '1', again.durationS.toFixed(1), again.renderS.toFixed(1), (again.durationS / again.renderS).toFixed(1)]);
    console.error('video: ten with the drawn avatar, one after another');
    const t0 = performance.now();
    let total = 0;
    for (let n = 1; n <= 10; n++) total += (await render('xiaomei', n)).durationS;
    const tenS = (performance.now() - t0) / 1000;
    rows.push(['ten, drawn avatar, queued', '10', total.toFixed(1), tenS.toFixed(1), (total / tenS).toFixed(1)]);
    console.error('video: building the bench clone');
    await buildBenchClone(dataDir);
    console.error('video: one with the clone');
    const clone = await render('clone-bench', 0);
    rows.push(['one, clone (webcam clip)', '1', clone.durationS.toFixed(1), clone.renderS.toFixed(1), (clone.durationS / clone.renderS).toFixed(1)]);
    console.log('');
    console.log(`short videos, 720x1280@30, H.264 High + AAC, loudness normalised, subtitles burned in; ${new Date().toISOString()}`);
    print(['videos', 'count', 'video s', 'wall s', 'x real time'], rows);
    console.log('goals: one 60 s video <= 15 s (>= 4x real time); ten in <= 180 s');
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

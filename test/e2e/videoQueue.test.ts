/**
 * Short videos through a real Redis (Debian's redis-server, started here) and BullMQ: the server queues,
 * two `npm run worker` processes sharing its data folder render; ten videos are shared between them, and a
 * worker killed mid-render (its whole process group, as a machine going down) leaves its video to the other,
 * which makes a complete, correct file.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { PROJECT_ROOT } from '../../config/paths.js';
import { videoSchema, type VideoAnswer } from '../../server/api/contract.js';
import { freePort, startFenshen, waitFor, type FenshenProcess } from './helpers.js';

let work: string;
let redis: ChildProcess;
let redisUrl: string;
let fenshen: FenshenProcess;
const workers: ChildProcess[] = [];
let configFile: string;

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'fenshen-queue-'));
  const port = await freePort();
  redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  redis.stdout?.on('data', (c: Buffer) => (out += c.toString()));
  await waitFor('redis-server ready', () => (out.includes('Ready to accept connections') ? true : undefined), 20_000);
  redisUrl = `redis://127.0.0.1:${port}`;
  // No live room here: the box's two cores go to the renders. A short lock, so a dead worker's job moves on in seconds.
  configFile = join(work, 'config.json');
  writeFileSync(configFile, JSON.stringify({ startMain: false, videos: { lockS: 4 } }));
  fenshen = await startFenshen({ FENSHEN_REDIS_URL: redisUrl, FENSHEN_CONFIG: configFile });
  await fenshen.live();
  for (let i = 0; i < 2; i++) workers.push(startWorker());
  await waitFor('both workers connected', () => (workerLogs.filter((l) => l.includes('renders videos from')).length >= 2 ? true : undefined), 60_000);
});

after(async () => {
  for (const w of workers) killGroup(w);
  await fenshen?.stop();
  redis?.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
  if (fenshen) rmSync(fenshen.dataDir, { recursive: true, force: true });
});

const workerLogs: string[] = [];
function startWorker(): ChildProcess {
  // Its own process group: killing the group is a machine going down (the render's ffmpeg and voice with it).
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/videoWorker.ts'], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, FENSHEN_REDIS_URL: redisUrl, FENSHEN_DATA: fenshen.dataDir, FENSHEN_CONFIG: configFile },
    stdio: ['ignore', 'ignore', 'pipe'],
    detached: true,
  });
  child.stderr?.on('data', (c: Buffer) => workerLogs.push(...c.toString().split('\n').filter(Boolean)));
  return child;
}

function killGroup(child: ChildProcess): void {
  try {
    if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

const post = async (script: string): Promise<string> => {
  const res = await fenshen.api('/api/videos', { method: 'POST', body: JSON.stringify({ script }) });
  assert.equal(res.status, 202, await res.clone().text());
  return ((await res.json()) as { id: string }).id;
};
const read = (id: string): Promise<VideoAnswer> => fenshen.read(`/api/videos/${id}`, videoSchema);
const untilDone = (id: string, timeoutMs: number) =>
  waitFor(`video ${id} done or failed`, async () => {
    const video = await read(id);
    return video.state === 'done' || video.state === 'failed' ? video : undefined;
  }, timeoutMs);

/** The MP4's streams and length, and whether every packet decodes (a cut-off or damaged file does not). */
async function check(id: string): Promise<{ durationS: number; codecs: string[]; decodeErrors: string }> {
  const file = join(work, `${id}.mp4`);
  const res = await fenshen.api(`/api/videos/${id}/file`);
  assert.equal(res.status, 200);
  writeFileSync(file, Buffer.from(await res.arrayBuffer()));
  const probe = spawnSync('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_name:format=duration', '-of', 'json', file], { encoding: 'utf8' });
  const info = JSON.parse(probe.stdout) as { streams: { codec_name: string }[]; format: { duration: string } };
  const decode = spawnSync('ffmpeg', ['-v', 'error', '-i', file, '-f', 'null', '-'], { encoding: 'utf8' });
  return { durationS: Number(info.format.duration), codecs: info.streams.map((s) => s.codec_name).sort(), decodeErrors: decode.stderr.trim() };
}

test('ten videos queued on Redis are rendered by two workers between them, each file whole', async () => {
  const started = performance.now();
  const ids: string[] = [];
  for (let i = 0; i < 10; i++) ids.push(await post(`第${i + 1}条视频，欢迎光临。`));
  const videos = await Promise.all(ids.map((id) => untilDone(id, 240_000)));
  const tookS = (performance.now() - started) / 1000;
  const byWorker = new Map<string, number>();
  for (const v of videos) byWorker.set(v.worker ?? '?', (byWorker.get(v.worker ?? '?') ?? 0) + 1);
  console.log(`# 10 videos, ${videos.reduce((n, v) => n + (v.durationS ?? 0), 0).toFixed(1)} s in all, rendered in ${tookS.toFixed(1)} s by ${[...byWorker].map(([w, n]) => `${w}: ${n}`).join(', ')}`);
  assert.deepEqual(videos.map((v) => v.state), Array(10).fill('done'), JSON.stringify(videos.find((v) => v.state !== 'done')));
  assert.equal(byWorker.size, 2, 'both workers rendered');
  for (const v of videos) {
    const file = await check(v.id);
    assert.deepEqual(file.codecs, ['aac', 'h264']);
    assert.ok(Math.abs(file.durationS - (v.durationS ?? 0)) < 0.1, `${v.id}: the file is ${file.durationS} s, the render said ${v.durationS}`);
    assert.equal(file.decodeErrors, '');
  }
});

test('a worker killed mid-render leaves its video to the other worker, which makes the whole file', async () => {
  const id = await post('啊，大家好，欢迎来到我们的直播间。今天给大家介绍一款保温杯，它可以保温十二个小时，容量是五百毫升，颜色有三种。喜欢的朋友可以点击下方的链接购买，数量有限，先到先得。');
  const rendering = await waitFor('the render under way', async () => {
    const v = await read(id);
    return v.state === 'rendering' && v.worker && v.progress >= 0.15 ? v : undefined;
  }, 120_000);
  const pid = Number(rendering.worker?.split(':').at(-1));
  const victim = workers.find((w) => w.pid === pid);
  assert.ok(victim, `the rendering worker ${rendering.worker} is one of ours`);
  killGroup(victim);
  const requeued = await waitFor('the video back in the queue or taken over', async () => {
    const v = await read(id);
    return v.worker !== rendering.worker || v.state === 'queued' ? v : undefined;
  }, 60_000);
  console.log(`# worker ${rendering.worker} killed at ${(rendering.progress * 100).toFixed(0)}%; the video went on: ${requeued.state}`);
  const done = await untilDone(id, 240_000);
  assert.equal(done.state, 'done', done.error);
  assert.notEqual(done.worker, rendering.worker);
  const file = await check(id);
  assert.deepEqual(file.codecs, ['aac', 'h264']);
  assert.ok(Math.abs(file.durationS - (done.durationS ?? 0)) < 0.1 && file.durationS > 10, `the file is ${file.durationS} s, the render said ${done.durationS}`);
  assert.equal(file.decodeErrors, '');
  assert.ok(fenshen.stderr().includes(`video ${id}: its worker stopped answering`), 'the server logged the take-over');
});

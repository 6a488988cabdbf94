/**
 * Short videos when things go wrong, on a server rendering them itself: a render whose encoder is killed and
 * one whose disk is full end `failed` with the reason, leave no file to serve, and the next video is made;
 * a server killed mid-render renders the video again when it comes back.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ENCODE_FILE } from '../../pipeline/export/videoRender.js';
import { videoSchema, type VideoAnswer } from '../../server/api/contract.js';
import { commandOf, descendants, startFenshen, waitFor, type FenshenProcess } from './helpers.js';

let work: string;
let configFile: string;
let fenshen: FenshenProcess;

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'fenshen-video-faults-'));
  // No live room: these renders are about failing well, not about sharing the box.
  configFile = join(work, 'config.json');
  writeFileSync(configFile, JSON.stringify({ startMain: false }));
  fenshen = await startFenshen({ FENSHEN_CONFIG: configFile });
  await fenshen.live();
});
after(async () => {
  await fenshen?.stop();
  rmSync(work, { recursive: true, force: true });
  if (fenshen) rmSync(fenshen.dataDir, { recursive: true, force: true });
});

const LONG = '啊，大家好，欢迎来到我们的直播间。今天给大家介绍一款保温杯，它可以保温十二个小时，容量是五百毫升，颜色有三种。喜欢的朋友可以点击下方的链接购买，数量有限，先到先得。';
const post = async (script: string): Promise<string> => {
  const res = await fenshen.api('/api/videos', { method: 'POST', body: JSON.stringify({ script }) });
  assert.equal(res.status, 202, await res.clone().text());
  return ((await res.json()) as { id: string }).id;
};
const read = (id: string): Promise<VideoAnswer> => fenshen.read(`/api/videos/${id}`, videoSchema);
const untilEnded = (id: string) =>
  waitFor(`video ${id} done or failed`, async () => {
    const video = await read(id);
    return video.state === 'done' || video.state === 'failed' ? video : undefined;
  }, 180_000);
const rendering = (id: string) =>
  waitFor(`video ${id} under way`, async () => {
    const v = await read(id);
    return v.state === 'rendering' && v.progress >= 0.1 ? v : undefined;
  }, 120_000);

/** What a failed video leaves: no file served, none on disk under its name. */
async function assertNothingServed(id: string): Promise<void> {
  const res = await fenshen.api(`/api/videos/${id}/file`);
  assert.equal(res.status, 409, await res.text());
  const left = readdirSync(join(fenshen.dataDir, 'videos', id));
  assert.deepEqual(left.filter((f) => f.endsWith('.mp4') || f.endsWith('.part') || f.endsWith('.flv')), [], `left in its folder: ${left.join(', ')}`);
}

test('an encoder killed mid-render and a full disk each end their video failed with the reason, nothing half-made is served, and the next video is made', async () => {
  const killed = await post(LONG);
  await rendering(killed);
  // Queued behind it: one whose encode lands on a full disk (its file is /dev/full: the kernel's ENOSPC), and one that must still be made.
  const diskFull = await post('啊，这一条写不下。');
  symlinkSync('/dev/full', join(fenshen.dataDir, 'videos', diskFull, ENCODE_FILE));
  const next = await post('啊，这一条照常完成。');
  const encoder = descendants(fenshen.child.pid as number).find((pid) => commandOf(pid).includes('rawvideo'));
  assert.ok(encoder, 'the render has an encoder');
  process.kill(encoder, 'SIGKILL');

  const first = await untilEnded(killed);
  assert.equal(first.state, 'failed');
  assert.match(String(first.error), /the encoder stopped/);
  await assertNothingServed(killed);

  const second = await untilEnded(diskFull);
  assert.equal(second.state, 'failed');
  assert.match(String(second.error), /the disk is full/);
  await assertNothingServed(diskFull);

  const third = await untilEnded(next);
  assert.equal(third.state, 'done', third.error);
  const file = join(work, 'next.mp4');
  writeFileSync(file, Buffer.from(await (await fenshen.api(`/api/videos/${next}/file`)).arrayBuffer()));
  const decode = spawnSync('ffmpeg', ['-v', 'error', '-i', file, '-f', 'null', '-'], { encoding: 'utf8' });
  assert.equal(decode.status, 0);
  assert.equal(decode.stderr.trim(), '');
  console.log(`# encoder killed: "${first.error}"; disk full: "${second.error}"; the next video made in ${third.renderS?.toFixed(1)} s`);
});

test('a server killed mid-render renders the video again when it comes back', async () => {
  const id = await post(LONG);
  const before = await rendering(id);
  const { dataDir } = fenshen;
  const port = new URL(fenshen.url).port;
  fenshen.child.kill('SIGKILL');
  await new Promise((r) => fenshen.child.once('exit', r));
  fenshen = await startFenshen({ FENSHEN_CONFIG: configFile, FENSHEN_DATA: dataDir, FENSHEN_PORT: port });
  await fenshen.live();
  const done = await untilEnded(id);
  assert.equal(done.state, 'done', done.error);
  assert.ok(fenshen.stderr().includes(`video ${id}: the server stopped while it rendered; resuming it`));
  assert.ok(existsSync(join(dataDir, 'videos', id, 'video.mp4')));
  console.log(`# killed at ${(before.progress * 100).toFixed(0)}%; rendered again after the restart: ${done.durationS?.toFixed(1)} s of video`);
});

/**
 * Faults and bad input from outside (issue [8]): uploads must never freeze the live picture, a server error
 * is logged with its cause and answered with what failed, damaged or oversized pictures are refused by what
 * is wrong with them, a bad URL is answered in the API's shape, and a damaged database is never silently
 * replaced by an empty one.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { request } from 'node:http';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { after, before, test } from 'node:test';
import { channelStatusSchema, errorAnswerSchema, uploadCreatedSchema, uploadListSchema, type ChannelStatusAnswer } from '../../server/api/contract.js';
import { readAnswer, startFenshen, waitFor, type FenshenProcess } from './helpers.js';
import { png } from '../pngFixture.js';

let fenshen: FenshenProcess;
let work: string;

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'fenshen-faults-'));
  fenshen = await startFenshen();
  await fenshen.live();
});
after(async () => {
  await fenshen?.stop();
  rmSync(work, { recursive: true, force: true });
});

const channelStatus = (): Promise<ChannelStatusAnswer> => fenshen.read('/api/channels/main', channelStatusSchema);

const upload = async (name: string, body: Buffer): Promise<{ status: number; answer: Record<string, unknown>; headers: Headers }> => {
  const res = await fetch(`${fenshen.url}/api/uploads?name=${encodeURIComponent(name)}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${fenshen.token}`, 'content-type': 'application/octet-stream' },
    body,
  });
  // A stored upload, or a refusal: each in the contract's shape.
  const answer: Record<string, unknown> = res.ok ? await readAnswer(res, uploadCreatedSchema) : await readAnswer(res, errorAnswerSchema);
  return { status: res.status, answer, headers: res.headers };
};

function ihdr(width: number, height: number): Buffer {
  const data = Buffer.alloc(13);
  data.writeUInt32BE(width, 0);
  data.writeUInt32BE(height, 4);
  data[8] = 8; // bit depth
  data[9] = 6; // RGBA
  return data;
}

test('20 uploads of a 2 s MP4 at once: all stored, the live picture never waits for their checks', async () => {
  const clip = join(work, 'clip.mp4');
  const made = spawnSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=s=640x360:r=30:d=2', '-f', 'lavfi', '-i', 'sine=d=2', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-shortest', clip], { encoding: 'utf8' });
  assert.equal(made.status, 0, made.stderr);
  const body = readFileSync(clip);
  // Past the start: a new channel repeats frames while it converts its first sprites and its helpers load
  // (seen: a few a second up to ~10 s in), which would be counted against the uploads.
  await waitFor('the channel settled (no frame repeated for 3 s)', async () => {
    const a = (await channelStatus()).framesRepeated;
    await new Promise((r) => setTimeout(r, 3000));
    return (await channelStatus()).framesRepeated === a ? true : undefined;
  }, 90_000);
  // For comparison: what the picture repeats with no uploads at all (others' load on a shared box).
  const quietStart = await channelStatus();
  await new Promise((r) => setTimeout(r, 5000));
  const quiet = (await channelStatus()).framesRepeated - quietStart.framesRepeated;

  const before = await channelStatus();
  const startedMs = performance.now();
  const results = await Promise.all(Array.from({ length: 20 }, (_, i) => upload(`clip-${i}.mp4`, body)));
  const tookMs = performance.now() - startedMs;
  const afterUploads = await channelStatus();
  const repeated = afterUploads.framesRepeated - before.framesRepeated;
  console.log(`# 20 parallel uploads of a 2 s MP4 (${(body.length / 1024).toFixed(0)} kB): ${tookMs.toFixed(0)} ms, framesRepeated +${repeated} over ${afterUploads.framesRendered - before.framesRendered} frames rendered (+${quiet} in 5 s without uploads)`);
  assert.deepEqual(results.map((r) => r.status), Array.from({ length: 20 }, () => 201), JSON.stringify(results.find((r) => r.status !== 201)?.answer));
  // The goal is 0–2 repeated frames; a box shared with other work repeats some without any upload, so
  // what the same span repeats without uploads is allowed on top (before the fix: +307 in 10 s).
  const background = Math.ceil((quiet * tookMs) / 5000);
  assert.ok(repeated <= 2 + background, `the picture repeated ${repeated} frames during the uploads (${background} expected without them)`);
  const listed = await fenshen.read('/api/uploads', uploadListSchema);
  assert.equal(listed.uploads.filter((u) => u.name.startsWith('clip-') && u.kind === 'video').length, 20);
});

test('beyond 32 uploads in flight a new one is answered 503 with Retry-After at once; cut-off uploads free their place', async () => {
  // Uploads that send a little and then hold: each is "being received" (its part file written) until its
  // client goes away. One more than the limit, and no probe before all 32 places are taken: a probe sent
  // while they were still arriving took a place, ended (a 415) and left the limit short for good.
  const partFiles = () => (existsSync(join(fenshen.dataDir, 'uploads')) ? readdirSync(join(fenshen.dataDir, 'uploads')).filter((f) => f.endsWith('.part')).length : 0);
  const held = Array.from({ length: 33 }, () => {
    const req = request(`${fenshen.url}/api/uploads?name=slow.mp4`, { method: 'POST', headers: { authorization: `Bearer ${fenshen.token}`, 'content-type': 'application/octet-stream' } });
    req.on('error', () => {});
    req.write(Buffer.alloc(64 * 1024));
    return req;
  });
  try {
    await waitFor('32 uploads being received', () => (partFiles() >= 32 ? true : undefined), 20_000);
    let last = '';
    const refused = await waitFor('the 33rd refused', async () => {
      const res = await upload('one-more.png', Buffer.from('whatever'));
      last = `${res.status} ${JSON.stringify(res.answer)}`;
      return res.status === 503 ? res : undefined;
    }, 30_000).catch((err: Error) => {
      throw new Error(`${err.message}; the last answer: ${last}; server log: ${fenshen.stderr().slice(-1500)}`);
    });
    assert.equal(refused.answer.code, 'busy');
    assert.match(String(refused.answer.error), /32 uploads are already being received or checked; try again in 10 s/);
    assert.equal(refused.headers.get('retry-after'), '10');
  } finally {
    for (const req of held) req.destroy();
  }
  // Their places are given back (a cut-off body ends the upload and removes its part file).
  const again = await waitFor('uploads accepted again', async () => {
    const res = await upload('after.png', Buffer.from('not a picture but a fair try'));
    return res.status === 503 ? undefined : res;
  }, 10_000);
  assert.equal(again.status, 415);
  await waitFor('part files removed', () => (readdirSync(join(fenshen.dataDir, 'uploads')).some((f) => f.endsWith('.part')) ? undefined : true), 10_000);
});

test('a PNG whose picture data is cut short but still ends in IEND is refused as damaged', async () => {
  const width = 64, height = 64;
  const raw = Buffer.alloc(height * (1 + width * 4), 0x7f);
  for (let y = 0; y < height; y++) raw[y * (1 + width * 4)] = 0; // filter byte: none
  const deflated = deflateSync(raw);
  const whole = png([['IHDR', ihdr(width, height)], ['IDAT', deflated], ['IEND', Buffer.alloc(0)]]);
  const cut = png([['IHDR', ihdr(width, height)], ['IDAT', deflated.subarray(0, Math.floor(deflated.length / 2))], ['IEND', Buffer.alloc(0)]]);
  const good = await upload('whole.png', whole);
  assert.equal(good.status, 201, JSON.stringify(good.answer));
  const bad = await upload('cut.png', cut);
  assert.equal(bad.status, 422, JSON.stringify(bad.answer));
  assert.match(String(bad.answer.error), /damaged/);
});

test('a 30000x30000 PNG is refused from its header: at most 8192 pixels a side', async () => {
  const huge = png([['IHDR', ihdr(30_000, 30_000)], ['IDAT', deflateSync(Buffer.alloc(1000))], ['IEND', Buffer.alloc(0)]]);
  const res = await upload('huge.png', huge);
  assert.equal(res.status, 422, JSON.stringify(res.answer));
  assert.match(String(res.answer.error), /30000x30000; at most 8192 pixels a side/);
});

test('a URL with a broken percent-encoding is answered {error, code}, not in the framework\'s own shape', async () => {
  const res = await fenshen.api('/api/channels/%E0%A4%A');
  assert.equal(res.status, 400);
  const answer = await readAnswer(res, errorAnswerSchema);
  assert.deepEqual(Object.keys(answer).sort(), ['code', 'error']);
  assert.equal(answer.code, 'bad_url');
  assert.match(String(answer.error), /percent-encoding/);
});

test('uploads folder not writable (a file in its place, which stops root too): 500 naming the data folder, and the cause in the log', async () => {
  const uploads = join(fenshen.dataDir, 'uploads');
  const kept = join(fenshen.dataDir, 'uploads.kept');
  renameSync(uploads, kept);
  writeFileSync(uploads, 'not a folder');
  try {
    const logBefore = fenshen.stderr().length;
    const res = await upload('any.png', Buffer.from('whatever'));
    assert.equal(res.status, 500, JSON.stringify(res.answer));
    assert.match(String(res.answer.error), /^the data folder is not writable: uploads \(a file is where a folder should be\)/);
    assert.ok(!String(res.answer.error).includes(fenshen.dataDir), `no absolute path in the answer: ${String(res.answer.error)}`);
    const logged = await waitFor('the log line', () => fenshen.stderr().slice(logBefore).split('\n').filter((l) => / error /.test(l) && l.includes('POST /api/uploads')).at(0), 5_000);
    assert.match(logged, /500/);
    assert.match(logged, /EEXIST|ENOTDIR/, `the cause: ${logged}`);
    assert.ok(!logged.includes(fenshen.token), 'never the token');
  } finally {
    rmSync(uploads, { force: true });
    renameSync(kept, uploads);
  }
});

test('an emptied database (0 bytes) is kept aside, the server starts and says so loudly', async () => {
  const data = mkdtempSync(join(tmpdir(), 'fenshen-emptydb-'));
  writeFileSync(join(data, 'fenshen.db'), '');
  const server = await startFenshen({ FENSHEN_DATA: data, FENSHEN_WEBRTC_PORT: '0', FENSHEN_RTMP_PORT: '0' });
  try {
    await server.live();
    const aside = readdirSync(data).filter((f) => /^fenshen\.db\.empty-\d{8}T\d{6}Z$/.test(f));
    assert.equal(aside.length, 1, readdirSync(data).join(' '));
    const line = server.stderr().split('\n').find((l) => l.includes('fenshen.db') && l.includes(aside[0] as string));
    assert.ok(line, server.stderr());
    assert.match(line, / error /);
    assert.match(line, /0 bytes/);
    assert.ok(readFileSync(join(data, 'fenshen.db')).length > 0, 'a fresh database in its place');
  } finally {
    await server.stop();
    rmSync(data, { recursive: true, force: true });
  }
});

test('a corrupt database: exit code 2 and one line naming the file and what to do, no stack trace', () => {
  const data = mkdtempSync(join(tmpdir(), 'fenshen-baddb-'));
  const junk = randomBytes(64 * 1024);
  writeFileSync(join(data, 'fenshen.db'), junk);
  try {
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'server/main.ts'], { env: { ...process.env, FENSHEN_DATA: data, FENSHEN_RTMP_PORT: '0', FENSHEN_WEBRTC_PORT: '0', FENSHEN_PORT: '0', FENSHEN_TOKEN: 'e2e-token-0123456789' }, encoding: 'utf8', timeout: 60_000 });
    assert.equal(run.status, 2, run.stderr);
    const lines = run.stderr.trim().split('\n');
    assert.equal(lines.length, 1, run.stderr);
    assert.match(run.stderr, new RegExp(`${join(data, 'fenshen.db').replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} is damaged`));
    assert.match(run.stderr, /restore it from a backup/);
    assert.match(run.stderr, /move it aside/);
    assert.doesNotMatch(run.stderr, /\n\s+at /);
    assert.ok(readFileSync(join(data, 'fenshen.db')).equals(junk), 'the damaged file is left as it was');
    assert.ok(!existsSync(join(data, 'fenshen.db-wal')) || readFileSync(join(data, 'fenshen.db-wal')).length === 0);
  } finally {
    rmSync(data, { recursive: true, force: true });
  }
});

test('a disk without room for its reserve: uploads and short videos are refused up front (507 saying what is free), nothing is half-written, the live room goes on', async () => {
  const data = mkdtempSync(join(tmpdir(), 'fenshen-reserve-'));
  const configFile = join(work, 'reserve.json');
  // A reserve larger than any disk here: every new write of an operator's is refused, as on a nearly full disk.
  writeFileSync(configFile, JSON.stringify({ storage: { reserveMB: 1_000_000 } }));
  const server = await startFenshen({ FENSHEN_DATA: data, FENSHEN_CONFIG: configFile, FENSHEN_WEBRTC_PORT: '0', FENSHEN_RTMP_PORT: '0' });
  try {
    await server.live();
    const refused = await server.api('/api/uploads?name=a.png', { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: Buffer.alloc(4096, 1) });
    assert.equal(refused.status, 507);
    const { error, code } = await readAnswer(refused, errorAnswerSchema);
    assert.equal(code, 'data_folder_full');
    assert.match(error, /^the data folder's disk is nearly full: [\d.]+ [kMG]B free, this upload needs about 4 kB and 976\.6 GB stay free for the live rooms \(config storage\.reserveMB\)/);
    assert.deepEqual(existsSync(join(data, 'uploads')) ? readdirSync(join(data, 'uploads')) : [], [], 'no part file');
    const video = await server.api('/api/videos', { method: 'POST', body: JSON.stringify({ script: '大家好，欢迎来到直播间。' }) });
    assert.equal(video.status, 507);
    assert.match((await readAnswer(video, errorAnswerSchema)).error, /this video needs about \d+ MB/);
    assert.equal((await (await server.api('/api/videos')).json() as { videos: unknown[] }).videos.length, 0, 'nothing queued');
    const free = Number(/^fenshen_data_free_bytes (\S+)$/m.exec(await (await fetch(`${server.url}/metrics`)).text())?.[1]);
    assert.ok(free > 0, `fenshen_data_free_bytes ${free}`);
    const before = await server.read('/api/channels/main', channelStatusSchema);
    await new Promise((r) => setTimeout(r, 1000));
    const after = await server.read('/api/channels/main', channelStatusSchema);
    assert.ok(after.framesRendered > before.framesRendered + 20, 'the live room goes on');
  } finally {
    await server.stop();
    rmSync(data, { recursive: true, force: true });
  }
});

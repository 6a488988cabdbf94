import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { deflateSync } from 'node:zlib';
import { answerFor } from '../../server/api/errorAnswers.js';
import { dataFolderError, type DataFolderError } from '../../server/domainErrors.js';
import { scrubForLog, serverErrorLine } from '../../server/errors.js';
import { CHECK_NICENESS, CheckQueue, CheckUnavailableError, checkImageInChild, imageHeaderSize, pngDataIsComplete, pngInflatedBytes, spawnNiced, UploadChecker } from '../../server/uploadChecks.js';
import { png } from '../pngFixture.js';

const dir = mkdtempSync(join(tmpdir(), 'fenshen-uploads-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function ihdr(width: number, height: number, bitDepth: number, colourType: number, interlaced = false): Buffer {
  const data = Buffer.alloc(13);
  data.writeUInt32BE(width, 0);
  data.writeUInt32BE(height, 4);
  data[8] = bitDepth;
  data[9] = colourType;
  data[12] = interlaced ? 1 : 0;
  return data;
}

/** The PNG with its IDAT data cut to `fraction` and still closed by IEND (what a bad copy tool leaves). */
function cutIdat(file: Buffer, fraction: number): Buffer {
  const chunks: [string, Buffer][] = [];
  for (let at = 8; at + 8 <= file.length; ) {
    const length = file.readUInt32BE(at);
    const type = file.toString('latin1', at + 4, at + 8);
    chunks.push([type, file.subarray(at + 8, at + 8 + length)]);
    at += 12 + length;
  }
  const idat = Buffer.concat(chunks.filter(([t]) => t === 'IDAT').map(([, d]) => d));
  const rest = chunks.filter(([t]) => t !== 'IDAT' && t !== 'IEND');
  return png([...rest, ['IDAT', idat.subarray(0, Math.floor(idat.length * fraction))], ['IEND', Buffer.alloc(0)]]);
}

test('PNG picture data: complete files of every pixel layout pass, the same cut short and closed by IEND fail', async () => {
  for (const pixFmt of ['rgb24', 'rgba', 'gray', 'ya8', 'gray16be', 'rgb48be', 'rgba64be', 'pal8', 'monob']) {
    const file = join(dir, `${pixFmt}.png`);
    const made = spawnSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=s=97x61', '-frames:v', '1', '-pix_fmt', pixFmt, file], { encoding: 'utf8' });
    assert.equal(made.status, 0, made.stderr);
    const data = readFileSync(file);
    assert.equal(await pngDataIsComplete(data), true, `${pixFmt} whole`);
    assert.equal(await pngDataIsComplete(cutIdat(data, 0.5)), false, `${pixFmt} cut to half`);
    assert.equal(await pngDataIsComplete(cutIdat(data, 0.97)), false, `${pixFmt} cut short by 3%`);
  }
});

test('PNG picture data: Adam7-interlaced rows are counted per pass', async () => {
  const width = 13, height = 11;
  // Per pass, rows x (filter byte + width): 2x(1+2), 2x(1+2), 1x(1+4), 3x(1+3), 3x(1+7), 6x(1+6), 5x(1+13).
  assert.equal(pngInflatedBytes({ width, height, bitDepth: 8, colourType: 0, interlaced: true }), 6 + 6 + 5 + 12 + 24 + 42 + 70);
  assert.equal(pngInflatedBytes({ width, height, bitDepth: 1, colourType: 0, interlaced: false }), 11 * (1 + 2));
  assert.equal(pngInflatedBytes({ width, height, bitDepth: 16, colourType: 6, interlaced: false }), 11 * (1 + 13 * 8));
  // A grey interlaced picture written pass by pass: whole it passes, one row short it fails.
  const passes = [[0, 0, 8, 8], [4, 0, 8, 8], [0, 4, 4, 8], [2, 0, 4, 4], [0, 2, 2, 4], [1, 0, 2, 2], [0, 1, 1, 2]] as const;
  const rows: Buffer[] = [];
  for (const [x0, y0, dx, dy] of passes) {
    const w = Math.ceil((width - x0) / dx), h = Math.ceil((height - y0) / dy);
    if (w > 0 && h > 0) for (let y = 0; y < h; y++) rows.push(Buffer.concat([Buffer.from([0]), Buffer.alloc(w, 0x80)]));
  }
  const raw = Buffer.concat(rows);
  const whole = png([['IHDR', ihdr(width, height, 8, 0, true)], ['IDAT', deflateSync(raw)], ['IEND', Buffer.alloc(0)]]);
  const short = png([['IHDR', ihdr(width, height, 8, 0, true)], ['IDAT', deflateSync(raw.subarray(0, raw.length - 14))], ['IEND', Buffer.alloc(0)]]);
  assert.equal(await pngDataIsComplete(whole), true);
  assert.equal(await pngDataIsComplete(short), false, 'a complete zlib stream with a row missing');
  // And the decoder agrees it is a picture.
  const file = join(dir, 'interlaced.png');
  writeFileSync(file, whole);
  assert.deepEqual(await checkImageInChild(file, 'image/png'), { ok: true, width, height });
});

test('a picture\'s size comes from its header, before any decode (a 30000x30000 PNG of a few bytes)', () => {
  const huge = png([['IHDR', ihdr(30_000, 30_000, 8, 6)], ['IDAT', deflateSync(Buffer.alloc(100))], ['IEND', Buffer.alloc(0)]]);
  assert.deepEqual(imageHeaderSize(huge), { width: 30_000, height: 30_000 });
  assert.equal(imageHeaderSize(Buffer.from('not a picture at all')), null);
  const jpeg = join(dir, 'side.jpg');
  assert.equal(spawnSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc=s=320x200', '-frames:v', '1', jpeg]).status, 0);
  assert.deepEqual(imageHeaderSize(readFileSync(jpeg)), { width: 320, height: 200 });
});

test('the picture check child decodes a whole picture, refuses a cut one and a junk one', async () => {
  const file = join(dir, 'ok.webp');
  assert.equal(spawnSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc=s=200x120', '-frames:v', '1', file]).status, 0);
  assert.deepEqual(await checkImageInChild(file, 'image/webp'), { ok: true, width: 200, height: 120 });
  const pngFile = join(dir, 'cut.png');
  assert.equal(spawnSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc=s=200x120', '-frames:v', '1', pngFile]).status, 0);
  writeFileSync(pngFile, cutIdat(readFileSync(pngFile), 0.6));
  const cut = await checkImageInChild(pngFile, 'image/png');
  assert.equal(cut.ok, false);
  const junk = join(dir, 'junk.gif');
  writeFileSync(junk, Buffer.concat([Buffer.from('GIF89a'), Buffer.alloc(200, 0xee), Buffer.from([0x3b])]));
  assert.equal((await checkImageInChild(junk, 'image/gif')).ok, false);
});

test('check children run at the lowest priority with no secrets in their environment', async () => {
  process.env.FENSHEN_TOKEN = 'secret-token-for-this-test';
  try {
    const child = spawnNiced(process.execPath, ['-e', "setTimeout(() => process.stdout.write(JSON.stringify({ nice: require('os').getPriority(), token: process.env.FENSHEN_TOKEN ?? null })), 300)"]);
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    await new Promise((resolve) => child.on('close', resolve));
    assert.deepEqual(JSON.parse(out), { nice: CHECK_NICENESS, token: null });
  } finally {
    delete process.env.FENSHEN_TOKEN;
  }
});

test('the check queue runs two at a time, in order, and every job gets its own answer', async () => {
  const queue = new CheckQueue(2);
  let running = 0;
  let most = 0;
  const started: number[] = [];
  const jobs = Array.from({ length: 7 }, (_, i) =>
    queue.run(async () => {
      started.push(i);
      running++;
      most = Math.max(most, running);
      await new Promise((r) => setTimeout(r, 20));
      running--;
      if (i === 3) throw new Error('job 3 fails');
      return i * 10;
    }),
  );
  assert.equal(queue.running, 2);
  assert.equal(queue.waiting, 5);
  const settled = await Promise.allSettled(jobs);
  assert.equal(most, 2);
  assert.deepEqual(started, [0, 1, 2, 3, 4, 5, 6]);
  assert.deepEqual(settled.map((s) => (s.status === 'fulfilled' ? s.value : 'failed')), [0, 10, 20, 'failed', 40, 50, 60]);
  assert.equal(queue.running + queue.waiting, 0);
});

test('a failed write under the data folder is said safely: 507 when full, 500 when not writable, nothing for other errors', () => {
  const fsError = (code: string) => Object.assign(new Error(`${code}: failed, open '/srv/secret/place/uploads/x'`), { code });
  const full = dataFolderError(fsError('ENOSPC'), 'uploads');
  assert.equal(full?.code, 'data_folder_full');
  assert.equal(answerFor(full).status, 507);
  assert.equal(full?.message, 'the data folder is full: no room to write uploads');
  const notFolder = dataFolderError(fsError('ENOTDIR'), 'uploads');
  assert.equal(notFolder?.code, 'data_folder_not_writable');
  assert.equal(answerFor(notFolder).status, 500);
  assert.equal(notFolder?.message, 'the data folder is not writable: uploads (a file is where a folder should be)');
  assert.equal(dataFolderError(fsError('SQLITE_READONLY_DBMOVED'), 'the database'), null);
  assert.equal(dataFolderError(fsError('SQLITE_IOERR_WRITE'), 'the database')?.message, 'the data folder is not writable: the database (a disk error)');
  assert.equal(dataFolderError(new Error('no code'), 'uploads'), null);
  assert.ok(!notFolder?.message.includes('/srv'), 'no machine path in the answer');
});

test('server error log lines: route pattern, status, codes of the cause chain, where it was thrown; never a secret', () => {
  const cause = Object.assign(new Error("EEXIST: file already exists, mkdir '/data/uploads'"), { code: 'EEXIST' });
  const refusal = dataFolderError(cause, 'uploads') as DataFolderError;
  const line = serverErrorLine({ method: 'POST', route: '/api/uploads' }, { status: 500, code: refusal.code }, refusal);
  assert.match(line, /^POST \/api\/uploads → 500 data_folder_not_writable: the data folder is not writable: uploads .* ← caused by EEXIST: file already exists/);
  assert.match(line, /\(at .*uploads\.test\.ts/, 'where the cause was made');

  const bug = new TypeError('cannot read x of undefined\nsecond line');
  const bugLine = serverErrorLine({ method: 'GET', route: '/api/channels/:id' }, { status: 500, code: 'internal' }, bug, ['tok-123456']);
  assert.ok(!bugLine.includes('\n'), 'one line');
  assert.match(bugLine, /GET \/api\/channels\/:id → 500 internal: cannot read x of undefined second line \(at /);

  const leaky = new Error('push to rtmp://live.example.com/app/sk-SECRETKEY?sign=abc failed; Bearer tok-123456; token=tok-123456');
  const scrubbed = serverErrorLine({ method: 'POST', route: '/api/channels/:id/destinations' }, { status: 500, code: 'internal' }, leaky, ['tok-123456']);
  for (const secret of ['sk-SECRETKEY', 'sign=abc', 'tok-123456']) assert.ok(!scrubbed.includes(secret), `${secret} in ${scrubbed}`);
  assert.match(scrubbed, /rtmp:\/\/live\.example\.com\/app\/\*\*\*\?\*\*\*/);
  assert.equal(scrubForLog('x'.repeat(2000)).length, 601);
});

/** A process's nice value, from /proc (field 19 of stat, after the command's closing parenthesis). */
const niceOf = (pid: number) => Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ')[16]);
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

test('the checker process answers picture and video checks at the lowest priority, is replaced when it dies, and ends with close()', async () => {
  const checker = new UploadChecker();
  checker.start();
  const first = checker.pid as number;
  assert.ok(first > 0);
  const picture = join(dir, 'checked.png');
  assert.equal(spawnSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc=s=160x90', '-frames:v', '1', picture]).status, 0);
  const video = join(dir, 'checked.mp4');
  assert.equal(spawnSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=s=128x72:r=25:d=1', '-pix_fmt', 'yuv420p', video]).status, 0);
  const notVideo = join(dir, 'not-a-video.mp4');
  writeFileSync(notVideo, 'plain text, not a video\n');
  try {
    // Sent before the process has even loaded its code: the job waits in the channel.
    assert.deepEqual(await checker.check({ kind: 'image', file: picture, mime: 'image/png' }), { ok: true, width: 160, height: 90 });
    assert.equal(niceOf(first), CHECK_NICENESS);
    const probed = await checker.check({ kind: 'video', file: video, ffprobePath: 'ffprobe' });
    assert.ok(probed.ok && probed.width === 128 && probed.height === 72 && Math.abs(probed.durationS - 1) < 0.1, JSON.stringify(probed));
    const refused = await checker.check({ kind: 'video', file: notVideo, ffprobePath: 'ffprobe' });
    assert.equal(refused.ok, false);

    process.kill(first, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual(await checker.check({ kind: 'image', file: picture, mime: 'image/png' }), { ok: true, width: 160, height: 90 }, 'a new checker takes over');
    assert.notEqual(checker.pid, first);
  } finally {
    const last = checker.pid as number;
    checker.close();
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(alive(last), false, 'no checker left after close()');
  }
  await assert.rejects(checker.check({ kind: 'image', file: picture, mime: 'image/png' }), CheckUnavailableError);
});

test('what the checker starts inherits its lowest priority (an ffprobe held waiting on a URL, read from /proc)', async () => {
  // ffprobe reads the "file" from this server, which holds the request: the probe stays alive to be looked at.
  const held: ServerResponse[] = [];
  let requested: () => void = () => {};
  const arrived = new Promise<void>((resolve) => (requested = resolve));
  const server = createServer((_req, res) => {
    held.push(res);
    requested();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const checker = new UploadChecker();
  try {
    const probing = checker.check({ kind: 'video', file: `http://127.0.0.1:${port}/held.mp4`, ffprobePath: 'ffprobe' });
    await arrived;
    const checkerPid = checker.pid as number;
    const children = readFileSync(`/proc/${checkerPid}/task/${checkerPid}/children`, 'utf8').trim().split(/\s+/).map(Number);
    const ffprobe = children.find((pid) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('ffprobe'));
    assert.ok(ffprobe, `ffprobe among ${children.join(' ')}`);
    assert.equal(niceOf(checkerPid), CHECK_NICENESS);
    assert.equal(niceOf(ffprobe), CHECK_NICENESS, 'the probe runs no higher than the checker');
    for (const res of held) res.destroy();
    assert.equal((await probing).ok, false);
  } finally {
    checker.close();
    server.close();
  }
});

test('music uploads: a sound file probes to its length; a video without sound and a half-second clip are refused with why', async () => {
  const { probeAudioFile, VideoProbeError } = await import('../../pipeline/mediaProbe.js');
  const make = (name: string, args: string[]) => {
    const file = join(dir, name);
    const made = spawnSync('ffmpeg', ['-v', 'error', '-y', ...args, file], { encoding: 'utf8' });
    assert.equal(made.status, 0, made.stderr);
    return file;
  };
  const song = make('song.mp3', ['-f', 'lavfi', '-i', 'sine=f=330:d=2.5', '-ac', '2']);
  const probed = await probeAudioFile('ffprobe', song);
  assert.ok(Math.abs(probed.durationS - 2.5) < 0.1, `${probed.durationS} s`);
  assert.equal(probed.channels, 2);
  const silentFilm = make('film.mp4', ['-f', 'lavfi', '-i', 'testsrc2=s=64x64:d=2', '-pix_fmt', 'yuv420p']);
  await assert.rejects(probeAudioFile('ffprobe', silentFilm), (err: Error) => err instanceof VideoProbeError && /no sound/.test(err.message));
  const blip = make('blip.wav', ['-f', 'lavfi', '-i', 'sine=d=0.5']);
  await assert.rejects(probeAudioFile('ffprobe', blip), (err: Error) => err instanceof VideoProbeError && /too short/.test(err.message));
});

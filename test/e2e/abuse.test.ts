/**
 * Bad input and misuse from outside, on real servers: unsayable playlists, voices that are not installed,
 * signaling misuse and floods of connections, a deleted main channel, token guessing.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import WebSocket from 'ws';
import { Store } from '../../server/store.js';
import { channelStatusSchema, destinationListSchema, errorAnswerSchema, healthAnswerSchema, playlistSchema } from '../../server/api/contract.js';
import { commandOf, descendants, readAnswer, startFenshen, waitFor, type FenshenProcess } from './helpers.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let fenshen: FenshenProcess;
/** A second server: a small connection cap and a playlist stored by an older version that took anything. */
let seeded: FenshenProcess;
const SEEDED_CAP = 6;

before(async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'fenshen-e2e-'));
  const store = Store.open(dataDir);
  store.savePlaylist('main', { lines: [{ text: '😀' }, { text: '\u200b' }, { text: 'Hello there.', voice: 'xx-nosuch' }], loop: true });
  store.close();
  const configFile = join(dataDir, 'config.json');
  writeFileSync(configFile, JSON.stringify({ webrtc: { maxConnections: SEEDED_CAP } }));
  [fenshen, seeded] = await Promise.all([startFenshen(), startFenshen({ FENSHEN_DATA: dataDir, FENSHEN_CONFIG: configFile })]);
  for (const server of [fenshen, seeded]) await server.live();
});
after(async () => {
  await Promise.all([fenshen?.stop(), seeded?.stop()]);
});

const json = (body: unknown): RequestInit => ({ body: JSON.stringify(body) });
const errorOf = async (res: Response) => (await readAnswer(res, errorAnswerSchema)).error;
/** Log lines written after `from` (a length of stderr) that match. */
const logLinesSince = (server: FenshenProcess, from: number, pattern: RegExp) => server.stderr().slice(from).split('\n').filter((l) => pattern.test(l));

test('a playlist line that cannot be said is refused naming the line; nothing is stored and the log stays quiet', async () => {
  const logFrom = fenshen.stderr().length;
  const put = (lines: unknown[]) => fenshen.api('/api/channels/main/playlist', { method: 'PUT', ...json({ lines, loop: true }) });
  const unsayable = await put(['😀', '\u200b']);
  assert.equal(unsayable.status, 400);
  assert.match(await errorOf(unsayable), /^line 1: text has nothing that can be spoken/);
  const second = await put(['你好。', { text: '\u200b', pauseMs: 100 }]);
  assert.equal(second.status, 400);
  assert.match(await errorOf(second), /^line 2: /);
  assert.deepEqual(await fenshen.read('/api/channels/main/playlist', playlistSchema), { lines: [], loop: false });
  await sleep(2000);
  assert.deepEqual(logLinesSince(fenshen, logFrom, /playlist/), [], 'nothing about the playlist in the log');
});

test('a voice that is not installed is refused up front, for say and for playlist lines, naming it and the installed ones', async () => {
  const say = (body: Record<string, unknown>) => fenshen.api('/api/channels/main/say', { method: 'POST', ...json(body) });
  const unknown = await say({ text: 'Hello.', voice: 'xx-nosuch' });
  assert.equal(unknown.status, 400);
  const message = await errorOf(unknown);
  assert.match(message, /^voice "xx-nosuch" is not installed; installed: .*\bcmn-latn-pinyin\b/);
  assert.match(message, /\ben-us\b/);
  // Names eSpeak takes in any case, and with a variant, still pass.
  for (const voice of ['en-us+f3', 'EN-US', 'cmn-latn-pinyin']) assert.equal((await say({ text: 'Hello.', voice })).status, 202, voice);
  await fenshen.api('/api/channels/main/interrupt', { method: 'POST' });
  const playlist = await fenshen.api('/api/channels/main/playlist', { method: 'PUT', ...json({ lines: [{ text: 'Hello.', voice: 'en-us' }, { text: 'Hi.', voice: 'xx-nosuch' }], loop: false }) });
  assert.equal(playlist.status, 400);
  assert.match(await errorOf(playlist), /^line 2: voice "xx-nosuch" is not installed/);
  assert.deepEqual((await fenshen.read('/api/channels/main/playlist', playlistSchema)).lines, []);
});

test('a destination\'s stream key is on no command line other users can read (ps, /proc/<pid>/cmdline); the stream arrives under it', async () => {
  const key = 'k3y-not-for-ps-4821';
  const signature = 'sig-ab12cd34';
  const added = await fenshen.api('/api/channels/main/destinations', { method: 'POST', ...json({ id: 'secret', url: `${fenshen.rtmpBase}/${key}?sign=${signature}` }) });
  assert.equal(added.status, 201, await added.clone().text());
  try {
    await waitFor('pushing', async () => {
      const { destinations } = await fenshen.read('/api/channels/main/destinations', destinationListSchema);
      return destinations.find((d) => d.id === 'secret' && d.state === 'live');
    });
    const pids = descendants(fenshen.child.pid as number);
    const lines = pids.map((pid) => commandOf(pid));
    assert.ok(lines.some((l) => l.includes(`${fenshen.rtmpBase}`) && l.includes('-fpre')), `the muxer pushes to the address: ${lines.join('\n')}`);
    for (const pid of pids) {
      let cmdline = '';
      try {
        cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      } catch {
        continue; // ended meanwhile
      }
      assert.ok(!cmdline.includes(key) && !cmdline.includes(signature), `pid ${pid}: ${cmdline.replaceAll('\0', ' ')}`);
    }
    const probe = spawnSync('ffprobe', ['-v', 'error', '-rw_timeout', '10000000', '-show_entries', 'stream=codec_name', '-of', 'csv=p=0', `${fenshen.rtmpBase}/${key}`], { encoding: 'utf8', timeout: 20_000 });
    assert.deepEqual(probe.stdout.trim().split('\n').sort(), ['aac', 'h264'], probe.stderr);
  } finally {
    await fenshen.api('/api/channels/main/destinations/secret', { method: 'DELETE' });
  }
});

interface Reply {
  id: number | null;
  ok: boolean;
  data?: { transport?: { id: string } };
  error?: string;
}

async function openSignaling(server: FenshenProcess): Promise<{ socket: WebSocket; replies: Reply[]; request: (body: Record<string, unknown>) => Promise<Reply> }> {
  const socket = new WebSocket(`${server.url.replace('http', 'ws')}/ws`);
  await new Promise((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  const replies: Reply[] = [];
  socket.on('message', (data) => replies.push(JSON.parse(data.toString()) as Reply));
  let nextId = 1;
  const request = async (body: Record<string, unknown>) => {
    const id = nextId++;
    socket.send(JSON.stringify({ id, ...body }));
    return waitFor(`reply ${id}`, () => replies.find((r) => r.id === id), 10_000);
  };
  return { socket, replies, request };
}

test('signaling: a second connect is refused as such; sockets that only connect, or never finish DTLS, are not counted as viewers', async () => {
  const idle = await Promise.all(Array.from({ length: 20 }, () => openSignaling(fenshen)));
  const { socket, request } = await openSignaling(fenshen);
  try {
    assert.equal((await request({ type: 'join', channel: 'main' })).ok, true);
    const created = await request({ type: 'createTransport' });
    const transportId = created.data?.transport?.id as string;
    assert.ok(transportId, JSON.stringify(created));
    const dtlsParameters = { role: 'client', fingerprints: [{ algorithm: 'sha-256', value: '82:5A:68:3D:36:C3:0A:DE:AF:E7:32:43:D2:88:83:57:AC:2D:65:E5:80:C4:B6:FB:AF:1A:A0:21:9F:6D:0C:AD' }] };
    const first = await request({ type: 'connect', transportId, dtlsParameters });
    assert.equal(first.ok, true, first.error);
    const again = await request({ type: 'connect', transportId, dtlsParameters });
    assert.equal(again.ok, false);
    assert.equal(again.error, `transport ${transportId} is already connected`);
    const status = await fenshen.read('/api/channels/main', channelStatusSchema);
    assert.equal(status.viewers, 0, '21 open sockets, one transport without DTLS: no viewer');
    assert.match(await (await fetch(`${fenshen.url}/metrics`)).text(), /fenshen_webrtc_viewers\{channel="main"\} 0/);
  } finally {
    socket.terminate();
    for (const s of idle) s.socket.terminate();
  }
});

test('a stored playlist that cannot be said (kept by an older version) is left out with one warning instead of one every frame', async () => {
  await sleep(3000);
  const lines = seeded.stderr().split('\n').filter((l) => /playlist/.test(l));
  assert.equal(lines.length, 1, lines.slice(0, 5).join('\n'));
  assert.match(lines[0] ?? '', /stored playlist lines 1 \(text has nothing that can be spoken.*\), 2 \(.*\), 3 \(voice "xx-nosuch" is not installed\) cannot be spoken and were left out/);
  assert.deepEqual((await seeded.read('/api/channels/main/playlist', playlistSchema)).lines, []);
});

test('signaling connections beyond the configured cap are refused with 503 and a reason; a closed one frees its place', async () => {
  const open = await Promise.all(Array.from({ length: SEEDED_CAP }, () => openSignaling(seeded)));
  try {
    const refused = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const socket = new WebSocket(`${seeded.url.replace('http', 'ws')}/ws`);
      socket.once('open', () => reject(new Error('a connection over the cap was accepted')));
      socket.once('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
    });
    assert.equal(refused.status, 503);
    assert.deepEqual(JSON.parse(refused.body), { error: `too many signaling connections (at most ${SEEDED_CAP}); try again later` });
    const closing = open.pop();
    await new Promise((resolve) => {
      closing?.socket.once('close', resolve);
      closing?.socket.close();
    });
    await sleep(200);
    const again = await openSignaling(seeded);
    open.push(again);
    assert.equal((await again.request({ type: 'join', channel: 'main' })).ok, true);
  } finally {
    for (const s of open) s.socket.terminate();
  }
});

test('/healthz: once the operator deletes main the server reports ok (main deleted), not "starting" for ever', async () => {
  assert.equal((await seeded.api('/api/channels/main', { method: 'DELETE' })).status, 204);
  const health = await fetch(`${seeded.url}/healthz`);
  assert.equal(health.status, 200);
  assert.deepEqual(await readAnswer(health, healthAnswerSchema), { status: 'ok', main: 'deleted', channels: [] });
});

test('wrong tokens: after five in a minute an address gets 429 with Retry-After, right token or not, over HTTP and signaling; logged without the token', async () => {
  const logFrom = seeded.stderr().length;
  const guess = (token: string) => fetch(`${seeded.url}/api/channels`, { headers: { authorization: `Bearer ${token}` } });
  for (let i = 1; i <= 4; i++) assert.equal((await guess(`guess-number-${i}`)).status, 401);
  const fifth = await guess('guess-number-5');
  assert.equal(fifth.status, 429);
  const retryAfter = Number(fifth.headers.get('retry-after'));
  assert.ok(retryAfter > 0 && retryAfter <= 60, `Retry-After ${retryAfter}`);
  assert.match(await errorOf(fifth), /too many wrong tokens from this address; try again in \d+ s/);
  assert.equal((await seeded.api('/api/channels')).status, 429, 'the right token waits too: a refusal says nothing about a guess');
  assert.equal((await fetch(`${seeded.url}/api/channels`)).status, 429);
  const { socket, request } = await openSignaling(seeded);
  try {
    const join = await request({ type: 'join', channel: 'main', role: 'operator', token: seeded.token });
    assert.match(join.error ?? '', /too many wrong tokens from this address/);
  } finally {
    socket.terminate();
  }
  await sleep(300);
  const log = seeded.stderr().slice(logFrom);
  assert.match(log, /wrong operator token from 127\.0\.0\.1 \(1 of 5 allowed in 60 s\)/);
  assert.match(log, /wrong operator token from 127\.0\.0\.1: 5 in 60 s; its requests are refused \(429\)/);
  assert.doesNotMatch(log, /guess-number|e2e-token/, 'no token text in the log');
  assert.ok(logLinesSince(seeded, logFrom, /wrong operator token/).length <= 2, 'repeats are folded');
});

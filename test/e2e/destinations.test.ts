import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { commandOf, descendants, freePort, recordAndProbe, recordAsync, spawnRtmpServer, startFenshen, waitFor, type FenshenProcess } from './helpers.js';

/** A second RTMP server in its own process, so a test can kill and restart it. */
class SecondRtmpServer {
  readonly port: number;
  #child: ChildProcess | null = null;

  constructor(port: number) {
    this.port = port;
  }

  async start(): Promise<void> {
    const child = await spawnRtmpServer(this.port);
    this.#child = child;
    // Even if this test process is killed by the runner (a timeout), the server must not outlive it.
    process.once('exit', () => child.kill('SIGKILL'));
  }

  async kill(): Promise<void> {
    const child = this.#child;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  }
}

interface Destination {
  id: string;
  url: string;
  state: string;
  retryInS: number | null;
  lastError: string | null;
  reconnects: number;
  bytesSent: number;
  enabled: boolean;
}

const SECRET = 'sk-7f3a9c2e11';
let fenshen: FenshenProcess;
let second: SecondRtmpServer;
const work = mkdtempSync(join(tmpdir(), 'fenshen-dest-'));

async function destinations(f: FenshenProcess = fenshen): Promise<Destination[]> {
  return ((await (await f.api('/api/channels/main/destinations')).json()) as { destinations: Destination[] }).destinations;
}

async function destinationIn(id: string, state: string, timeoutMs = 30_000, f: FenshenProcess = fenshen): Promise<Destination> {
  return waitFor(`${id} ${state}`, async () => (await destinations(f)).find((d) => d.id === id && d.state === state), timeoutMs);
}

/** The muxer process pushing to a given port. */
function muxerFor(port: number): number | undefined {
  return descendants(fenshen.child.pid as number).find((pid) => commandOf(pid).includes(`:${port}/`));
}

before(async () => {
  second = new SecondRtmpServer(await freePort());
  await second.start();
  fenshen = await startFenshen();
  await waitFor('healthz 200', async () => ((await fetch(`${fenshen.url}/healthz`)).status === 200 ? true : undefined), 40_000);
});

after(async () => {
  await fenshen?.stop();
  await second?.kill();
});

test('a second destination from the same encode; killing its server never disturbs the first, and it comes back', async () => {
  const res = await fenshen.api('/api/channels/main/destinations', { method: 'POST', body: JSON.stringify({ id: 'backup', url: `rtmp://127.0.0.1:${second.port}/live/${SECRET}`, preset: 'taobao-720p' }) });
  assert.equal(res.status, 201);
  const created = (await res.json()) as Destination;
  assert.ok(!JSON.stringify(created).includes(SECRET), 'the key is masked in the API');
  assert.match(created.url, /\/live\/sk\*\*\*$/);
  await destinationIn('backup', 'live');

  // Both servers carry the preset's stream: H.264 720x1280 and AAC 44.1 kHz stereo.
  const probe = recordAndProbe(`rtmp://127.0.0.1:${second.port}/live/${SECRET}`, 2, join(work, 'second-before.flv'));
  const video = probe.streams.find((s) => s.codec_type === 'video');
  const audio = probe.streams.find((s) => s.codec_type === 'audio');
  assert.equal(video?.codec_name, 'h264');
  assert.equal(`${video?.width}x${video?.height}`, '720x1280');
  assert.equal(audio?.codec_name, 'aac');
  assert.equal(Number(audio?.sample_rate), 44100);
  assert.equal(audio?.channels, 2);

  // Record the embedded server's copy through the whole outage of the second.
  const firstFile = join(work, 'first-through-outage.flv');
  const recording = recordAsync(`${fenshen.rtmpBase}/main`, 12, firstFile);
  await new Promise((r) => setTimeout(r, 1500));
  await second.kill();
  const lost = await destinationIn('backup', 'retrying', 20_000);
  assert.ok(lost.lastError, 'the failure has a reason');
  assert.ok(!lost.lastError.includes(SECRET), 'the reason does not quote the key');
  await new Promise((r) => setTimeout(r, 2000));
  await second.start();
  // Backoff after two or three failures is at most 4-8 s (capped at 30 s): well within this.
  const back = await destinationIn('backup', 'live', 35_000);
  assert.ok(back.reconnects >= 1);
  await recording;
  // "live" is the muxer's first bytes written: read the resumed stream once it has run a moment, as a viewer would.
  await new Promise((r) => setTimeout(r, 1000));

  const after = recordAndProbe(`rtmp://127.0.0.1:${second.port}/live/${SECRET}`, 2, join(work, 'second-after.flv'));
  const firstVideo = after.packets.find((p) => p.stream === 'video');
  assert.ok(firstVideo?.key, 'the resumed stream starts on a keyframe');
  const resumed = after.packets.filter((p) => p.stream === 'video');
  console.log(`# after the outage: ${resumed.length} video packets in 2 s, pts ${resumed[0]?.ptsS}..${resumed.at(-1)?.ptsS}`);
  assert.ok(resumed.length >= 45, `it flows again: ${resumed.length} video packets, pts ${resumed[0]?.ptsS}..${resumed.at(-1)?.ptsS}; the destination now ${JSON.stringify(await destinationIn('backup', 'live', 1000).catch((e: Error) => e.message))}`);

  const first = recordAndProbe(`file:${firstFile}`, 12, join(work, 'first-copy.flv'));
  const times = first.packets.filter((p) => p.stream === 'video').map((p) => p.ptsS);
  const gaps = times.slice(1).map((t, i) => t - (times[i] as number));
  assert.ok(times.length >= 330, `the first server got ${times.length} frames in 12 s`);
  assert.ok(Math.max(...gaps) < 0.1, `largest gap on the first server ${Math.max(...gaps).toFixed(3)} s`);
  assert.equal((await destinations()).find((d) => d.id === 'embedded')?.reconnects, 0, 'the first never reconnected');

  const metrics = await (await fetch(`${fenshen.url}/metrics`)).text();
  assert.match(metrics, /fenshen_destination_reconnects_total\{channel="main",destination="backup"\} [1-9]/);
  assert.match(metrics, /fenshen_destination_state\{channel="main",destination="backup",state="live"\} 1/);
  assert.ok(!metrics.includes(SECRET) && !fenshen.stderr().includes(SECRET), 'the key never reaches metrics or logs');
});

test('a destination on a closed port retries with growing delays, and the stream goes on', async () => {
  const port = await freePort();
  const res = await fenshen.api('/api/channels/main/destinations', { method: 'POST', body: JSON.stringify({ id: 'nowhere', url: `rtmp://127.0.0.1:${port}/live/x1` }) });
  assert.equal(res.status, 201);
  await waitFor('four retries', () => ((fenshen.stderr().match(/destination nowhere .* retrying in/g) ?? []).length >= 4 ? true : undefined), 30_000);
  const delays = [...fenshen.stderr().matchAll(/destination nowhere .*: (.*); retrying in (\d+) s/g)].map((m) => Number(m[2]));
  assert.match(fenshen.stderr(), /destination nowhere .*Connection refused/);
  for (let i = 1; i < delays.length; i++) assert.ok((delays[i] as number) >= (delays[i - 1] as number), `delays grow: ${delays.join(', ')}`);
  assert.ok((delays.at(-1) as number) > (delays[0] as number), `delays grow: ${delays.join(', ')}`);
  assert.equal((await destinations()).find((d) => d.id === 'embedded')?.state, 'live');
  assert.equal((await fenshen.api('/api/channels/main/destinations/nowhere', { method: 'DELETE' })).status, 204);
  assert.equal((await destinations()).some((d) => d.id === 'nowhere'), false);
  const metrics = await (await fetch(`${fenshen.url}/metrics`)).text();
  assert.ok(!metrics.includes('destination="nowhere"'), 'a removed destination leaves no metrics');
});

test('bad destinations get a clear 4xx', async () => {
  const cases: [unknown, number, RegExp][] = [
    [{ url: 'http://example.com/live/key' }, 400, /scheme must be rtmp or rtmps/],
    [{ url: 'rtmp://example.com/live/key -f null -y /tmp/x' }, 400, /must not contain spaces/],
    [{ url: '-i /etc/passwd' }, 400, /must not contain spaces|not a URL/],
    [{ url: 'rtmp://example.com/onlyapp' }, 400, /an app and a stream name/],
    [{ url: 'rtmp://example.com/live/key', preset: 'douyin-1080p' }, 400, /douyin-1080p is 1080x1920.*720x1280/],
    [{ url: 'rtmp://example.com/live/key', preset: 'tiktok-4k' }, 400, /preset/],
    [{ url: 'rtmp://example.com/live/key', id: 'embedded' }, 409, /already exists/],
    [{ url: 'rtmp://example.com/live/key', extra: 1 }, 400, /extra/],
  ];
  for (const [body, status, message] of cases) {
    const res = await fenshen.api('/api/channels/main/destinations', { method: 'POST', body: JSON.stringify(body) });
    const json = (await res.json()) as { error: string };
    assert.equal(res.status, status, JSON.stringify(body));
    assert.match(json.error, message);
  }
  assert.equal((await fenshen.api('/api/channels/nope/destinations', { method: 'POST', body: JSON.stringify({ url: 'rtmp://h/a/b' }) })).status, 404);
  assert.equal((await fenshen.api('/api/channels/main/destinations/nope', { method: 'DELETE' })).status, 404);
  assert.equal((await fenshen.api('/api/channels/main/destinations/embedded', { method: 'DELETE' })).status, 409);
  assert.equal((await destinations()).find((d) => d.id === 'embedded')?.state, 'live');
});

test('a server that answers "busy" is retried until the stream is free', async () => {
  // The embedded destination already publishes live/main: a second publisher is refused there.
  const res = await fenshen.api('/api/channels/main/destinations', { method: 'POST', body: JSON.stringify({ id: 'twin', url: `${fenshen.rtmpBase}/main` }) });
  assert.equal(res.status, 201);
  const refused = await destinationIn('twin', 'retrying', 20_000);
  assert.ok(refused.lastError);
  const stopped = (await (await fenshen.api('/api/channels/main/destinations/embedded/stop', { method: 'POST' })).json()) as Destination;
  assert.equal(stopped.state, 'stopped');
  await destinationIn('twin', 'live', 40_000);
  assert.equal((await fenshen.api('/api/channels/main/destinations/twin', { method: 'DELETE' })).status, 204);
  await new Promise((r) => setTimeout(r, 1000));
  assert.equal((await (await fenshen.api('/api/channels/main/destinations/embedded/start', { method: 'POST' })).json() as Destination).enabled, true);
  await destinationIn('embedded', 'live', 40_000);
});

test('a muxer that hangs is noticed by the watchdog and replaced', async () => {
  const muxer = muxerFor(second.port);
  assert.ok(muxer, 'the backup muxer runs');
  process.kill(muxer, 'SIGSTOP');
  const stalled = await destinationIn('backup', 'retrying', 30_000);
  assert.match(stalled.lastError ?? '', /stalled: nothing sent/);
  await destinationIn('backup', 'live', 40_000);
  assert.equal((await destinations()).find((d) => d.id === 'embedded')?.state, 'live');
});

test('destinations and their keys survive a restart, stored owner-only', async () => {
  const db = join(fenshen.dataDir, 'fenshen.db');
  for (const file of [db, `${db}-wal`]) assert.equal(statSync(file).mode & 0o777, 0o600, `${file} is owner-only`);
  await fenshen.stop();
  fenshen = await startFenshen({ FENSHEN_DATA: fenshen.dataDir });
  await waitFor('healthz 200', async () => ((await fetch(`${fenshen.url}/healthz`)).status === 200 ? true : undefined), 40_000);
  const back = await destinationIn('backup', 'live', 30_000);
  assert.match(back.url, /\/live\/sk\*\*\*$/);
  assert.ok(!fenshen.stderr().includes(SECRET), 'the key is never logged');
});
